//! OAuth settings from the environment (docs/oauth.md lists them). Pure: tests call
//! [`OAuthSettings::from_env`] with a lookup function.

use authorizer::CacheSettings;
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use oauth::{
    client::{Client, parse_preregistered},
    grant::Lifetimes,
    redirect::RedirectPolicy,
};

/// Who may call `/mcp` (`MCP_AUTH_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    ApiKey,
    OAuth,
    Both,
}

impl AuthMode {
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        match var("MCP_AUTH_MODE").as_deref().map(str::trim) {
            None | Some("") | Some("api-key") => Ok(AuthMode::ApiKey),
            Some("oauth") => Ok(AuthMode::OAuth),
            Some("both") => Ok(AuthMode::Both),
            Some(other) => Err(format!(
                "MCP_AUTH_MODE must be `api-key`, `oauth` or `both`, got {other:?}"
            )),
        }
    }

    pub fn accepts_keys(self) -> bool {
        matches!(self, AuthMode::ApiKey | AuthMode::Both)
    }

    pub fn accepts_tokens(self) -> bool {
        matches!(self, AuthMode::OAuth | AuthMode::Both)
    }
}

/// Where the signing key and Cognito's client credentials come from.
#[derive(Clone, PartialEq, Eq)]
pub enum OAuthSecretSource {
    /// A Secrets Manager secret: `{"signingKey", "cognitoClientId", "cognitoClientSecret"}`.
    SecretsManager {
        secret_id: String,
        cache: CacheSettings,
    },
    /// The environment (local server, tests).
    Fixed(StageSecretValues),
}

/// The secret's contents. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct StageSecretValues {
    pub signing_key: Vec<u8>,
    pub cognito_client_id: String,
    pub cognito_client_secret: String,
}

impl std::fmt::Debug for OAuthSecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SecretsManager { secret_id, .. } => f
                .debug_struct("SecretsManager")
                .field("secret_id", secret_id)
                .finish_non_exhaustive(),
            Self::Fixed(_) => f.write_str("Fixed(..)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    /// Cognito's OAuth base, without a trailing slash.
    pub cognito_url: String,
    pub upstream_scopes: String,
    pub clients: Vec<Client>,
    pub redirect_policy: RedirectPolicy,
    pub lifetimes: Lifetimes,
    /// Tests only: accept `http://127.0.0.1:<port>/…` client metadata documents.
    pub cimd_allow_http_loopback: bool,
    pub secrets: OAuthSecretSource,
}

