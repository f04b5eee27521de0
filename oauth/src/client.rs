//! MCP clients the facade knows, three ways, none stored:
//! - pre-registered (`MCP_OAUTH_CLIENTS`, from the stack's settings);
//! - dynamically registered (RFC 7591): the `client_id` *is* the sealed registration;
//! - Client ID Metadata Documents: the `client_id` is an https URL whose JSON document names
//!   the client and its redirect URIs ([`parse_metadata_document`], fetched by the caller).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Keyring, Purpose, redirect::RedirectPolicy};

/// How long a dynamic registration stays valid (a client re-registers after that, or after
/// the signing key rotated past its grace period).
pub const REGISTRATION_SECONDS: i64 = 365 * 24 * 3600;
/// Prefix of dynamically registered client ids.
pub const DCR_PREFIX: &str = "dcr.";
/// Largest accepted registration request or metadata document.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
const MAX_REDIRECT_URIS: usize = 10;
const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    PreRegistered,
    Dynamic,
    MetadataDocument,
}

/// A client as the authorization endpoint sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    #[serde(default)]
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
}

impl Client {
    /// The name to show on the consent page: the client's own, else its id.
    pub fn display_name(&self) -> &str {
        self.client_name.as_deref().unwrap_or(&self.client_id)
    }

    /// The registered redirect URI `presented` matches (exactly, or a loopback port).
    pub fn redirect_uri_allowed(&self, presented: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| crate::redirect::matches(r, presented))
    }
}

/// An RFC 7591 error: `invalid_redirect_uri` or `invalid_client_metadata`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct RegistrationError {
    pub error: &'static str,
    pub description: String,
}

impl RegistrationError {
    fn metadata(description: impl Into<String>) -> Self {
        Self {
            error: "invalid_client_metadata",
            description: description.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }
}

fn string_list(doc: &Value, field: &str) -> Result<Option<Vec<String>>, RegistrationError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(String::from).ok_or_else(|| {
                    RegistrationError::metadata(format!("{field} must hold strings"))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(RegistrationError::metadata(format!(
            "{field} must be an array of strings"
        ))),
    }
}

fn optional_string(doc: &Value, field: &str) -> Result<Option<String>, RegistrationError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(RegistrationError::metadata(format!(
            "{field} must be a string"
        ))),
    }
}

/// The metadata both DCR requests and metadata documents carry, checked: a public client
/// (`token_endpoint_auth_method` `none`) using the authorization code flow, with 1 to 10
/// registrable redirect URIs the stage's policy allows, and a short printable name.
fn client_from_metadata(
    doc: &Value,
    client_id: String,
    policy: &RedirectPolicy,
) -> Result<Client, RegistrationError> {
    if !doc.is_object() {
        return Err(RegistrationError::metadata(
            "client metadata must be a JSON object",
        ));
    }
    let redirect_uris = string_list(doc, "redirect_uris")?
        .filter(|uris| !uris.is_empty())
        .ok_or_else(|| RegistrationError {
            error: "invalid_redirect_uri",
            description: "redirect_uris is required (at least one)".into(),
        })?;
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(RegistrationError {
            error: "invalid_redirect_uri",
            description: format!("at most {MAX_REDIRECT_URIS} redirect_uris"),
        });
    }
    for uri in &redirect_uris {
        policy.check(uri).map_err(|description| RegistrationError {
            error: "invalid_redirect_uri",
            description,
        })?;
    }
    match optional_string(doc, "token_endpoint_auth_method")?.as_deref() {
        None | Some("none") => {}
        Some(other) => {
            return Err(RegistrationError::metadata(format!(
                "token_endpoint_auth_method {other:?} is not supported: this server registers public clients (\"none\") that prove possession with PKCE"
            )));
        }
    }
    let grants = string_list(doc, "grant_types")?.unwrap_or_default();
    if let Some(bad) = grants
        .iter()
        .find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
    {
        return Err(RegistrationError::metadata(format!(
            "grant type {bad:?} is not supported (authorization_code, refresh_token)"
        )));
    }
    let response_types = string_list(doc, "response_types")?.unwrap_or_default();
    if response_types.iter().any(|t| t != "code") {
        return Err(RegistrationError::metadata(
            "only the response type \"code\" is supported",
        ));
    }
    let client_name = optional_string(doc, "client_name")?
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(MAX_NAME_CHARS)
                .collect::<String>()
        })
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    Ok(Client {
        client_id,
        client_name,
        redirect_uris,
    })
}

