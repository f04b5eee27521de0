//! Configuration of the app: how it is served and what it accepts. Parsing is pure (the
//! environment comes in as a lookup function) so tests can call it directly.

use std::{fmt, sync::Arc};

use crate::{
    cost::{CostExplorer, CostSettings},
    metrics::Metrics,
    oauth::{Facade, settings::AuthMode},
};
use authorizer::{CacheSettings, CachedVerifier, KeyVerifier, SecretsManagerSource, StaticKeys};

/// Default cap on a POST body (`MCP_MAX_BODY_BYTES`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// How the one binary is serving the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// The embedded server on loopback.
    Local,
    /// Lambda behind API Gateway HTTP API v2: buffered responses.
    ApiGateway,
    /// Lambda behind a Function URL with `InvokeMode: RESPONSE_STREAM`: streamed responses.
    FunctionUrl,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Local => "local",
            RunMode::ApiGateway => "api-gateway",
            RunMode::FunctionUrl => "function-url",
        }
    }
}

impl fmt::Display for RunMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything `app()` needs. Built by `main` for the local server or for Lambda.
#[derive(Clone)]
pub struct AppConfig {
    pub mode: RunMode,
    /// AWS region, or "local".
    pub region: String,
    /// Host patterns accepted on `/mcp`: `host`, `host:port`, or `*.suffix`.
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted on `/mcp` (`scheme://host[:port]`, port `*` for any). Requests
    /// without `Origin` (non-browser clients) are always accepted.
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub keys: Arc<dyn KeyVerifier>,
    /// Who may call `/mcp`: API keys, OAuth tokens, or both.
    pub auth: AuthMode,
    /// The OAuth facade (routes and token checks), in `oauth` / `both` modes.
    pub oauth: Option<Arc<Facade>>,
    pub cost: Arc<CostExplorer>,
    /// Answer plain `tools/list` / `tools/call` without rmcp's per-request service
    /// (`fast_path.rs`); off only to compare the two in tests.
    pub fast_path: bool,
    /// Per-tool metrics as EMF lines (`metrics.rs`); `None`: off.
    pub metrics: Option<Metrics>,
}

impl fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppConfig")
            .field("mode", &self.mode)
            .field("region", &self.region)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allowed_origins", &self.allowed_origins)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("auth", &self.auth)
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

impl AppConfig {
    /// The local server: loopback hosts and origins only (DNS-rebinding protection).
    pub fn local(keys: Arc<dyn KeyVerifier>) -> Self {
        Self {
            mode: RunMode::Local,
            region: "local".into(),
            allowed_hosts: ["localhost", "127.0.0.1", "[::1]"]
                .map(String::from)
                .to_vec(),
            allowed_origins: ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
                .map(String::from)
                .to_vec(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            keys,
            auth: AuthMode::ApiKey,
            oauth: None,
            cost: Arc::new(CostExplorer::new(CostSettings::default())),
            fast_path: true,
            metrics: None,
        }
    }
}

/// A setting from the Lambda environment that is present but wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("MCP_LAMBDA_MODE must be `api-gateway` or `function-url`, got {0:?}")]
    BadMode(String),
    #[error(
        "MCP_MAX_BODY_BYTES must be a whole number of bytes between 1024 and 6291456, got {0:?}"
    )]
    BadBodyLimit(String),
    #[error(
        "no API key source: set MCP_API_KEY_SECRET_ID (a Secrets Manager secret) or MCP_API_KEY; \
         the function refuses to start without a key to check"
    )]
    MissingKey,
    #[error("{0}")]
    BadKeyCache(String),
    #[error("{0}")]
    BadCostSetting(String),
    #[error("MCP_METRICS must be `emf` or `off`, got {0:?}")]
    BadMetrics(String),
}

/// Where the accepted API keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A Secrets Manager secret (ARN or name), cached and rotation-aware.
    SecretsManager {
        secret_id: String,
        cache: CacheSettings,
    },
    /// One key given in the environment.
    Fixed(String),
}

impl KeySource {
    /// `MCP_API_KEY_SECRET_ID` (with the `MCP_KEY_*` cache settings) wins over `MCP_API_KEY`;
    /// `None` when neither is set.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let set = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if let Some(secret_id) = set("MCP_API_KEY_SECRET_ID") {
            let cache = CacheSettings::from_env(&var).map_err(ConfigError::BadKeyCache)?;
            return Ok(Some(KeySource::SecretsManager { secret_id, cache }));
        }
        Ok(set("MCP_API_KEY").map(KeySource::Fixed))
    }

    /// The verifier for this source. Secrets Manager is not called until the first request.
    pub fn verifier(self) -> Arc<dyn KeyVerifier> {
        match self {
            KeySource::SecretsManager { secret_id, cache } => Arc::new(CachedVerifier::new(
                SecretsManagerSource::new(secret_id),
                cache,
            )),
            KeySource::Fixed(key) => Arc::new(StaticKeys::single(&key)),
        }
    }
}