/// A signing key as configured: base64 (standard or URL-safe) of at least 32 bytes.
pub fn decode_signing_key(raw: &str, name: &str) -> Result<Vec<u8>, String> {
    let raw = raw.trim();
    let bytes = STANDARD
        .decode(raw)
        .or_else(|_| URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')))
        .map_err(|_| format!("{name} must be base64 (e.g. `openssl rand -base64 32`)"))?;
    if bytes.len() < oauth::keys::MIN_SECRET_BYTES {
        return Err(format!(
            "{name} must decode to at least {} bytes, got {}",
            oauth::keys::MIN_SECRET_BYTES,
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// An OAuth base URL must be https, or http on a loopback host (the tests' Cognito stand-in).
fn check_cognito_url(url: &str) -> Result<String, String> {
    let parsed =
        url::Url::parse(url).map_err(|_| format!("MCP_OAUTH_COGNITO_URL is not a URL: {url:?}"))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
        return Err(format!(
            "MCP_OAUTH_COGNITO_URL must be https (http only on loopback), got {url:?}"
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("MCP_OAUTH_COGNITO_URL must not have a query or fragment".into());
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn seconds(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
    default: i64,
) -> Result<i64, String> {
    match var(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    {
        None => Ok(default),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                format!(
                    "{name} must be a whole number of seconds from {} to {}, got {raw:?}",
                    range.start(),
                    range.end()
                )
            }),
    }
}

impl OAuthSettings {
    /// Reads the OAuth settings (needed when `MCP_AUTH_MODE` is `oauth` or `both`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let set = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let cognito_url = check_cognito_url(&set("MCP_OAUTH_COGNITO_URL").ok_or(
            "MCP_OAUTH_COGNITO_URL is required in OAuth mode (https://<prefix>.auth.<region>.amazoncognito.com)",
        )?)?;
        let secrets = if let Some(secret_id) = set("MCP_OAUTH_SECRET_ID") {
            let cache = CacheSettings::from_env(&var)?;
            OAuthSecretSource::SecretsManager { secret_id, cache }
        } else {
            let key = set("MCP_OAUTH_SIGNING_KEY").ok_or(
                "OAuth mode needs MCP_OAUTH_SECRET_ID (a Secrets Manager secret) or MCP_OAUTH_SIGNING_KEY with MCP_OAUTH_COGNITO_CLIENT_ID and MCP_OAUTH_COGNITO_CLIENT_SECRET",
            )?;
            OAuthSecretSource::Fixed(StageSecretValues {
                signing_key: decode_signing_key(&key, "MCP_OAUTH_SIGNING_KEY")?,
                cognito_client_id: set("MCP_OAUTH_COGNITO_CLIENT_ID")
                    .ok_or("MCP_OAUTH_COGNITO_CLIENT_ID is required with MCP_OAUTH_SIGNING_KEY")?,
                cognito_client_secret: set("MCP_OAUTH_COGNITO_CLIENT_SECRET").ok_or(
                    "MCP_OAUTH_COGNITO_CLIENT_SECRET is required with MCP_OAUTH_SIGNING_KEY",
                )?,
            })
        };
        let clients = match set("MCP_OAUTH_CLIENTS") {
            Some(json) => parse_preregistered(&json)?,
            None => Vec::new(),
        };
        let lifetimes = Lifetimes {
            access_seconds: seconds(&var, "MCP_OAUTH_ACCESS_TOKEN_SECONDS", 60..=86_400, 3600)?,
            refresh_seconds: seconds(
                &var,
                "MCP_OAUTH_REFRESH_TOKEN_SECONDS",
                3600..=3650 * 86_400,
                30 * 86_400,
            )?,
        };
        Ok(Self {
            cognito_url,
            upstream_scopes: set("MCP_OAUTH_UPSTREAM_SCOPES")
                .unwrap_or_else(|| "openid email profile".into()),
            clients,
            redirect_policy: RedirectPolicy::parse(
                &set("MCP_OAUTH_REDIRECT_URIS").unwrap_or_default(),
            ),
            lifetimes,
            cimd_allow_http_loopback: set("MCP_OAUTH_CIMD_ALLOW_HTTP_LOOPBACK").as_deref()
                == Some("1"),
            secrets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_env as env;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "MCP_OAUTH_COGNITO_URL",
                "https://mcp-dev.auth.eu-west-1.amazoncognito.com/",
            ),
            ("MCP_OAUTH_SIGNING_KEY", KEY),
            ("MCP_OAUTH_COGNITO_CLIENT_ID", "cid"),
            ("MCP_OAUTH_COGNITO_CLIENT_SECRET", "csecret"),
        ]
    }

    #[test]
    fn auth_modes() {
        assert_eq!(AuthMode::from_env(env(&[])), Ok(AuthMode::ApiKey));
        assert_eq!(
            AuthMode::from_env(env(&[("MCP_AUTH_MODE", "oauth")])),
            Ok(AuthMode::OAuth)
        );
        assert_eq!(
            AuthMode::from_env(env(&[("MCP_AUTH_MODE", " both ")])),
            Ok(AuthMode::Both)
        );
        assert!(
            AuthMode::from_env(env(&[("MCP_AUTH_MODE", "OAuth2")]))
                .unwrap_err()
                .contains("MCP_AUTH_MODE")
        );
    }

    #[test]
    fn fixed_settings_with_defaults() {
        let s = OAuthSettings::from_env(env(&base())).unwrap();
        assert_eq!(
            s.cognito_url,
            "https://mcp-dev.auth.eu-west-1.amazoncognito.com"
        );
        assert_eq!(s.upstream_scopes, "openid email profile");
        assert_eq!(s.lifetimes, Lifetimes::default());
        assert!(!s.cimd_allow_http_loopback);
        let OAuthSecretSource::Fixed(values) = &s.secrets else {
            panic!()
        };
        assert_eq!(values.signing_key.len(), 32);
        // Debug never shows the secrets.
        let text = format!("{s:?}");
        assert!(!text.contains("csecret") && !text.contains(KEY), "{text}");
    }

    #[test]
    fn the_secret_wins_and_is_named_by_id() {
        let mut pairs = base();
        pairs.push((
            "MCP_OAUTH_SECRET_ID",
            "arn:aws:secretsmanager:eu-west-1:1:secret:oauth",
        ));
        let s = OAuthSettings::from_env(env(&pairs)).unwrap();
        assert!(matches!(
            s.secrets,
            OAuthSecretSource::SecretsManager { .. }
        ));
    }

    #[test]
    fn bad_values_name_their_setting() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "MCP_OAUTH_COGNITO_URL",
                "http://cognito.example.com",
                "MCP_OAUTH_COGNITO_URL",
            ),
            (
                "MCP_OAUTH_COGNITO_URL",
                "not a url",
                "MCP_OAUTH_COGNITO_URL",
            ),
            ("MCP_OAUTH_SIGNING_KEY", "c2hvcnQ=", "MCP_OAUTH_SIGNING_KEY"),
            ("MCP_OAUTH_SIGNING_KEY", "%%%", "MCP_OAUTH_SIGNING_KEY"),
            ("MCP_OAUTH_CLIENTS", "{", "MCP_OAUTH_CLIENTS"),
            (
                "MCP_OAUTH_ACCESS_TOKEN_SECONDS",
                "10",
                "MCP_OAUTH_ACCESS_TOKEN_SECONDS",
            ),
            (
                "MCP_OAUTH_REFRESH_TOKEN_SECONDS",
                "x",
                "MCP_OAUTH_REFRESH_TOKEN_SECONDS",
            ),
        ];
        for (name, value, expected) in cases {
            let mut pairs = base();
            pairs.retain(|(k, _)| k != name);
            pairs.push((name, value));
            let err = OAuthSettings::from_env(env(&pairs)).unwrap_err();
            assert!(err.contains(expected), "{name}={value}: {err}");
        }
        let err = OAuthSettings::from_env(env(&[("MCP_OAUTH_COGNITO_URL", "https://x.example")]))
            .unwrap_err();
        assert!(err.contains("MCP_OAUTH_SECRET_ID"), "{err}");
        assert!(
            OAuthSettings::from_env(env(&[]))
                .unwrap_err()
                .contains("MCP_OAUTH_COGNITO_URL")
        );
    }

    #[test]
    fn loopback_http_cognito_is_allowed_for_tests() {
        let mut pairs = base();
        pairs[0] = ("MCP_OAUTH_COGNITO_URL", "http://127.0.0.1:4100");
        assert!(OAuthSettings::from_env(env(&pairs)).is_ok());
    }
}
