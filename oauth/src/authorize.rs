//! The authorization request (`GET /authorize`), checked in the order RFC 6749 §4.1.2.1
//! requires: an unknown client or a redirect URI it does not own is shown to the user (never
//! redirected to), every other error goes back to the client's redirect URI.

use serde::{Deserialize, Serialize};

use crate::{client::Client, metadata, pkce};

/// The query, each parameter at most once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AuthorizeQuery {
    pub response_type: Option<String>,
    pub client_id: String,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

/// A failure shown on an error page (the redirect URI cannot be trusted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PageError(pub String);

/// A failure reported to the client at its redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    pub error: &'static str,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    Page(PageError),
    Redirect(RedirectError),
}

/// Longest accepted `state`.
const MAX_STATE_LEN: usize = 2048;

impl AuthorizeQuery {
    /// From decoded query pairs. A repeated parameter, or a missing `client_id`, is a page
    /// error: the request cannot be trusted enough to redirect anywhere.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, PageError> {
        let mut q = AuthorizeQuery::default();
        let mut client_id = None;
        for (name, value) in pairs {
            let slot = match name {
                "response_type" => &mut q.response_type,
                "client_id" => &mut client_id,
                "redirect_uri" => &mut q.redirect_uri,
                "state" => &mut q.state,
                "code_challenge" => &mut q.code_challenge,
                "code_challenge_method" => &mut q.code_challenge_method,
                "scope" => &mut q.scope,
                "resource" => &mut q.resource,
                _ => continue, // unknown parameters are ignored (RFC 6749 §3.1)
            };
            if slot.replace(value.to_owned()).is_some() {
                return Err(PageError(format!(
                    "the parameter {name} appears more than once"
                )));
            }
        }
        q.client_id = client_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| PageError("client_id is missing".into()))?;
        Ok(q)
    }
}

/// An authorization request that passed every check, waiting for the user's consent. It is
/// sealed into the consent form and then into the `state` sent to Cognito.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scope: String,
    /// The canonical MCP URL the token will be for.
    pub resource: String,
}

/// The scopes granted for a request: the supported ones it asks for; when it asks for none
/// of them (or nothing), `mcp:tools` (RFC 6749 §3.3 lets the server ignore the rest).
pub fn grant_scope(requested: Option<&str>) -> String {
    let known: Vec<&str> = requested
        .unwrap_or("")
        .split(' ')
        .filter(|s| metadata::SCOPES.contains(s))
        .fold(Vec::new(), |mut acc, s| {
            if !acc.contains(&s) {
                acc.push(s);
            }
            acc
        });
    if known.is_empty() {
        metadata::MCP_SCOPE.to_owned()
    } else {
        known.join(" ")
    }
}

/// Checks the request against its client and this server (`base`), in RFC order.
pub fn check(
    query: &AuthorizeQuery,
    client: &Client,
    base: &str,
) -> Result<Pending, AuthorizeError> {
    let redirect_uri = query
        .redirect_uri
        .clone()
        .ok_or_else(|| AuthorizeError::Page(PageError("redirect_uri is missing".into())))?;
    if !client.redirect_uri_allowed(&redirect_uri) {
        return Err(AuthorizeError::Page(PageError(format!(
            "redirect_uri {redirect_uri:?} is not registered for this client"
        ))));
    }
    let fail = |error: &'static str, description: &str| {
        Err(AuthorizeError::Redirect(RedirectError {
            error,
            description: description.to_owned(),
        }))
    };
    if query
        .state
        .as_ref()
        .is_some_and(|s| s.len() > MAX_STATE_LEN)
    {
        return fail("invalid_request", "state is too long");
    }
    match query.response_type.as_deref() {
        Some("code") => {}
        None => return fail("invalid_request", "response_type is missing"),
        Some(_) => {
            return fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            );
        }
    }
    let Some(challenge) = query.code_challenge.as_deref() else {
        return fail(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        );
    };
    if query.code_challenge_method.as_deref() != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256");
    }
    if !pkce::is_s256_challenge(challenge) {
        return fail("invalid_request", "code_challenge is not an S256 challenge");
    }
    let resource = metadata::resource(base);
    if let Some(asked) = query.resource.as_deref() {
        // A trailing slash is the same resource to a person; anything else is another server.
        if asked.trim_end_matches('/') != resource {
            return fail(
                "invalid_target",
                &format!("this server issues tokens only for {resource}"),
            );
        }
    }
    Ok(Pending {
        client_id: client.client_id.clone(),
        client_name: client.display_name().to_owned(),
        redirect_uri,
        state: query.state.clone(),
        code_challenge: challenge.to_owned(),
        scope: grant_scope(query.scope.as_deref()),
        resource,
    })
}