/// Lambda settings read from the environment (everything but the key source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaSettings {
    pub mode: RunMode,
    pub region: String,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub cost: CostSettings,
    /// The `FunctionName` dimension of the per-tool EMF metrics; `None`: no metrics.
    pub metrics: Option<String>,
}

impl LambdaSettings {
    /// Reads `MCP_LAMBDA_MODE` (default `api-gateway`), `AWS_REGION`, `MCP_ALLOWED_HOSTS`,
    /// `MCP_ALLOWED_ORIGINS` (comma-separated), `MCP_MAX_BODY_BYTES` and `MCP_METRICS`
    /// (`emf`, the default when Lambda names the function in `AWS_LAMBDA_FUNCTION_NAME`, or `off`).
    ///
    /// Without `MCP_ALLOWED_HOSTS` the hosts AWS itself assigns in this region are accepted:
    /// a Function URL cannot know its own domain when it is deployed, and API Gateway's default
    /// domain is `<id>.execute-api.<region>.amazonaws.com`. Custom domains must be listed.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mode = match set("MCP_LAMBDA_MODE").as_deref() {
            None | Some("api-gateway") => RunMode::ApiGateway,
            Some("function-url") => RunMode::FunctionUrl,
            Some(other) => return Err(ConfigError::BadMode(other.to_owned())),
        };
        let region = set("AWS_REGION")
            .or_else(|| set("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let allowed_hosts = match set("MCP_ALLOWED_HOSTS") {
            Some(list) => split_list(&list),
            None => vec![
                format!("*.execute-api.{region}.amazonaws.com"),
                format!("*.lambda-url.{region}.on.aws"),
            ],
        };
        let allowed_origins = set("MCP_ALLOWED_ORIGINS")
            .map(|l| split_list(&l))
            .unwrap_or_default();
        let max_body_bytes = match set("MCP_MAX_BODY_BYTES") {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(raw) => parse_body_limit(&raw).ok_or(ConfigError::BadBodyLimit(raw))?,
        };
        let cost = CostSettings::from_env(&var).map_err(ConfigError::BadCostSetting)?;
        let function_name = set("AWS_LAMBDA_FUNCTION_NAME");
        let metrics = match set("MCP_METRICS").as_deref() {
            None => function_name,
            Some("emf") => Some(function_name.unwrap_or_else(|| crate::SERVER_NAME.into())),
            Some("off") => None,
            Some(other) => return Err(ConfigError::BadMetrics(other.to_owned())),
        };
        Ok(Self {
            mode,
            region,
            allowed_hosts,
            allowed_origins,
            max_body_bytes,
            cost,
            metrics,
        })
    }

    pub fn into_app_config(self, keys: Arc<dyn KeyVerifier>) -> AppConfig {
        AppConfig {
            mode: self.mode,
            region: self.region,
            allowed_hosts: self.allowed_hosts,
            allowed_origins: self.allowed_origins,
            max_body_bytes: self.max_body_bytes,
            keys,
            auth: AuthMode::ApiKey,
            oauth: None,
            cost: Arc::new(CostExplorer::new(self.cost)),
            fast_path: true,
            metrics: self.metrics.as_deref().map(Metrics::stdout),
        }
    }
}

