//! Stack settings: the Pulumi config (`pulumi config set ...`) read, defaulted and validated
//! before anything is registered, so a bad value stops the deploy with a message naming the
//! setting and the command that fixes it.

use std::collections::{HashMap, HashSet};

use thiserror::Error;

/// Pulumi project name: config keys are `serverless-mcp:<key>`.
pub const PROJECT: &str = "serverless-mcp";

/// The type a setting is declared with in `Pulumi.yaml` (Pulumi's project schema knows only
/// `string`, `integer`, `boolean`, `array` and `object`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingType {
    String,
    Integer,
    Boolean,
}

/// Every setting of the project with its type and default (`None` = no default), as declared
/// in `Pulumi.yaml`; a test keeps the two in step and validates the file against Pulumi's own
/// project schema.
pub const SETTINGS: &[(&str, SettingType, Option<&str>)] = &[
    ("apiKey", SettingType::String, None),
    ("architecture", SettingType::String, Some("arm64")),
    ("memorySize", SettingType::Integer, Some("128")),
    ("timeout", SettingType::Integer, Some("30")),
    ("authorizerMemorySize", SettingType::Integer, Some("128")),
    ("logRetentionDays", SettingType::Integer, Some("14")),
    ("logLevel", SettingType::String, Some("info")),
    ("throttlingRateLimit", SettingType::Integer, Some("50")),
    ("throttlingBurstLimit", SettingType::Integer, Some("100")),
    ("authorizerCacheTtl", SettingType::Integer, Some("300")),
    ("allowedOrigins", SettingType::String, Some("")),
    ("allowedHosts", SettingType::String, Some("")),
    ("functionUrl", SettingType::Boolean, Some("true")),
    (
        "streamingReservedConcurrency",
        SettingType::Integer,
        Some("-1"),
    ),
    ("secretRecoveryWindowDays", SettingType::Integer, Some("30")),
    ("customDomain", SettingType::String, Some("")),
    ("certificateArn", SettingType::String, Some("")),
    ("hostedZoneId", SettingType::String, Some("")),
    ("streamingCustomDomain", SettingType::String, Some("")),
    ("streamingCertificateArn", SettingType::String, Some("")),
    ("githubRepository", SettingType::String, Some("")),
    ("githubBranch", SettingType::String, Some("main")),
    ("githubEnvironment", SettingType::String, Some("")),
    ("githubSubject", SettingType::String, Some("")),
    ("githubOidcProviderArn", SettingType::String, Some("")),
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
    pub throttling_rate_limit: u32,
    pub throttling_burst_limit: u32,
    pub authorizer_cache_ttl: u32,
    pub allowed_origins: Vec<String>,
    pub allowed_hosts: Vec<String>,
    pub function_url: bool,
    /// Concurrency reserved for (and capping) the streaming function; `None`: no reservation.
    pub streaming_reserved_concurrency: Option<u32>,
    /// Days a deleted secret can be restored (0: deleted at once).
    pub secret_recovery_window_days: u32,
    /// The API Gateway endpoint's own domain.
    pub custom_domain: Option<Domain>,
    /// The streaming endpoint's own domain (CloudFront in front of the Function URL).
    pub streaming_domain: Option<Domain>,
    /// The Route 53 zone for the domains' alias records; without it, DNS is the user's.
    pub hosted_zone_id: Option<String>,
    /// A deploy role for GitHub Actions, trusted through GitHub's OIDC provider.
    pub github: Option<GitHubDeploy>,
}

/// A custom domain and its ACM certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    pub name: String,
    pub certificate_arn: String,
}

/// Who may assume the deploy role: one repository, on one branch or in one environment.
#[derive(Debug, Clone, PartialEq)]
pub struct GitHubDeploy {
    /// `owner/repo`.
    pub repository: String,
    /// The exact `sub` claim of the workflow's token, e.g. `repo:o/r:ref:refs/heads/main`.
    pub subject: String,
    /// An existing OIDC provider for token.actions.githubusercontent.com (one per account);
    /// `None`: the program creates it.
    pub provider_arn: Option<String>,
}