/// What a dynamic client id carries.
#[derive(Serialize, Deserialize)]
struct Registration {
    #[serde(default)]
    n: Option<String>,
    r: Vec<String>,
}

/// Registers a client (RFC 7591): checks the request and returns the client with its id, the
/// registration sealed into it.
pub fn register(
    body: &[u8],
    policy: &RedirectPolicy,
    keys: &Keyring,
    now: i64,
) -> Result<Client, RegistrationError> {
    if body.len() > MAX_METADATA_BYTES {
        return Err(RegistrationError::metadata(format!(
            "registration request larger than {MAX_METADATA_BYTES} bytes"
        )));
    }
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| RegistrationError::metadata(format!("the body is not JSON: {e}")))?;
    let client = client_from_metadata(&doc, String::new(), policy)?;
    let sealed = keys.seal(
        Purpose::Client,
        &Registration {
            n: client.client_name.clone(),
            r: client.redirect_uris.clone(),
        },
        now + REGISTRATION_SECONDS,
    );
    Ok(Client {
        client_id: format!("{DCR_PREFIX}{sealed}"),
        ..client
    })
}

/// The RFC 7591 response for a registered client.
pub fn registration_response(client: &Client, now: i64) -> Value {
    let mut body = json!({
        "client_id": client.client_id,
        "client_id_issued_at": now,
        "redirect_uris": client.redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    });
    if let Some(name) = &client.client_name {
        body["client_name"] = json!(name);
    }
    body
}

/// The client a dynamic `client_id` stands for, if it is one of ours and still valid.
pub fn open_dynamic(client_id: &str, keys: &Keyring, now: i64) -> Option<Client> {
    let sealed = client_id.strip_prefix(DCR_PREFIX)?;
    let registration: Registration = keys.open(Purpose::Client, sealed, now).ok()?;
    Some(Client {
        client_id: client_id.to_owned(),
        client_name: registration.n,
        redirect_uris: registration.r,
    })
}

/// Pre-registered clients from `MCP_OAUTH_CLIENTS` (a JSON array of
/// `{"client_id", "client_name"?, "redirect_uris"}`), each checked like a registration.
pub fn parse_preregistered(json: &str) -> Result<Vec<Client>, String> {
    let docs: Vec<Value> = serde_json::from_str(json)
        .map_err(|e| format!("MCP_OAUTH_CLIENTS must be a JSON array of clients: {e}"))?;
    let mut clients: Vec<Client> = Vec::new();
    for doc in docs {
        let id = doc
            .get("client_id")
            .and_then(Value::as_str)
            .filter(|id| !id.trim().is_empty())
            .ok_or("MCP_OAUTH_CLIENTS: every client needs a client_id")?
            .to_owned();
        if id.starts_with(DCR_PREFIX) || id.starts_with("https://") || id.starts_with("http://") {
            return Err(format!(
                "MCP_OAUTH_CLIENTS: client_id {id:?} must not look like a registered or metadata-document client id"
            ));
        }
        if clients.iter().any(|c| c.client_id == id) {
            return Err(format!("MCP_OAUTH_CLIENTS: client_id {id:?} appears twice"));
        }
        let client = client_from_metadata(&doc, id.clone(), &RedirectPolicy::default())
            .map_err(|e| format!("MCP_OAUTH_CLIENTS: client {id:?}: {}", e.description))?;
        clients.push(client);
    }
    Ok(clients)
}

