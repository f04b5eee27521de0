//! The token endpoint's logic: what a code and a refresh token carry (sealed), the checks of
//! each grant, and the token response. The facade calls Cognito in between (the code it
//! carries is Cognito's, single-use: a replayed code fails there).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{AccessClaims, Keyring, Purpose, authorize::Pending, pkce};

/// How long a code is valid: long enough for a client to exchange it, short enough that a
/// leaked one is useless (Cognito's own code lives 5 minutes and is single-use).
pub const CODE_SECONDS: i64 = 60;

/// What the client's authorization code carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    /// Cognito's code, exchanged at `/token` (so it is redeemed once, by Cognito's rules).
    pub upstream_code: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub resource: String,
}

impl CodeGrant {
    pub fn new(pending: Pending, upstream_code: String) -> Self {
        Self {
            upstream_code,
            client_id: pending.client_id,
            redirect_uri: pending.redirect_uri,
            code_challenge: pending.code_challenge,
            scope: pending.scope,
            resource: pending.resource,
        }
    }
}

/// What the client's refresh token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshGrant {
    /// Cognito's refresh token: every refresh goes back to Cognito, so a disabled user stops
    /// getting tokens.
    pub upstream_refresh: String,
    pub client_id: String,
    pub scope: String,
    pub resource: String,
}

/// Who signed in, from Cognito's ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub sub: String,
    pub username: Option<String>,
}

/// An RFC 6749 §5.2 error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct GrantError {
    pub error: &'static str,
    pub description: String,
}

impl GrantError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }

    /// `invalid_client` is 401 (RFC 6749 §5.2); every other error is 400.
    pub fn status(&self) -> u16 {
        if self.error == "invalid_client" {
            401
        } else {
            400
        }
    }
}

/// The token request's form, each parameter at most once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TokenForm {
    pub grant_type: String,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub client_id: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub resource: Option<String>,
    pub client_secret: Option<String>,
}

impl TokenForm {
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, GrantError> {
        let mut form = TokenForm::default();
        let mut grant_type = None;
        for (name, value) in pairs {
            let slot = match name {
                "grant_type" => &mut grant_type,
                "code" => &mut form.code,
                "redirect_uri" => &mut form.redirect_uri,
                "client_id" => &mut form.client_id,
                "code_verifier" => &mut form.code_verifier,
                "refresh_token" => &mut form.refresh_token,
                "resource" => &mut form.resource,
                "client_secret" => &mut form.client_secret,
                _ => continue,
            };
            if slot.replace(value.to_owned()).is_some() {
                return Err(GrantError::new(
                    "invalid_request",
                    format!("{name} appears more than once"),
                ));
            }
        }
        form.grant_type = grant_type
            .ok_or_else(|| GrantError::new("invalid_request", "grant_type is missing"))?;
        Ok(form)
    }

    fn required(&self, value: &Option<String>, name: &str) -> Result<String, GrantError> {
        value
            .clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| GrantError::new("invalid_request", format!("{name} is missing")))
    }

    /// Public clients only: a client secret means a confused client.
    fn public_client(&self) -> Result<String, GrantError> {
        if self.client_secret.is_some() {
            return Err(GrantError::new(
                "invalid_client",
                "this server's clients are public: do not send a client_secret",
            ));
        }
        self.required(&self.client_id, "client_id")
    }

    fn check_resource(&self, granted: &str) -> Result<(), GrantError> {
        match self.resource.as_deref() {
            Some(asked) if asked.trim_end_matches('/') != granted => Err(GrantError::new(
                "invalid_target",
                format!("this grant is for {granted}"),
            )),
            _ => Ok(()),
        }
    }
}

/// Checks an `authorization_code` request: the code opens (ours, unexpired, unaltered), and
/// client id, redirect URI, PKCE verifier and resource all match what was authorized.
pub fn check_code(form: &TokenForm, keys: &Keyring, now: i64) -> Result<CodeGrant, GrantError> {
    let client_id = form.public_client()?;
    let code = form.required(&form.code, "code")?;
    let redirect_uri = form.required(&form.redirect_uri, "redirect_uri")?;
    let verifier = form.required(&form.code_verifier, "code_verifier")?;
    let invalid = || {
        GrantError::new(
            "invalid_grant",
            "the code is invalid, expired, or was issued to another client",
        )
    };
    let grant: CodeGrant = keys
        .open(Purpose::Code, &code, now)
        .map_err(|_| invalid())?;
    if grant.client_id != client_id || grant.redirect_uri != redirect_uri {
        return Err(invalid());
    }
    if !pkce::verify_s256(&verifier, &grant.code_challenge) {
        return Err(GrantError::new(
            "invalid_grant",
            "code_verifier does not match the code_challenge",
        ));
    }
    form.check_resource(&grant.resource)?;
    Ok(grant)
}