/// Where the GitHub Actions OIDC provider lives (it is the same for every account).
pub const GITHUB_OIDC_HOST: &str = "token.actions.githubusercontent.com";

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
        known = SETTINGS.iter().map(|(k, _, _)| *k).collect::<Vec<_>>().join(", ")
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
                && !SETTINGS.iter().any(|(k, _, _)| *k == key)
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
                        .find(|(k, _, _)| *k == key)
                        .and_then(|(_, _, d)| d.map(str::to_string))
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

        let streaming_reserved_concurrency = match get("streamingReservedConcurrency").trim() {
            "-1" => None,
            other => Some(
                number("streamingReservedConcurrency", other, 0, 100_000).map_err(|_| {
                    invalid(
                        "streamingReservedConcurrency",
                        "-1 (no reservation), 0 (stop the streaming endpoint) or a number of \
                         concurrent executions up to 100000",
                        other,
                    )
                })?,
            ),
        };
        let secret_recovery_window_days = number(
            "secretRecoveryWindowDays",
            &get("secretRecoveryWindowDays"),
            0,
            30,
        )
        .ok()
        .filter(|days| *days == 0 || *days >= 7)
        .ok_or_else(|| {
            invalid(
                "secretRecoveryWindowDays",
                "0 (delete at once) or 7 to 30 days",
                &get("secretRecoveryWindowDays"),
            )
        })?;
        let custom_domain = domain(
            ("customDomain", &get("customDomain")),
            ("certificateArn", &get("certificateArn")),
            &region,
        )?;
        let streaming_domain = domain(
            ("streamingCustomDomain", &get("streamingCustomDomain")),
            ("streamingCertificateArn", &get("streamingCertificateArn")),
            CLOUDFRONT_CERTIFICATE_REGION,
        )?;
        if streaming_domain.is_some() && !function_url {
            return Err(invalid(
                "streamingCustomDomain",
                "empty while functionUrl is false (there is no streaming endpoint to name)",
                &get("streamingCustomDomain"),
            ));
        }
        if let (Some(api), Some(streaming)) = (&custom_domain, &streaming_domain)
            && api.name == streaming.name
        {
            return Err(invalid(
                "streamingCustomDomain",
                "a different name from customDomain (one domain per endpoint)",
                &streaming.name,
            ));
        }
        let hosted_zone_id = match get("hostedZoneId").trim() {
            "" => None,
            zone => {
                let zone = zone.trim_start_matches("/hostedzone/");
                let valid = zone.starts_with('Z')
                    && zone.len() <= 32
                    && zone
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if !valid {
                    return Err(invalid(
                        "hostedZoneId",
                        "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ",
                        zone,
                    ));
                }
                if custom_domain.is_none() && streaming_domain.is_none() {
                    return Err(invalid(
                        "hostedZoneId",
                        "empty unless customDomain or streamingCustomDomain is set",
                        zone,
                    ));
                }
                Some(zone.to_string())
            }
        };
        let github = github_deploy(
            &get("githubRepository"),
            &get("githubBranch"),
            &get("githubEnvironment"),
            &get("githubSubject"),
            &get("githubOidcProviderArn"),
        )?;
        let throttling_rate_limit = number(
            "throttlingRateLimit",
            &get("throttlingRateLimit"),
            1,
            10_000,
        )?;

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
            streaming_reserved_concurrency,
            secret_recovery_window_days,
            custom_domain,
            streaming_domain,
            hosted_zone_id,
            github,
        })
    }

    /// API Gateway's integration timeout cannot exceed 30 s, whatever the function's.
    pub fn integration_timeout_ms(&self) -> u32 {
        self.timeout.min(30) * 1000
    }
}

/// CloudFront takes certificates from us-east-1 only, whatever the stack's region.
pub const CLOUDFRONT_CERTIFICATE_REGION: &str = "us-east-1";

