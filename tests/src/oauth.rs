//! The OAuth-mode stage for the end-to-end tests: the local server with `MCP_AUTH_MODE=oauth`
//! in front of the Cognito stand-in, a host for client metadata documents (CIMD), and a raw
//! loopback OAuth client that walks the browser's path with plain HTTP (consent form, the
//! stand-in's login form, the redirects) for the tests that need a code or a refresh token
//! without a browser.

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::State, http::Uri, response::IntoResponse};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    LocalServer,
    cognito::{CognitoStandIn, serve_on_loopback},
};

/// The facade's app client at the Cognito stand-in.
pub const COGNITO_CLIENT_ID: &str = "e2e-facade-client";
pub const COGNITO_CLIENT_SECRET: &str = "e2e-facade-secret-5b9a";
/// The one user of the pool.
pub const USERNAME: &str = "ada";
pub const PASSWORD: &str = "Correct-Horse-9";
pub const EMAIL: &str = "ada@example.com";

/// The local server in OAuth mode with its Cognito stand-in.
pub struct OAuthStage {
    pub cognito: CognitoStandIn,
    /// The raw signing key (`MCP_OAUTH_SIGNING_KEY` is its base64).
    pub signing_key: Vec<u8>,
    // Dropped before the stand-in: the server goes first.
    pub server: LocalServer,
}

impl OAuthStage {
    pub fn start(function: &Path) -> Self {
        Self::start_with(function, &[])
    }

    /// With more server settings (e.g. `MCP_OAUTH_CLIENTS`).
    pub fn start_with(function: &Path, extra: &[(&str, String)]) -> Self {
        let cognito = CognitoStandIn::start(COGNITO_CLIENT_ID, COGNITO_CLIENT_SECRET);
        cognito.add_user(USERNAME, PASSWORD, EMAIL);
        devkit::logs::register_secret(PASSWORD);
        let mut signing_key = vec![0u8; 32];
        getrandom::fill(&mut signing_key).unwrap();
        let mut env = vec![
            ("MCP_AUTH_MODE", "oauth".into()),
            ("MCP_OAUTH_SIGNING_KEY", STANDARD.encode(&signing_key)),
            ("MCP_OAUTH_COGNITO_CLIENT_ID", COGNITO_CLIENT_ID.into()),
            (
                "MCP_OAUTH_COGNITO_CLIENT_SECRET",
                COGNITO_CLIENT_SECRET.into(),
            ),
            ("MCP_OAUTH_COGNITO_URL", cognito.url.clone()),
            ("MCP_OAUTH_CIMD_ALLOW_HTTP_LOOPBACK", "1".into()),
            // Nothing else may decide the mode or the keys.
            ("MCP_API_KEY", String::new()),
            ("MCP_API_KEY_SECRET_ID", String::new()),
            ("MCP_OAUTH_SECRET_ID", String::new()),
        ];
        env.extend(extra.iter().cloned());
        let server = LocalServer::start_with_env(function, &env);
        // The app client's only callback is the facade's, as the infra registers it.
        cognito.allow_redirect_uri(&format!("{}/oauth/callback", server.base));
        Self {
            cognito,
            signing_key,
            server,
        }
    }

    /// The endpoint's base URL B (the issuer).
    pub fn base(&self) -> &str {
        &self.server.base
    }

    /// The canonical MCP URL (token audience, `resource`).
    pub fn resource(&self) -> &str {
        &self.server.url
    }
}

/// Serves client metadata documents on loopback (`http://127.0.0.1:<port>/<name>`), counting
/// fetches, until dropped.
pub struct ClientMetadataHost {
    pub base: String,
    documents: Arc<Mutex<HashMap<String, (Value, usize)>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Default for ClientMetadataHost {
    fn default() -> Self {
        Self::start()
    }
}

impl ClientMetadataHost {
    pub fn start() -> Self {
        type Docs = Arc<Mutex<HashMap<String, (Value, usize)>>>;
        async fn serve(State(docs): State<Docs>, uri: Uri) -> axum::response::Response {
            match docs.lock().unwrap().get_mut(uri.path()) {
                Some((doc, fetches)) => {
                    *fetches += 1;
                    axum::Json(doc.clone()).into_response()
                }
                None => axum::http::StatusCode::NOT_FOUND.into_response(),
            }
        }
        let documents: Docs = Arc::default();
        let app = Router::new().fallback(serve).with_state(documents.clone());
        let (base, stop) = serve_on_loopback(app);
        Self {
            base,
            documents,
            _stop: stop,
        }
    }

