//! API-key verification for serverless-mcp.
//!
//! One check serves every place that guards the MCP endpoint: the local server, the function
//! behind its Function URL, and the API Gateway Lambda authorizer. Keys are compared as
//! SHA-256 digests in constant time, so neither the key's content nor its length leaks through
//! timing, and every configured key is compared (no early exit on a match).
//!
//! - [`StaticKeys`]: keys known at start-up (the local server).
//! - [`CachedVerifier`] over [`SecretsManagerSource`]: keys from Secrets Manager, cached,
//!   rotation-aware, failing closed.
//! - [`lambda::authorize`]: the API Gateway authorizer decision.
#![forbid(unsafe_code)]

pub mod cache;
pub mod lambda;
pub mod logging;
pub mod secret;
pub mod source;

use std::{future::Future, pin::Pin, sync::Arc};

pub use cache::{CacheSettings, CachedVerifier, Clock, SystemClock, seconds_from_env};
pub use secret::{SecretFormatError, parse_secret};
pub use source::{SecretSource, SecretsManagerSource, Stage};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a verifier decided about a presented key. Never carries the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDecision {
    /// The key matched the accepted key with this id.
    Allowed { key_id: String },
    /// No key was presented, or it matched no accepted key.
    Denied,
}

impl KeyDecision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, KeyDecision::Allowed { .. })
    }
}

pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = KeyDecision> + Send + 'a>>;

/// A source of accepted API keys. Async because a real source (Secrets Manager) does I/O.
pub trait KeyVerifier: Send + Sync {
    fn verify<'a>(&'a self, presented: &'a str) -> VerifyFuture<'a>;
}

impl<T: KeyVerifier + ?Sized> KeyVerifier for Arc<T> {
    fn verify<'a>(&'a self, presented: &'a str) -> VerifyFuture<'a> {
        (**self).verify(presented)
    }
}

/// One accepted key, kept only as its digest.
#[derive(Clone)]
pub struct AcceptedKey {
    id: String,
    digest: [u8; 32],
}

impl AcceptedKey {
    pub fn new(id: impl Into<String>, key: &str) -> Self {
        Self {
            id: id.into(),
            digest: digest(key),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

// The key digest must never reach a log through `{:?}`.
impl std::fmt::Debug for AcceptedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptedKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Compares a presented key with every accepted key in constant time and returns the id of the
/// match. Empty keys never match.
pub fn match_key<'k>(presented: &str, accepted: &'k [AcceptedKey]) -> Option<&'k str> {
    if presented.is_empty() {
        return None;
    }
    let presented = digest(presented);
    let mut found = None;
    for key in accepted {
        if bool::from(key.digest.ct_eq(&presented)) && found.is_none() {
            found = Some(key.id.as_str());
        }
    }
    found
}

/// A fixed set of keys known at start-up (the local server's key, or a key from the environment).
#[derive(Debug, Clone)]
pub struct StaticKeys {
    keys: Vec<AcceptedKey>,
}

impl StaticKeys {
    pub fn new(keys: Vec<AcceptedKey>) -> Self {
        Self { keys }
    }

    /// A single key with the id `default`.
    pub fn single(key: &str) -> Self {
        Self::new(vec![AcceptedKey::new("default", key)])
    }
}

impl KeyVerifier for StaticKeys {
    fn verify<'a>(&'a self, presented: &'a str) -> VerifyFuture<'a> {
        let decision = match match_key(presented, &self.keys) {
            Some(id) => KeyDecision::Allowed {
                key_id: id.to_owned(),
            },
            None => KeyDecision::Denied,
        };
        Box::pin(std::future::ready(decision))
    }
}

/// Where the client put its key: `x-api-key: K`, or `Authorization: Bearer K` for clients that
/// can only send bearer tokens. `x-api-key` wins when both are present.
pub fn presented_key<'a>(
    x_api_key: Option<&'a str>,
    authorization: Option<&'a str>,
) -> Option<&'a str> {
    if let Some(key) = x_api_key.map(str::trim).filter(|k| !k.is_empty()) {
        return Some(key);
    }
    let authorization = authorization?.trim();
    let (scheme, token) = authorization.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A fresh random API key for the local server: 32 bytes from the OS, hex encoded.
pub fn generate_key() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!(
        "smcp_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// The starting point of every AWS SDK config in this process: the default credential and
/// region chain, over rustls with the ring crypto provider (a smaller binary than the SDK's
/// default aws-lc stack).
pub fn aws_config_loader() -> aws_config::ConfigLoader {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https)
}

/// Structured JSON logs, one object per line, level from `RUST_LOG` (default `info`, with
/// rmcp's per-request chatter at `warn`); inside a Lambda invocation each line carries its
/// `requestId` ([`logging`]). On Lambda they go to stdout; the local server keeps stdout for
/// the user and logs to stderr. Shared by both binaries of the workspace.
pub fn init_logging(to_stdout: bool) {
    use tracing_subscriber::{EnvFilter, fmt::writer::BoxMakeWriter, util::SubscriberInitExt};
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"));
    let writer = if to_stdout {
        BoxMakeWriter::new(std::io::stdout)
    } else {
        BoxMakeWriter::new(std::io::stderr)
    };
    let _ = logging::json_subscriber(writer, filter).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<AcceptedKey> {
        vec![
            AcceptedKey::new("laptop", "key-one"),
            AcceptedKey::new("ci", "key-two"),
        ]
    }

    #[test]
    fn matching_key_returns_its_id() {
        assert_eq!(match_key("key-one", &keys()), Some("laptop"));
        assert_eq!(match_key("key-two", &keys()), Some("ci"));
    }

    #[test]
    fn wrong_empty_prefix_or_longer_keys_do_not_match() {
        for bad in ["", "key-on", "key-one ", "KEY-ONE", "key-onex", "key-three"] {
            assert_eq!(match_key(bad, &keys()), None, "{bad:?} must not match");
        }
    }

    #[test]
    fn an_empty_accepted_key_never_matches() {
        assert_eq!(match_key("", &[AcceptedKey::new("empty", "")]), None);
    }

    #[test]
    fn presented_key_prefers_x_api_key_then_bearer() {
        assert_eq!(presented_key(Some("a"), Some("Bearer b")), Some("a"));
        assert_eq!(presented_key(None, Some("Bearer b")), Some("b"));
        assert_eq!(presented_key(None, Some("bearer   b ")), Some("b"));
        assert_eq!(presented_key(Some("  "), Some("Bearer b")), Some("b"));
    }

    #[test]
    fn presented_key_rejects_other_schemes_and_empty_tokens() {
        assert_eq!(presented_key(None, Some("Basic abc")), None);
        assert_eq!(presented_key(None, Some("Bearer")), None);
        assert_eq!(presented_key(None, Some("Bearer   ")), None);
        assert_eq!(presented_key(None, None), None);
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let text = format!("{:?}", StaticKeys::single("super-secret-value"));
        assert!(!text.contains("super-secret-value"));
        assert!(text.contains("default"));
    }

    #[test]
    fn generated_keys_are_long_and_distinct() {
        let a = generate_key().unwrap();
        let b = generate_key().unwrap();
        assert_eq!(a.len(), 5 + 64);
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn static_keys_verify() {
        let verifier = StaticKeys::single("k");
        assert_eq!(
            verifier.verify("k").await,
            KeyDecision::Allowed {
                key_id: "default".into()
            }
        );
        assert_eq!(verifier.verify("x").await, KeyDecision::Denied);
    }
}
