//! Stack settings: the Pulumi config (`pulumi config set ...`) read, defaulted and validated
//! before anything is registered, so a bad value stops the deploy with a message naming the
//! setting and the command that fixes it.

use std::collections::{HashMap, HashSet};

use thiserror::Error;

/// Pulumi project name: config keys are `serverless-mcp:<key>`.
pub const PROJECT: &str = "serverless-mcp";

/// Every setting of the project with its default (`None` = required), as declared in
/// `Pulumi.yaml`; a test keeps the two in step.
pub const SETTINGS: &[(&str, Option<&str>)] = &[
    ("apiKey", None),
    ("architecture", Some("arm64")),
    ("memorySize", Some("128")),
    ("timeout", Some("30")),
    ("authorizerMemorySize", Some("128")),
    ("logRetentionDays", Some("14")),
    ("logLevel", Some("info")),
    ("throttlingRateLimit", Some("50")),
    ("throttlingBurstLimit", Some("100")),
    ("authorizerCacheTtl", Some("300")),
    ("allowedOrigins", Some("")),
    ("allowedHosts", Some("")),
    ("functionUrl", Some("true")),
];

/// Retention periods CloudWatch Logs accepts (days).
const RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    Arm64,
    X86_64,
}

impl Architecture {
    /// The name Lambda and cargo-lambda use.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Architecture::Arm64 => "arm64",
            Architecture::X86_64 => "x86_64",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub stack: String,
    pub region: String,
    /// The secret's value: one key, or `{"keys": [{"id", "key"}, ...]}`.
    pub api_key: String,
    /// The key written into client configs (the plain key, or the first named one).
    pub client_key: String,
    pub architecture: Architecture,
    pub memory_size: u32,
    pub timeout: u32,
    pub authorizer_memory_size: u32,
    pub log_retention_days: u32,
    pub log_level: String,
    pub throttling_rate_limit: f64,
    pub throttling_burst_limit: u32,
    pub authorizer_cache_ttl: u32,
    pub allowed_origins: Vec<String>,
    pub allowed_hosts: Vec<String>,
    pub function_url: bool,
}

#[derive(Debug, Error, PartialEq)]
pub enum SettingsError {
    #[error(
        "apiKey is not set. Set it (encrypted) with:\n  pulumi config set apiKey --secret\n\
         (generate one with e.g. `openssl rand -hex 32`)"
    )]
    MissingApiKey,
    #[error(
        "apiKey is stored in plain text in the stack config. Store it encrypted instead:\n  \
         pulumi config rm apiKey && pulumi config set apiKey --secret"
    )]
    ApiKeyNotSecret,
    #[error("apiKey {0}")]
    BadApiKey(String),
    #[error(
        "aws:region is not set. Choose a region with:\n  pulumi config set aws:region us-east-1"
    )]
    MissingRegion,
    #[error(
        "{key} must be {expected}, got {value:?}. Change it with:\n  pulumi config set {key} <value>"
    )]
    Invalid {
        key: &'static str,
        expected: String,
        value: String,
    },
    #[error(
        "unknown setting {0:?}; the settings are: {known}",
        known = SETTINGS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
    )]
    Unknown(String),
    #[error("the stack name {0:?} cannot name an API Gateway stage: use letters, digits, - and _")]
    BadStackName(String),
    #[error("PULUMI_CONFIG is not a JSON map of strings: {0}")]
    BadEnvironment(String),
}

impl Settings {
    /// Reads the settings the Pulumi language host passes in `PULUMI_CONFIG` (a JSON map of
    /// `"project:key"` to string) and `PULUMI_CONFIG_SECRET_KEYS` (a JSON list).
    pub fn from_pulumi_env(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let config: HashMap<String, String> =
            serde_json::from_str(&var("PULUMI_CONFIG").unwrap_or_else(|| "{}".into()))
                .map_err(|e| SettingsError::BadEnvironment(e.to_string()))?;
        let secret_keys: HashSet<String> =
            serde_json::from_str(&var("PULUMI_CONFIG_SECRET_KEYS").unwrap_or_else(|| "[]".into()))
                .map_err(|e| SettingsError::BadEnvironment(e.to_string()))?;
        let stack = var("PULUMI_STACK").unwrap_or_else(|| "dev".into());
        Settings::from_config(&stack, &config, &secret_keys)
    }