/// Checks a `refresh_token` request: the token opens and belongs to the client.
pub fn check_refresh(
    form: &TokenForm,
    keys: &Keyring,
    now: i64,
) -> Result<RefreshGrant, GrantError> {
    let client_id = form.public_client()?;
    let token = form.required(&form.refresh_token, "refresh_token")?;
    let invalid = || {
        GrantError::new(
            "invalid_grant",
            "the refresh token is invalid, expired, or was issued to another client",
        )
    };
    let grant: RefreshGrant = keys
        .open(Purpose::Refresh, &token, now)
        .map_err(|_| invalid())?;
    if grant.client_id != client_id {
        return Err(invalid());
    }
    form.check_resource(&grant.resource)?;
    Ok(grant)
}

/// The user in Cognito's ID token. Its signature is not checked: the facade received it
/// directly from Cognito's token endpoint over TLS, authenticated with its client secret
/// (OpenID Connect Core §3.1.3.7, item 6); it is never accepted from a client.
pub fn identity_from_id_token(id_token: &str) -> Result<Identity, GrantError> {
    let bad = || {
        GrantError::new(
            "server_error",
            "the identity provider's ID token was unreadable",
        )
    };
    let payload = id_token.split('.').nth(1).ok_or_else(bad)?;
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    let sub = claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(bad)?
        .to_owned();
    let username = ["email", "cognito:username", "preferred_username"]
        .iter()
        .find_map(|k| claims[*k].as_str())
        .map(String::from);
    Ok(Identity { sub, username })
}

/// Lifetimes of what `/token` hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_seconds: i64,
    pub refresh_seconds: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            access_seconds: 3600,
            refresh_seconds: 30 * 24 * 3600,
        }
    }
}