/// A custom domain from its two settings: both empty (none), or a domain name and an ACM
/// certificate ARN in `certificate_region`.
fn domain(
    (domain_key, name): (&'static str, &str),
    (certificate_key, arn): (&'static str, &str),
    certificate_region: &str,
) -> Result<Option<Domain>, SettingsError> {
    let (name, arn) = (name.trim().to_ascii_lowercase(), arn.trim());
    match (name.is_empty(), arn.is_empty()) {
        (true, true) => return Ok(None),
        (true, false) => {
            return Err(invalid(
                certificate_key,
                &format!("empty unless {domain_key} is set"),
                arn,
            ));
        }
        (false, _) => {}
    }
    let labels: Vec<&str> = name.split('.').collect();
    let valid_name = name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if !valid_name {
        return Err(invalid(
            domain_key,
            "a domain name such as mcp.example.com (no scheme, path or wildcard)",
            &name,
        ));
    }
    if arn.is_empty() {
        return Err(invalid(
            certificate_key,
            &format!("the ARN of an ACM certificate for {name} in {certificate_region}"),
            arn,
        ));
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid_arn = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "acm"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix("certificate/")
            .is_some_and(|id| !id.is_empty());
    if !valid_arn {
        return Err(invalid(
            certificate_key,
            "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
            arn,
        ));
    }
    if parts[3] != certificate_region {
        return Err(invalid(
            certificate_key,
            &format!(
                "a certificate in {certificate_region} (this one is in {}); request or import it there",
                parts[3]
            ),
            arn,
        ));
    }
    Ok(Some(Domain {
        name,
        certificate_arn: arn.to_string(),
    }))
}

/// The GitHub deploy role's settings: none without a repository.
fn github_deploy(
    repository: &str,
    branch: &str,
    environment: &str,
    subject: &str,
    provider_arn: &str,
) -> Result<Option<GitHubDeploy>, SettingsError> {
    let (repository, branch, environment, subject, provider_arn) = (
        repository.trim(),
        branch.trim(),
        environment.trim(),
        subject.trim(),
        provider_arn.trim(),
    );
    if repository.is_empty() {
        if !environment.is_empty() || !subject.is_empty() || !provider_arn.is_empty() {
            return Err(invalid(
                "githubRepository",
                "owner/repo when githubEnvironment, githubSubject or githubOidcProviderArn is set",
                repository,
            ));
        }
        return Ok(None);
    }
    // The characters GitHub allows in owner, repository, branch and environment names that
    // can also appear in an exact `sub` match (no wildcards: the trust is pinned).
    let plain = |text: &str, extra: &[u8]| {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b) || extra.contains(&b))
    };
    let valid_repository = repository
        .split_once('/')
        .is_some_and(|(owner, repo)| plain(owner, b"") && plain(repo, b""));
    if !valid_repository {
        return Err(invalid(
            "githubRepository",
            "owner/repo, e.g. octo-org/serverless-mcp",
            repository,
        ));
    }
    let subject = if !subject.is_empty() {
        // Verbatim, for repositories whose tokens carry GitHub's newer `sub` form (owner and
        // repository ids, custom claim templates). Still exact: no wildcards.
        let valid = subject.starts_with("repo:")
            && !subject.contains(['*', '?'])
            && subject.split(':').count() >= 3;
        if !valid {
            return Err(invalid(
                "githubSubject",
                "the exact `sub` claim of the workflow's token, e.g. \
                 repo:octo-org/serverless-mcp:environment:production (no wildcards)",
                subject,
            ));
        }
        subject.to_string()
    } else if environment.is_empty() {
        if !plain(branch, b"/") {
            return Err(invalid(
                "githubBranch",
                "a branch name such as main (no wildcards)",
                branch,
            ));
        }
        format!("repo:{repository}:ref:refs/heads/{branch}")
    } else {
        if !plain(environment, b" ") {
            return Err(invalid(
                "githubEnvironment",
                "a GitHub environment name such as production",
                environment,
            ));
        }
        format!("repo:{repository}:environment:{environment}")
    };
    let provider_arn = match provider_arn {
        "" => None,
        arn => {
            let valid = arn
                .strip_prefix("arn:aws:iam::")
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(account, resource)| {
                    account.len() == 12
                        && account.bytes().all(|b| b.is_ascii_digit())
                        && resource == format!("oidc-provider/{GITHUB_OIDC_HOST}")
                });
            if !valid {
                return Err(invalid(
                    "githubOidcProviderArn",
                    &format!("arn:aws:iam::<account>:oidc-provider/{GITHUB_OIDC_HOST}"),
                    arn,
                ));
            }
            Some(arn.to_string())
        }
    };
    Ok(Some(GitHubDeploy {
        repository: repository.to_string(),
        subject,
        provider_arn,
    }))
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
            (50, 100)
        );
        assert_eq!(s.streaming_reserved_concurrency, None);
        assert_eq!(s.secret_recovery_window_days, 30);
        assert!(s.custom_domain.is_none() && s.streaming_domain.is_none());
        assert!(s.hosted_zone_id.is_none() && s.github.is_none());
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
            ("throttlingRateLimit", "25"),
            ("allowedOrigins", "https://claude.ai, http://localhost:6274"),
            ("functionUrl", "false"),
        ])
        .unwrap();
        assert_eq!(s.architecture, Architecture::X86_64);
        assert_eq!((s.memory_size, s.timeout), (512, 120));
        assert_eq!(s.integration_timeout_ms(), 30_000);
        assert_eq!(s.throttling_rate_limit, 25);
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
            ("throttlingRateLimit", "2.5"),
            ("streamingReservedConcurrency", "-2"),
            ("streamingReservedConcurrency", "many"),
            ("secretRecoveryWindowDays", "3"),
            ("secretRecoveryWindowDays", "31"),
            ("customDomain", "https://mcp.example.com"),
            ("certificateArn", CERT),
            ("hostedZoneId", "Z0123456789"),
            ("githubRepository", "not-a-repo"),
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

    const CERT: &str = "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e-11";
    const EDGE_CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/0f0e-12";

    #[test]
    fn custom_domains_need_their_certificates_in_the_right_region() {
        let s = settings(&[
            ("customDomain", "MCP.Example.com"),
            ("certificateArn", CERT),
            ("streamingCustomDomain", "stream.example.com"),
            ("streamingCertificateArn", EDGE_CERT),
            ("hostedZoneId", "/hostedzone/Z0123456789ABC"),
        ])
        .unwrap();
        assert_eq!(
            s.custom_domain,
            Some(Domain {
                name: "mcp.example.com".into(),
                certificate_arn: CERT.into()
            })
        );
        assert_eq!(s.streaming_domain.unwrap().certificate_arn, EDGE_CERT);
        assert_eq!(s.hosted_zone_id.as_deref(), Some("Z0123456789ABC"));

        for (pairs, key, says) in [
            (
                vec![("customDomain", "mcp.example.com")],
                "certificateArn",
                "ACM certificate",
            ),
            (
                vec![
                    ("customDomain", "mcp.example.com"),
                    ("certificateArn", EDGE_CERT),
                ],
                "certificateArn",
                "in eu-west-1",
            ),
            (
                vec![
                    ("streamingCustomDomain", "s.example.com"),
                    ("streamingCertificateArn", CERT),
                ],
                "streamingCertificateArn",
                "in us-east-1",
            ),
            (
                vec![
                    ("streamingCustomDomain", "s.example.com"),
                    ("streamingCertificateArn", EDGE_CERT),
                    ("functionUrl", "false"),
                ],
                "streamingCustomDomain",
                "functionUrl is false",
            ),
            (
                vec![
                    ("customDomain", "same.example.com"),
                    ("certificateArn", CERT),
                    ("streamingCustomDomain", "same.example.com"),
                    ("streamingCertificateArn", EDGE_CERT),
                ],
                "streamingCustomDomain",
                "different name",
            ),
            (
                vec![("customDomain", "*.example.com"), ("certificateArn", CERT)],
                "customDomain",
                "domain name",
            ),
        ] {
            let err = settings(&pairs).unwrap_err();
            assert!(
                matches!(&err, SettingsError::Invalid { key: k, .. } if *k == key)
                    && err.to_string().contains(says),
                "{pairs:?}: {err}"
            );
        }
    }

    #[test]
    fn github_trust_is_pinned_to_one_branch_or_environment() {
        let s = settings(&[("githubRepository", "octo-org/serverless-mcp")]).unwrap();
        let github = s.github.unwrap();
        assert_eq!(
            github.subject,
            "repo:octo-org/serverless-mcp:ref:refs/heads/main"
        );
        assert_eq!(github.provider_arn, None);
        let provider =
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
        let s = settings(&[
            ("githubRepository", "octo-org/serverless-mcp"),
            ("githubEnvironment", "production"),
            ("githubOidcProviderArn", provider),
        ])
        .unwrap();
        let github = s.github.unwrap();
        assert_eq!(
            github.subject,
            "repo:octo-org/serverless-mcp:environment:production"
        );
        assert_eq!(github.provider_arn.as_deref(), Some(provider));
        let orphan = settings(&[("githubEnvironment", "production")]).unwrap_err();
        assert!(
            matches!(
                &orphan,
                SettingsError::Invalid {
                    key: "githubRepository",
                    ..
                }
            ),
            "{orphan}"
        );
        let newer = "repo:octo-org@1234/serverless-mcp@5678:ref:refs/heads/main";
        let s = settings(&[
            ("githubRepository", "octo-org/serverless-mcp"),
            ("githubSubject", newer),
        ])
        .unwrap();
        assert_eq!(s.github.unwrap().subject, newer);
        for (key, value) in [
            ("githubBranch", "release/*"),
            ("githubRepository", "octo-org/*"),
            (
                "githubOidcProviderArn",
                "arn:aws:iam::123456789012:oidc-provider/example.com",
            ),
            ("githubSubject", "repo:octo-org/*"),
        ] {
            let mut pairs = vec![("githubRepository", "octo-org/serverless-mcp")];
            pairs.retain(|(k, _)| *k != key);
            pairs.push((key, value));
            let err = settings(&pairs).unwrap_err();
            assert!(
                matches!(&err, SettingsError::Invalid { key: k, .. } if *k == key),
                "{key}={value}: {err}"
            );
        }
    }

    #[test]
    fn reserved_concurrency_and_recovery_window() {
        let s = settings(&[
            ("streamingReservedConcurrency", "25"),
            ("secretRecoveryWindowDays", "0"),
        ])
        .unwrap();
        assert_eq!(s.streaming_reserved_concurrency, Some(25));
        assert_eq!(s.secret_recovery_window_days, 0);
        let stopped = settings(&[("streamingReservedConcurrency", "0")]).unwrap();
        assert_eq!(stopped.streaming_reserved_concurrency, Some(0));
        assert_eq!(
            settings(&[("secretRecoveryWindowDays", "7")])
                .unwrap()
                .secret_recovery_window_days,
            7
        );
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