    /// Pure: the settings from a stack's config map and its secret keys.
    pub fn from_config(
        stack: &str,
        config: &HashMap<String, String>,
        secret_keys: &HashSet<String>,
    ) -> Result<Settings, SettingsError> {
        let prefix = format!("{PROJECT}:");
        for full_key in config.keys() {
            if let Some(key) = full_key.strip_prefix(&prefix)
                && !SETTINGS.iter().any(|(k, _)| *k == key)
            {
                return Err(SettingsError::Unknown(key.to_string()));
            }
        }
        if stack.is_empty()
            || !stack
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SettingsError::BadStackName(stack.to_string()));
        }
        let get = |key: &str| -> String {
            config
                .get(&format!("{prefix}{key}"))
                .cloned()
                .or_else(|| {
                    SETTINGS
                        .iter()
                        .find(|(k, _)| *k == key)
                        .and_then(|(_, d)| d.map(str::to_string))
                })
                .unwrap_or_default()
        };

        let api_key_name = format!("{prefix}apiKey");
        let api_key = config
            .get(&api_key_name)
            .ok_or(SettingsError::MissingApiKey)?;
        if !secret_keys.contains(&api_key_name) {
            return Err(SettingsError::ApiKeyNotSecret);
        }
        let client_key = check_api_key(api_key)?;

        let region = config
            .get("aws:region")
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .ok_or(SettingsError::MissingRegion)?;

        let architecture = match get("architecture").as_str() {
            "arm64" => Architecture::Arm64,
            "x86_64" => Architecture::X86_64,
            other => return Err(invalid("architecture", "arm64 or x86_64", other)),
        };
        let log_retention_days = number("logRetentionDays", &get("logRetentionDays"), 1, 3653)?;
        if !RETENTION_DAYS.contains(&log_retention_days) {
            return Err(invalid(
                "logRetentionDays",
                &format!("one of the periods CloudWatch Logs accepts ({RETENTION_DAYS:?})"),
                &get("logRetentionDays"),
            ));
        }
        let log_level = get("logLevel");
        if !["error", "warn", "info", "debug", "trace"].contains(&log_level.as_str()) {
            return Err(invalid(
                "logLevel",
                "one of error, warn, info, debug, trace",
                &log_level,
            ));
        }
        let rate = get("throttlingRateLimit");
        let throttling_rate_limit = rate
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r > 0.0 && *r <= 10_000.0)
            .ok_or_else(|| {
                invalid(
                    "throttlingRateLimit",
                    "a number of requests per second in (0, 10000]",
                    &rate,
                )
            })?;
        let function_url = match get("functionUrl").as_str() {
            "true" => true,
            "false" => false,
            other => return Err(invalid("functionUrl", "true or false", other)),
        };
        let allowed_origins = list(&get("allowedOrigins"));
        if let Some(bad) = allowed_origins
            .iter()
            .find(|o| !(o.starts_with("https://") || o.starts_with("http://")) || o.ends_with('/'))
        {
            return Err(invalid(
                "allowedOrigins",
                "a comma-separated list of origins like https://claude.ai (scheme, host, no path)",
                bad,
            ));
        }

        Ok(Settings {
            stack: stack.to_string(),
            region,
            api_key: api_key.clone(),
            client_key,
            architecture,
            memory_size: number("memorySize", &get("memorySize"), 128, 10_240)?,
            timeout: number("timeout", &get("timeout"), 1, 900)?,
            authorizer_memory_size: number(
                "authorizerMemorySize",
                &get("authorizerMemorySize"),
                128,
                10_240,
            )?,
            log_retention_days,
            log_level,
            throttling_rate_limit,
            throttling_burst_limit: number(
                "throttlingBurstLimit",
                &get("throttlingBurstLimit"),
                1,
                5_000,
            )?,
            authorizer_cache_ttl: number(
                "authorizerCacheTtl",
                &get("authorizerCacheTtl"),
                0,
                3600,
            )?,
            allowed_origins,
            allowed_hosts: list(&get("allowedHosts")),
            function_url,
        })
    }

    /// API Gateway's integration timeout cannot exceed 30 s, whatever the function's.
    pub fn integration_timeout_ms(&self) -> u32 {
        self.timeout.min(30) * 1000
    }
}