    /// Publishes a public client's metadata document at `path` (`/…`) naming itself as
    /// `client_id`; returns that URL.
    pub fn publish(&self, path: &str, client_name: &str, redirect_uri: &str) -> String {
        let client_id = format!("{}{path}", self.base);
        let document = json!({
            "client_id": client_id,
            "client_name": client_name,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        self.documents
            .lock()
            .unwrap()
            .insert(path.into(), (document, 0));
        client_id
    }

    /// How many times the document at `path` was fetched.
    pub fn fetches(&self, path: &str) -> usize {
        self.documents.lock().unwrap().get(path).map_or(0, |d| d.1)
    }
}

/// A response with its headers, redirects not followed.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// The `Location` header, made absolute against `from`.
    pub fn location(&self, from: &str) -> String {
        let location = self
            .header("location")
            .unwrap_or_else(|| panic!("no Location: {self:?}"));
        if location.starts_with('/') {
            format!("{}{location}", origin(from))
        } else {
            location.to_owned()
        }
    }
}

/// `scheme://host:port` of a URL.
pub fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

/// The query parameters of a URL.
pub fn query_params(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    serde_urlencoded::from_str(query.split('#').next().unwrap_or("")).unwrap_or_default()
}

/// Loopback HTTP with a cookie jar and no redirect following.
pub struct RawHttp {
    agent: ureq::Agent,
    cookies: HashMap<String, String>,
}

impl Default for RawHttp {
    fn default() -> Self {
        Self::new()
    }
}

impl RawHttp {
    pub fn new() -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .max_redirects(0)
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(20)))
                .build()
                .into(),
            cookies: HashMap::new(),
        }
    }

    /// Sends a request to a loopback URL; every status is a reply.
    pub fn send(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "{url} is not loopback"
        );
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        if !cookie.is_empty() {
            request = request.header("cookie", cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let sent = match body {
            Some(body) => self.agent.run(request.body(body.to_owned()).unwrap()),
            None => self.agent.run(request.body(()).unwrap()),
        };
        let mut response = sent.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        // A cookie jar of one origin's worth: enough for a consent form's CSRF cookie.
        for (_, value) in headers.iter().filter(|(n, _)| n == "set-cookie") {
            if let Some((name, value)) = value.split(';').next().and_then(|c| c.split_once('=')) {
                self.cookies.insert(name.trim().into(), value.trim().into());
            }
        }
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status: response.status().as_u16(),
            headers,
            body,
        }
    }

    pub fn get(&mut self, url: &str) -> Reply {
        self.send("GET", url, &[], None)
    }

    /// POSTs a form.
    pub fn post_form(&mut self, url: &str, extra: &[(&str, &str)], form: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(form).unwrap();
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        headers.extend_from_slice(extra);
        self.send("POST", url, &headers, Some(&body))
    }
}

/// The `name`/`value` pairs of a form's hidden inputs in an HTML page.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>')?];
            if attribute(tag, "type")? != "hidden" {
                return None;
            }
            Some((attribute(tag, "name")?, attribute(tag, "value")?))
        })
        .collect()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}="))? + name.len() + 1;
    let rest = &tag[start..];
    let value = match rest.chars().next()? {
        quote @ ('"' | '\'') => rest[1..].split(quote).next()?,
        _ => rest.split([' ', '/', '>']).next()?,
    };
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// A PKCE S256 pair (verifier, challenge).
pub fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// What the client's redirect URI received, and what it takes to redeem the code.
pub struct Authorization {
    /// The query parameters of the final redirect to the client.
    pub params: HashMap<String, String>,
    pub verifier: String,
    pub state: String,
}