/// The URL the client is sent back to: `redirect_uri` plus `params` and `iss` (RFC 9207),
/// keeping any query the redirect URI already has.
pub fn client_redirect(redirect_uri: &str, params: &[(&str, &str)], issuer: &str) -> String {
    let mut url = url::Url::parse(redirect_uri).expect("redirect URIs are checked before use");
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        query.append_pair("iss", issuer);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://mcp.example.com";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client() -> Client {
        Client {
            client_id: "c1".into(),
            client_name: Some("Test".into()),
            redirect_uris: vec![
                "http://127.0.0.1/callback".into(),
                "https://app.example/cb".into(),
            ],
        }
    }

    fn query(extra: &[(&'static str, &'static str)]) -> AuthorizeQuery {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", "c1"),
            ("redirect_uri", "http://127.0.0.1:5555/callback"),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in extra {
            pairs.retain(|(name, _)| name != k);
            if !v.is_empty() {
                pairs.push((k, v));
            }
        }
        AuthorizeQuery::from_pairs(pairs).unwrap()
    }

    fn redirect_error(q: &AuthorizeQuery) -> &'static str {
        match check(q, &client(), BASE) {
            Err(AuthorizeError::Redirect(e)) => e.error,
            other => panic!("expected a redirect error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request_becomes_pending() {
        let pending = check(
            &query(&[("resource", "https://mcp.example.com/mcp")]),
            &client(),
            BASE,
        )
        .unwrap();
        assert_eq!(pending.redirect_uri, "http://127.0.0.1:5555/callback");
        assert_eq!(pending.scope, "mcp:tools");
        assert_eq!(pending.resource, "https://mcp.example.com/mcp");
        assert_eq!(pending.client_name, "Test");
    }

    #[test]
    fn client_and_redirect_problems_are_shown_not_redirected() {
        assert!(AuthorizeQuery::from_pairs([("response_type", "code")]).is_err());
        assert!(AuthorizeQuery::from_pairs([("client_id", "a"), ("client_id", "b")]).is_err());
        for uri in ["https://evil.example/cb", "http://127.0.0.1:5555/other", ""] {
            let q = query(&[("redirect_uri", uri)]);
            assert!(
                matches!(check(&q, &client(), BASE), Err(AuthorizeError::Page(_))),
                "{uri}"
            );
        }
    }

    #[test]
    fn other_problems_go_back_to_the_client() {
        assert_eq!(
            redirect_error(&query(&[("response_type", "token")])),
            "unsupported_response_type"
        );
        assert_eq!(
            redirect_error(&query(&[("response_type", "")])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(&query(&[("code_challenge", "")])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(&query(&[("code_challenge_method", "plain")])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(&query(&[("code_challenge_method", "")])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(&query(&[("code_challenge", "short")])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(&query(&[("resource", "https://other.example.com/mcp")])),
            "invalid_target"
        );
        assert_eq!(
            redirect_error(&query(&[("resource", "https://mcp.example.com/prod/mcp")])),
            "invalid_target"
        );
    }

    #[test]
    fn scopes_granted() {
        assert_eq!(grant_scope(None), "mcp:tools");
        assert_eq!(grant_scope(Some("openid profile")), "mcp:tools");
        assert_eq!(
            grant_scope(Some("mcp:tools offline_access mcp:tools")),
            "mcp:tools offline_access"
        );
        assert_eq!(grant_scope(Some("offline_access")), "offline_access");
    }

    #[test]
    fn redirects_keep_the_clients_query_and_add_iss() {
        let url = client_redirect(
            "https://app.example/cb?x=1",
            &[("code", "a b"), ("state", "s&t")],
            BASE,
        );
        assert_eq!(
            url,
            "https://app.example/cb?x=1&code=a+b&state=s%26t&iss=https%3A%2F%2Fmcp.example.com"
        );
    }
}