/// Mints the access token and a new (rotated) refresh token; the RFC 6749 §5.1 body.
#[allow(clippy::too_many_arguments)]
pub fn token_response(
    keys: &Keyring,
    issuer: &str,
    identity: &Identity,
    client_id: &str,
    scope: &str,
    resource: &str,
    upstream_refresh: &str,
    lifetimes: Lifetimes,
    now: i64,
) -> Value {
    let mut jti = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut jti)
        .expect("OS random source");
    let claims = AccessClaims {
        iss: issuer.to_owned(),
        aud: resource.to_owned(),
        sub: identity.sub.clone(),
        client_id: client_id.to_owned(),
        scope: scope.to_owned(),
        iat: now,
        nbf: now,
        exp: now + lifetimes.access_seconds,
        jti: URL_SAFE_NO_PAD.encode(jti),
        username: identity.username.clone(),
    };
    let refresh = RefreshGrant {
        upstream_refresh: upstream_refresh.to_owned(),
        client_id: client_id.to_owned(),
        scope: scope.to_owned(),
        resource: resource.to_owned(),
    };
    json!({
        "access_token": keys.sign_access_token(&claims),
        "token_type": "Bearer",
        "expires_in": lifetimes.access_seconds,
        "refresh_token": keys.seal(Purpose::Refresh, &refresh, now + lifetimes.refresh_seconds),
        "scope": scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const NOW: i64 = 1_800_000_000;

    fn keys() -> Keyring {
        Keyring::from_signing_key(&[3; 32]).unwrap()
    }

    fn code() -> String {
        let grant = CodeGrant {
            upstream_code: "cognito-code".into(),
            client_id: "c1".into(),
            redirect_uri: "http://127.0.0.1:5555/cb".into(),
            code_challenge: CHALLENGE.into(),
            scope: "mcp:tools".into(),
            resource: "https://mcp.example.com/mcp".into(),
        };
        keys().seal(Purpose::Code, &grant, NOW + CODE_SECONDS)
    }

    fn form(pairs: &[(&str, &str)]) -> TokenForm {
        TokenForm::from_pairs(pairs.iter().copied()).unwrap()
    }

    fn code_form(code: &str, overrides: &[(&'static str, &'static str)]) -> TokenForm {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", "c1"),
            ("redirect_uri", "http://127.0.0.1:5555/cb"),
            ("code_verifier", VERIFIER),
        ];
        for (k, v) in overrides {
            pairs.retain(|(name, _)| name != k);
            if !v.is_empty() {
                pairs.push((k, v));
            }
        }
        form(&pairs)
    }

    #[test]
    fn a_matching_code_request_passes() {
        let grant = check_code(
            &code_form(&code(), &[("resource", "https://mcp.example.com/mcp")]),
            &keys(),
            NOW,
        )
        .unwrap();
        assert_eq!(grant.upstream_code, "cognito-code");
    }

    #[test]
    fn each_mismatch_is_invalid_grant_or_request() {
        let code = code();
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("client_id", "c2")], "invalid_grant"),
            (
                &[("redirect_uri", "http://127.0.0.1:5556/cb")],
                "invalid_grant",
            ),
            (
                &[(
                    "code_verifier",
                    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
                )],
                "invalid_grant",
            ),
            (&[("code_verifier", "")], "invalid_request"),
            (&[("client_id", "")], "invalid_request"),
            (&[("redirect_uri", "")], "invalid_request"),
            (
                &[("resource", "https://other.example.com/mcp")],
                "invalid_target",
            ),
            (&[("client_secret", "s")], "invalid_client"),
            (&[("code", "garbage")], "invalid_grant"),
        ];
        for (overrides, error) in cases {
            let err = check_code(&code_form(&code, overrides), &keys(), NOW).unwrap_err();
            assert_eq!(err.error, *error, "{overrides:?}");
        }
        // Expired (a minute later), or from another stage.
        assert_eq!(
            check_code(&code_form(&code, &[]), &keys(), NOW + CODE_SECONDS + 1)
                .unwrap_err()
                .error,
            "invalid_grant"
        );
        let other = Keyring::from_signing_key(&[4; 32]).unwrap();
        assert_eq!(
            check_code(&code_form(&code, &[]), &other, NOW)
                .unwrap_err()
                .error,
            "invalid_grant"
        );
        assert_eq!(
            check_code(&code_form(&code, &[]), &other, NOW)
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn a_refresh_token_is_not_a_code_and_vice_versa() {
        let response = token_response(
            &keys(),
            "https://mcp.example.com",
            &Identity {
                sub: "u".into(),
                username: None,
            },
            "c1",
            "mcp:tools",
            "https://mcp.example.com/mcp",
            "up-refresh",
            Lifetimes::default(),
            NOW,
        );
        let refresh = response["refresh_token"].as_str().unwrap();
        assert_eq!(
            check_code(&code_form(refresh, &[]), &keys(), NOW)
                .unwrap_err()
                .error,
            "invalid_grant"
        );
        let good = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "c1"),
        ]);
        assert_eq!(
            check_refresh(&good, &keys(), NOW).unwrap().upstream_refresh,
            "up-refresh"
        );
        let stolen = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "c2"),
        ]);
        assert_eq!(
            check_refresh(&stolen, &keys(), NOW).unwrap_err().error,
            "invalid_grant"
        );
        let as_code = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &code()),
            ("client_id", "c1"),
        ]);
        assert_eq!(
            check_refresh(&as_code, &keys(), NOW).unwrap_err().error,
            "invalid_grant"
        );
    }

    #[test]
    fn the_access_token_is_bound_to_the_resource_and_user() {
        let response = token_response(
            &keys(),
            "https://mcp.example.com",
            &Identity {
                sub: "u-1".into(),
                username: Some("a@b.c".into()),
            },
            "c1",
            "mcp:tools",
            "https://mcp.example.com/mcp",
            "r",
            Lifetimes::default(),
            NOW,
        );
        assert_eq!(response["token_type"], "Bearer");
        assert_eq!(response["expires_in"], 3600);
        let token = response["access_token"].as_str().unwrap();
        let payload: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(payload["aud"], "https://mcp.example.com/mcp");
        assert_eq!(payload["sub"], "u-1");
        assert_eq!(payload["exp"], NOW + 3600);
    }

    #[test]
    fn repeated_or_missing_form_parameters() {
        assert_eq!(
            TokenForm::from_pairs([("code", "a")]).unwrap_err().error,
            "invalid_request"
        );
        assert_eq!(
            TokenForm::from_pairs([("grant_type", "a"), ("code", "a"), ("code", "b")])
                .unwrap_err()
                .error,
            "invalid_request"
        );
    }

    #[test]
    fn identity_from_cognito_id_tokens() {
        let payload =
            URL_SAFE_NO_PAD.encode(r#"{"sub":"abc","email":"a@b.c","cognito:username":"alice"}"#);
        let id = identity_from_id_token(&format!("h.{payload}.s")).unwrap();
        assert_eq!(
            id,
            Identity {
                sub: "abc".into(),
                username: Some("a@b.c".into())
            }
        );
        for bad in [
            "",
            "a",
            "a.!!.c",
            &format!("h.{}.s", URL_SAFE_NO_PAD.encode("{}")),
        ] {
            assert!(identity_from_id_token(bad).is_err(), "{bad}");
        }
    }
}