/// A fetched Client ID Metadata Document, checked: it must name itself (`client_id` equal to
/// the URL it was fetched from), and its redirect URIs are the only ones accepted.
pub fn parse_metadata_document(
    body: &[u8],
    client_id: &str,
    policy: &RedirectPolicy,
) -> Result<Client, String> {
    if body.len() > MAX_METADATA_BYTES {
        return Err(format!(
            "client metadata document larger than {MAX_METADATA_BYTES} bytes"
        ));
    }
    let doc: Value = serde_json::from_slice(body)
        .map_err(|_| "client metadata document is not JSON".to_owned())?;
    if doc.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err("client metadata document does not name its own URL as client_id".into());
    }
    for secret_field in ["client_secret", "client_secret_expires_at"] {
        if doc.get(secret_field).is_some() {
            return Err(format!(
                "client metadata document must not contain {secret_field}"
            ));
        }
    }
    client_from_metadata(&doc, client_id.to_owned(), policy).map_err(|e| e.description)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keyring {
        Keyring::from_signing_key(&[5; 32]).unwrap()
    }

    fn reg(body: Value) -> Result<Client, RegistrationError> {
        register(
            body.to_string().as_bytes(),
            &RedirectPolicy::default(),
            &keys(),
            1000,
        )
    }

    #[test]
    fn a_registration_round_trips_through_its_client_id() {
        let client = reg(json!({
            "client_name": "Claude Code",
            "redirect_uris": ["http://localhost/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "scope": "mcp:tools",
        }))
        .unwrap();
        assert!(client.client_id.starts_with(DCR_PREFIX));
        let opened = open_dynamic(&client.client_id, &keys(), 2000).unwrap();
        assert_eq!(opened, client);
        assert!(opened.redirect_uri_allowed("http://localhost:4567/callback"));
        let body = registration_response(&client, 1000);
        assert_eq!(body["client_name"], "Claude Code");
        assert_eq!(body["token_endpoint_auth_method"], "none");
    }

    #[test]
    fn forged_expired_or_foreign_dynamic_ids_do_not_open() {
        let client = reg(json!({"redirect_uris": ["https://a.example/cb"]})).unwrap();
        assert!(
            open_dynamic(&client.client_id, &keys(), 1000 + REGISTRATION_SECONDS + 1).is_none()
        );
        let other = Keyring::from_signing_key(&[6; 32]).unwrap();
        assert!(open_dynamic(&client.client_id, &other, 1000).is_none());
        assert!(open_dynamic("dcr.AAAA", &keys(), 1000).is_none());
        assert!(open_dynamic("some-client", &keys(), 1000).is_none());
    }

    #[test]
    fn rfc7591_errors() {
        let cases = [
            (json!({}), "invalid_redirect_uri"),
            (json!({"redirect_uris": []}), "invalid_redirect_uri"),
            (
                json!({"redirect_uris": "https://a.example/cb"}),
                "invalid_client_metadata",
            ),
            (json!({"redirect_uris": [1]}), "invalid_client_metadata"),
            (
                json!({"redirect_uris": ["http://evil.example/cb"]}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": ["javascript:alert(1)"]}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_basic"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "client_name": 7}),
                "invalid_client_metadata",
            ),
            (json!([1, 2]), "invalid_client_metadata"),
        ];
        for (body, error) in cases {
            assert_eq!(reg(body.clone()).unwrap_err().error, error, "{body}");
        }
        let too_many: Vec<String> = (0..11).map(|i| format!("https://a.example/{i}")).collect();
        assert_eq!(
            reg(json!({"redirect_uris": too_many})).unwrap_err().error,
            "invalid_redirect_uri"
        );
        let err = register(b"not json", &RedirectPolicy::default(), &keys(), 0).unwrap_err();
        assert_eq!(err.body()["error"], "invalid_client_metadata");
        let huge = vec![b' '; MAX_METADATA_BYTES + 1];
        assert!(register(&huge, &RedirectPolicy::default(), &keys(), 0).is_err());
    }

    #[test]
    fn names_are_trimmed_of_control_characters_and_length() {
        let client = reg(json!({"redirect_uris": ["https://a.example/cb"], "client_name": format!("  Evil\u{202e}\n{}", "x".repeat(300))})).unwrap();
        let name = client.client_name.unwrap();
        assert!(!name.contains('\n'));
        assert!(name.chars().count() <= MAX_NAME_CHARS);
    }

    #[test]
    fn the_policy_applies_to_registrations() {
        let policy = RedirectPolicy::parse("https://claude.ai/*");
        let ok = json!({"redirect_uris": ["https://claude.ai/api/mcp/auth_callback"]});
        let bad = json!({"redirect_uris": ["https://other.example/cb"]});
        assert!(register(ok.to_string().as_bytes(), &policy, &keys(), 0).is_ok());
        assert_eq!(
            register(bad.to_string().as_bytes(), &policy, &keys(), 0)
                .unwrap_err()
                .error,
            "invalid_redirect_uri"
        );
    }

    #[test]
    fn metadata_documents_must_name_themselves() {
        let url = "https://app.example/oauth/client.json";
        let doc = json!({"client_id": url, "client_name": "App", "redirect_uris": ["https://app.example/cb"]});
        let client =
            parse_metadata_document(doc.to_string().as_bytes(), url, &RedirectPolicy::default())
                .unwrap();
        assert_eq!(client.client_id, url);
        assert!(client.redirect_uri_allowed("https://app.example/cb"));
        assert!(!client.redirect_uri_allowed("https://app.example/other"));
        let wrong = json!({"client_id": "https://evil.example/c.json", "redirect_uris": ["https://app.example/cb"]});
        assert!(
            parse_metadata_document(
                wrong.to_string().as_bytes(),
                url,
                &RedirectPolicy::default()
            )
            .is_err()
        );
        let secret = json!({"client_id": url, "client_secret": "s", "redirect_uris": ["https://app.example/cb"]});
        assert!(
            parse_metadata_document(
                secret.to_string().as_bytes(),
                url,
                &RedirectPolicy::default()
            )
            .is_err()
        );
        let confidential = json!({"client_id": url, "token_endpoint_auth_method": "private_key_jwt", "redirect_uris": ["https://app.example/cb"]});
        assert!(
            parse_metadata_document(
                confidential.to_string().as_bytes(),
                url,
                &RedirectPolicy::default()
            )
            .is_err()
        );
        for hostile in [&b"<html>"[..], b"", b"null", b"[]", b"{\"client_id\":"] {
            assert!(parse_metadata_document(hostile, url, &RedirectPolicy::default()).is_err());
        }
        let mut big = doc.clone();
        big["client_name"] = json!("x".repeat(MAX_METADATA_BYTES));
        assert!(
            parse_metadata_document(big.to_string().as_bytes(), url, &RedirectPolicy::default())
                .is_err()
        );
    }

    #[test]
    fn preregistered_clients_are_checked() {
        let ok = parse_preregistered(r#"[{"client_id":"vscode","client_name":"VS Code","redirect_uris":["http://127.0.0.1:33418/","https://vscode.dev/redirect"]}]"#).unwrap();
        assert_eq!(ok[0].display_name(), "VS Code");
        for bad in [
            "{}",
            "[{}]",
            r#"[{"client_id":"a"}]"#,
            r#"[{"client_id":"a","redirect_uris":["http://evil.example/"]}]"#,
            r#"[{"client_id":"a","redirect_uris":["https://a.example/"]},{"client_id":"a","redirect_uris":["https://a.example/"]}]"#,
            r#"[{"client_id":"dcr.x","redirect_uris":["https://a.example/"]}]"#,
            r#"[{"client_id":"https://a.example/c.json","redirect_uris":["https://a.example/"]}]"#,
        ] {
            assert!(parse_preregistered(bad).is_err(), "{bad}");
        }
    }
}