impl OAuthStage {
    /// Registers a public client by DCR; returns its `client_id`.
    pub fn register(&self, http: &mut RawHttp, client_name: &str, redirect_uri: &str) -> String {
        let body = json!({
            "client_name": client_name,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        let reply = http.send(
            "POST",
            &format!("{}/register", self.base()),
            &[("content-type", "application/json")],
            Some(&body.to_string()),
        );
        assert_eq!(reply.status, 201, "DCR: {}", reply.body);
        reply.json()["client_id"]
            .as_str()
            .expect("client_id")
            .to_owned()
    }

    /// The browser's path, over raw HTTP: the authorization request, the consent form
    /// (`decision`), the stand-in's login form, back through the facade's callback, up to the
    /// redirect to the client (not followed).
    pub fn authorize(
        &self,
        http: &mut RawHttp,
        client_id: &str,
        redirect_uri: &str,
        decision: &str,
    ) -> Authorization {
        let (verifier, challenge) = pkce();
        let state = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))[..16].to_owned();
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", &state),
            ("scope", "mcp:tools"),
            ("resource", self.resource()),
        ])
        .unwrap();
        let consent = http.get(&format!("{}/authorize?{query}", self.base()));
        assert_eq!(consent.status, 200, "consent page: {}", consent.body);
        let mut form = hidden_inputs(&consent.body);
        assert!(!form.is_empty(), "no hidden fields in {}", consent.body);
        form.push(("decision".into(), decision.into()));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let authorize_url = format!("{}/authorize", self.base());
        let mut reply = http.post_form(&authorize_url, &[("origin", self.base())], &form);
        let mut at = authorize_url;
        // Follow redirects by hand, signing in when the stand-in shows its form.
        for _ in 0..8 {
            match reply.status {
                301..=303 | 307 | 308 => {
                    let next = reply.location(&at);
                    if next.starts_with(redirect_uri) {
                        return Authorization {
                            params: query_params(&next),
                            verifier,
                            state,
                        };
                    }
                    reply = http.get(&next);
                    at = next;
                }
                200 if reply.body.contains("name=\"password\"") => {
                    reply =
                        http.post_form(&at, &[], &[("username", USERNAME), ("password", PASSWORD)]);
                }
                _ => panic!("unexpected reply at {at}: {reply:?}"),
            }
        }
        panic!("too many redirects, last at {at}");
    }

    /// POSTs a form to the facade's `/token`.
    pub fn token(&self, http: &mut RawHttp, form: &[(&str, &str)]) -> Reply {
        let reply = http.post_form(&format!("{}/token", self.base()), &[], form);
        // The tokens issued must never show up in a log.
        if let Ok(tokens) = serde_json::from_str::<Value>(&reply.body) {
            for name in ["access_token", "refresh_token"] {
                if let Some(token) = tokens[name].as_str() {
                    devkit::logs::register_secret(token);
                }
            }
        }
        reply
    }

    /// A signed-in public client: DCR, consent, sign-in, code redeemed. Returns the client id
    /// and the token reply.
    pub fn sign_in(&self, http: &mut RawHttp, redirect_uri: &str) -> (String, Value) {
        let client_id = self.register(http, "e2e raw client", redirect_uri);
        let authorization = self.authorize(http, &client_id, redirect_uri, "allow");
        let code = &authorization.params["code"];
        let reply = self.token(
            http,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("client_id", &client_id),
                ("code_verifier", &authorization.verifier),
                ("resource", self.resource()),
            ],
        );
        assert_eq!(reply.status, 200, "token: {}", reply.body);
        (client_id, reply.json())
    }

    /// An MCP `tools/list` with `Authorization: Bearer <token>` (or none).
    pub fn list_tools(&self, http: &mut RawHttp, token: Option<&str>) -> Reply {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2025-11-25"),
        ];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer));
        }
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
        http.send("POST", self.resource(), &headers, Some(body))
    }
}

/// The parameters of a `WWW-Authenticate: Bearer k="v", …` challenge.
pub fn bearer_challenge(header: &str) -> HashMap<String, String> {
    let params = header
        .strip_prefix("Bearer ")
        .unwrap_or_else(|| panic!("not a Bearer challenge: {header}"));
    let mut found = HashMap::new();
    let mut rest = params.trim();
    while let Some((name, after)) = rest.split_once('=') {
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (&quoted[..end], &quoted[(end + 1).min(quoted.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        found.insert(name.trim().to_owned(), value.to_owned());
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges_forms_and_urls() {
        let c = bearer_challenge(
            r#"Bearer error="invalid_token", resource_metadata="http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp", scope="mcp:tools""#,
        );
        assert_eq!(c["error"], "invalid_token");
        assert_eq!(c["scope"], "mcp:tools");
        assert_eq!(
            c["resource_metadata"],
            "http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp"
        );
        let html = r#"<form><input type="hidden" name="tx" value="a&amp;b"><input name="x" value="y"><input type='hidden' name='csrf' value='z'/></form>"#;
        assert_eq!(
            hidden_inputs(html),
            vec![("tx".into(), "a&b".into()), ("csrf".into(), "z".into())]
        );
        assert_eq!(origin("http://127.0.0.1:5/a/b?c"), "http://127.0.0.1:5");
        assert_eq!(
            query_params("http://x/cb?code=1&state=a%20b")["state"],
            "a b"
        );
    }
}