/// Lambda's request payload limit is 6 MB; below 1 KiB no MCP request fits.
pub fn parse_body_limit(raw: &str) -> Option<usize> {
    raw.parse::<usize>()
        .ok()
        .filter(|n| (1024..=6 * 1024 * 1024).contains(n))
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// True when the process runs inside the Lambda runtime (the Runtime API address is set).
pub fn running_on_lambda(var: impl Fn(&str) -> Option<String>) -> bool {
    var("AWS_LAMBDA_RUNTIME_API").is_some_and(|v| !v.is_empty())
}

/// An environment lookup from fixed pairs, for the settings tests.
#[cfg(test)]
pub(crate) fn test_env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[cfg(test)]
mod tests {
    use super::{test_env as env, *};

    #[test]
    fn defaults_to_api_gateway_with_aws_assigned_hosts() {
        let s = LambdaSettings::from_env(env(&[("AWS_REGION", "eu-west-1")])).unwrap();
        assert_eq!(s.mode, RunMode::ApiGateway);
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(
            s.allowed_hosts,
            [
                "*.execute-api.eu-west-1.amazonaws.com",
                "*.lambda-url.eu-west-1.on.aws"
            ]
        );
        assert!(s.allowed_origins.is_empty());
        assert_eq!(s.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(s.metrics, None, "no metrics off Lambda");
    }

    #[test]
    fn metrics_are_on_where_lambda_names_the_function() {
        let on_lambda = ("AWS_LAMBDA_FUNCTION_NAME", "mcp-dev-function-1a2b");
        let s = LambdaSettings::from_env(env(&[on_lambda])).unwrap();
        assert_eq!(s.metrics.as_deref(), Some("mcp-dev-function-1a2b"));
        let s = LambdaSettings::from_env(env(&[on_lambda, ("MCP_METRICS", "off")])).unwrap();
        assert_eq!(s.metrics, None);
        let s = LambdaSettings::from_env(env(&[("MCP_METRICS", "emf")])).unwrap();
        assert_eq!(s.metrics.as_deref(), Some("serverless-mcp"));
        let err = LambdaSettings::from_env(env(&[("MCP_METRICS", "on")])).unwrap_err();
        assert_eq!(err, ConfigError::BadMetrics("on".into()));
        assert!(err.to_string().contains("MCP_METRICS"));
    }

    #[test]
    fn reads_explicit_settings() {
        let s = LambdaSettings::from_env(env(&[
            ("MCP_LAMBDA_MODE", "function-url"),
            (
                "MCP_ALLOWED_HOSTS",
                " mcp.example.com , abc.lambda-url.us-east-1.on.aws,",
            ),
            ("MCP_ALLOWED_ORIGINS", "https://claude.ai"),
            ("MCP_MAX_BODY_BYTES", "2048"),
        ]))
        .unwrap();
        assert_eq!(s.mode, RunMode::FunctionUrl);
        assert_eq!(s.region, "us-east-1");
        assert_eq!(
            s.allowed_hosts,
            ["mcp.example.com", "abc.lambda-url.us-east-1.on.aws"]
        );
        assert_eq!(s.allowed_origins, ["https://claude.ai"]);
        assert_eq!(s.max_body_bytes, 2048);
    }

    #[test]
    fn rejects_bad_values_naming_the_setting() {
        let err = LambdaSettings::from_env(env(&[("MCP_LAMBDA_MODE", "streaming")])).unwrap_err();
        assert_eq!(err, ConfigError::BadMode("streaming".into()));
        assert!(err.to_string().contains("MCP_LAMBDA_MODE"));
        for bad in ["abc", "-1", "10", "99999999999"] {
            let err = LambdaSettings::from_env(env(&[("MCP_MAX_BODY_BYTES", bad)])).unwrap_err();
            assert_eq!(err, ConfigError::BadBodyLimit(bad.into()));
        }
    }

    #[test]
    fn key_source_prefers_the_secret() {
        assert_eq!(KeySource::from_env(env(&[])).unwrap(), None);
        assert_eq!(
            KeySource::from_env(env(&[("MCP_API_KEY", " k ")])).unwrap(),
            Some(KeySource::Fixed("k".into()))
        );
        let source = KeySource::from_env(env(&[
            ("MCP_API_KEY", "k"),
            (
                "MCP_API_KEY_SECRET_ID",
                "arn:aws:secretsmanager:us-east-1:1:secret:mcp",
            ),
            ("MCP_KEY_CACHE_TTL_SECONDS", "60"),
        ]))
        .unwrap()
        .unwrap();
        let KeySource::SecretsManager { secret_id, cache } = source else {
            panic!("{source:?}")
        };
        assert_eq!(secret_id, "arn:aws:secretsmanager:us-east-1:1:secret:mcp");
        assert_eq!(cache.ttl, std::time::Duration::from_secs(60));
        let err = KeySource::from_env(env(&[
            ("MCP_API_KEY_SECRET_ID", "s"),
            ("MCP_KEY_CACHE_TTL_SECONDS", "x"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("MCP_KEY_CACHE_TTL_SECONDS"));
    }

    #[test]
    fn lambda_detection_uses_the_runtime_api_variable() {
        assert!(running_on_lambda(env(&[(
            "AWS_LAMBDA_RUNTIME_API",
            "127.0.0.1:9001"
        )])));
        assert!(!running_on_lambda(env(&[])));
        assert!(!running_on_lambda(env(&[("AWS_LAMBDA_RUNTIME_API", "")])));
    }
}