fn invalid(key: &'static str, expected: &str, value: &str) -> SettingsError {
    SettingsError::Invalid {
        key,
        expected: expected.to_string(),
        value: value.to_string(),
    }
}

fn number(key: &'static str, value: &str, min: u32, max: u32) -> Result<u32, SettingsError> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| invalid(key, &format!("a whole number from {min} to {max}"), value))
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Checks the secret value the function and authorizer will parse, and returns the key for
/// client configs. Never puts the key itself in an error.
fn check_api_key(value: &str) -> Result<String, SettingsError> {
    #[derive(serde::Deserialize)]
    struct Named {
        keys: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        id: String,
        key: String,
    }
    const MIN_LEN: usize = 16;
    let short = || {
        SettingsError::BadApiKey(format!(
            "is too short: use at least {MIN_LEN} characters (e.g. `openssl rand -hex 32`)"
        ))
    };
    let value = value.trim();
    if !value.starts_with('{') {
        if value.chars().count() < MIN_LEN {
            return Err(short());
        }
        if value.chars().any(char::is_whitespace) {
            return Err(SettingsError::BadApiKey(
                "contains whitespace; clients cannot send it in a header".into(),
            ));
        }
        return Ok(value.to_string());
    }
    let named: Named = serde_json::from_str(value).map_err(|e| {
        SettingsError::BadApiKey(format!(
            "looks like JSON but is not {{\"keys\": [{{\"id\": ..., \"key\": ...}}]}} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let first = named
        .keys
        .first()
        .ok_or_else(|| SettingsError::BadApiKey("has an empty `keys` list".into()))?;
    for entry in &named.keys {
        if entry.id.trim().is_empty() {
            return Err(SettingsError::BadApiKey(
                "has an entry without an id".into(),
            ));
        }
        if entry.key.trim().chars().count() < MIN_LEN {
            return Err(short());
        }
    }
    Ok(first.key.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123";

    fn config(pairs: &[(&str, &str)]) -> (HashMap<String, String>, HashSet<String>) {
        let mut map = HashMap::from([
            ("aws:region".to_string(), "eu-west-1".to_string()),
            (format!("{PROJECT}:apiKey"), KEY.to_string()),
        ]);
        for (k, v) in pairs {
            let key = if k.contains(':') {
                k.to_string()
            } else {
                format!("{PROJECT}:{k}")
            };
            map.insert(key, v.to_string());
        }
        (map, HashSet::from([format!("{PROJECT}:apiKey")]))
    }

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let (map, secrets) = config(pairs);
        Settings::from_config("dev", &map, &secrets)
    }

    #[test]
    fn defaults_apply() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(s.architecture, Architecture::Arm64);
        assert_eq!(
            (s.memory_size, s.timeout, s.authorizer_memory_size),
            (128, 30, 128)
        );
        assert_eq!((s.log_retention_days, s.log_level.as_str()), (14, "info"));
        assert_eq!(
            (s.throttling_rate_limit, s.throttling_burst_limit),
            (50.0, 100)
        );
        assert_eq!(s.authorizer_cache_ttl, 300);
        assert!(s.allowed_origins.is_empty() && s.allowed_hosts.is_empty() && s.function_url);
        assert_eq!(s.client_key, KEY);
        assert_eq!(s.integration_timeout_ms(), 30_000);
    }

    #[test]
    fn overrides_apply() {
        let s = settings(&[
            ("architecture", "x86_64"),
            ("memorySize", "512"),
            ("timeout", "120"),
            ("logRetentionDays", "30"),
            ("throttlingRateLimit", "2.5"),
            ("allowedOrigins", "https://claude.ai, http://localhost:6274"),
            ("functionUrl", "false"),
        ])
        .unwrap();
        assert_eq!(s.architecture, Architecture::X86_64);
        assert_eq!((s.memory_size, s.timeout), (512, 120));
        assert_eq!(s.integration_timeout_ms(), 30_000);
        assert_eq!(s.throttling_rate_limit, 2.5);
        assert_eq!(
            s.allowed_origins,
            ["https://claude.ai", "http://localhost:6274"]
        );
        assert!(!s.function_url);
    }

    #[test]
    fn api_key_must_be_set_secret_and_sound() {
        let (mut map, secrets) = config(&[]);
        assert_eq!(
            Settings::from_config("dev", &map, &HashSet::new()),
            Err(SettingsError::ApiKeyNotSecret)
        );
        map.remove(&format!("{PROJECT}:apiKey"));
        let err = Settings::from_config("dev", &map, &secrets).unwrap_err();
        assert_eq!(err, SettingsError::MissingApiKey);
        assert!(
            err.to_string()
                .contains("pulumi config set apiKey --secret")
        );
        for bad in [
            "tiny-key",
            "has white space in it ok",
            "{\"keys\": []}",
            "{not json",
        ] {
            let err = settings(&[("apiKey", bad)]).unwrap_err();
            assert!(matches!(err, SettingsError::BadApiKey(_)), "{bad}: {err}");
            assert!(!err.to_string().contains(bad), "the key leaked into {err}");
        }
        let named = format!(
            r#"{{"keys": [{{"id": "laptop", "key": "{KEY}"}}, {{"id": "ci", "key": "{KEY}x"}}]}}"#
        );
        assert_eq!(settings(&[("apiKey", &named)]).unwrap().client_key, KEY);
    }

    #[test]
    fn invalid_values_name_the_setting() {
        for (key, value) in [
            ("memorySize", "64"),
            ("memorySize", "lots"),
            ("timeout", "0"),
            ("timeout", "901"),
            ("architecture", "aarch64"),
            ("logRetentionDays", "10"),
            ("logLevel", "loud"),
            ("throttlingRateLimit", "-1"),
            ("throttlingBurstLimit", "0"),
            ("authorizerCacheTtl", "3601"),
            ("functionUrl", "yes"),
            ("allowedOrigins", "claude.ai"),
        ] {
            let err = settings(&[(key, value)]).unwrap_err();
            assert!(
                matches!(&err, SettingsError::Invalid { key: k, .. } if *k == key),
                "{key}={value}: {err}"
            );
            assert!(
                err.to_string()
                    .contains(&format!("pulumi config set {key}"))
            );
        }
    }

    #[test]
    fn unknown_settings_region_and_stack_names_are_refused() {
        let err = settings(&[("memroySize", "256")]).unwrap_err();
        assert_eq!(err, SettingsError::Unknown("memroySize".into()));
        assert!(err.to_string().contains("memorySize"));
        let (mut map, secrets) = config(&[]);
        map.remove("aws:region");
        assert_eq!(
            Settings::from_config("dev", &map, &secrets),
            Err(SettingsError::MissingRegion)
        );
        let (map, secrets) = config(&[]);
        assert!(matches!(
            Settings::from_config("my.stack", &map, &secrets),
            Err(SettingsError::BadStackName(_))
        ));
    }

    #[test]
    fn reads_the_language_host_environment() {
        let env = |name: &str| match name {
            "PULUMI_CONFIG" => Some(format!(
                r#"{{"aws:region": "us-east-2", "{PROJECT}:apiKey": "{KEY}", "{PROJECT}:memorySize": "256"}}"#
            )),
            "PULUMI_CONFIG_SECRET_KEYS" => Some(format!(r#"["{PROJECT}:apiKey"]"#)),
            "PULUMI_STACK" => Some("prod".into()),
            _ => None,
        };
        let s = Settings::from_pulumi_env(env).unwrap();
        assert_eq!(
            (s.stack.as_str(), s.region.as_str(), s.memory_size),
            ("prod", "us-east-2", 256)
        );
        let broken = |name: &str| (name == "PULUMI_CONFIG").then(|| "[1]".to_string());
        assert!(matches!(
            Settings::from_pulumi_env(broken),
            Err(SettingsError::BadEnvironment(_))
        ));
    }
}
