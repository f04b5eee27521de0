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
    ("authMode", SettingType::String, Some("apiKey")),
    ("cognitoUserPoolId", SettingType::String, Some("")),
    ("cognitoDomainPrefix", SettingType::String, Some("")),
    (
        "cognitoIdentityProviders",
        SettingType::String,
        Some(COGNITO_PROVIDER),
    ),
    ("oauthSigningKey", SettingType::String, None),
    ("oauthClients", SettingType::String, Some("")),
    ("oauthRedirectUris", SettingType::String, Some("")),
    (
        "oauthAccessTokenSeconds",
        SettingType::Integer,
        Some("3600"),
    ),
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
    ("alarms", SettingType::Boolean, Some("false")),
    ("alarmEmail", SettingType::String, Some("")),
    ("alarmTopicArn", SettingType::String, Some("")),
    ("alarmDenialsThreshold", SettingType::Integer, Some("100")),
    ("dashboard", SettingType::Boolean, Some("false")),
];

/// The pool's own users, as Cognito names them among an app client's identity providers.
pub const COGNITO_PROVIDER: &str = "COGNITO";
/// At most this many identity providers on the app client.
const MAX_IDENTITY_PROVIDERS: usize = 10;

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

/// How clients authenticate: API keys (today's behaviour), OAuth (the function's own
/// authorization server, Cognito behind it), or both side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    ApiKey,
    OAuth,
    Both,
}

impl AuthMode {
    /// The value of `MCP_AUTH_MODE` the function and the authorizer read.
    pub fn env_value(self) -> &'static str {
        match self {
            AuthMode::ApiKey => "api-key",
            AuthMode::OAuth => "oauth",
            AuthMode::Both => "both",
        }
    }

    pub fn accepts_api_keys(self) -> bool {
        self != AuthMode::OAuth
    }

    pub fn accepts_oauth(self) -> bool {
        self != AuthMode::ApiKey
    }
}

/// The stage's API keys (modes `apiKey` and `both`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    /// The secret's value: one key, or `{"keys": [{"id", "key"}, ...]}`.
    pub secret_value: String,
    /// The key written into client configs (the plain key, or the first named one).
    pub client_key: String,
}

/// The OAuth facade's settings (modes `oauth` and `both`).
#[derive(Debug, Clone, PartialEq)]
pub struct OAuth {
    /// An existing user pool; `None`: the program creates one.
    pub user_pool_id: Option<String>,
    /// The managed login domain: `https://<prefix>.auth.<region>.amazoncognito.com`.
    pub domain_prefix: String,
    /// The app client's identity providers: `COGNITO` (the pool's own users) and/or the names
    /// of providers federated into the pool (`create-identity-provider --provider-name`).
    pub identity_providers: Vec<String>,
    /// Base64, at least 32 bytes once decoded: the seed of the facade's sealing and signing keys.
    pub signing_key: String,
    /// Pre-registered clients, as compact JSON (`MCP_OAUTH_CLIENTS`).
    pub clients: Option<String>,
    /// Redirect-URI patterns DCR and CIMD clients must match (`MCP_OAUTH_REDIRECT_URIS`).
    pub redirect_uris: Vec<String>,
    pub access_token_seconds: u32,
}

impl OAuth {
    /// Cognito's OAuth base URL for this stage (`MCP_OAUTH_COGNITO_URL`).
    pub fn cognito_url(&self, region: &str) -> String {
        format!(
            "https://{}.auth.{region}.amazoncognito.com",
            self.domain_prefix
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub stack: String,
    pub region: String,
    pub auth_mode: AuthMode,
    /// Set in modes `apiKey` and `both`; `oauth` deploys no key at all (see the README).
    pub api_key: Option<ApiKey>,
    /// Set in modes `oauth` and `both`.
    pub oauth: Option<OAuth>,
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
    /// CloudWatch alarms on the stage and where they notify; `None`: no alarms.
    pub alarms: Option<Alarms>,
    /// A CloudWatch dashboard of the stage.
    pub dashboard: bool,
}

/// The stage's alarms (`alarms: true`).
#[derive(Debug, Clone, PartialEq)]
pub struct Alarms {
    pub topic: AlarmTopic,
    /// Denied requests in 5 minutes from which the authorizer's denial alarm fires.
    pub denials_threshold: u32,
}

/// The SNS topic the alarms notify.
#[derive(Debug, Clone, PartialEq)]
pub enum AlarmTopic {
    /// An existing topic (`alarmTopicArn`).
    Existing(String),
    /// A topic of the stage's own, with an email subscription when `alarmEmail` is set.
    Create { email: Option<String> },
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
        "oauthSigningKey is not set (authMode {0} needs it). Set it (encrypted) with:\n  \
         pulumi config set oauthSigningKey --secret \"$(openssl rand -base64 32)\""
    )]
    MissingSigningKey(&'static str),
    #[error(
        "oauthSigningKey is stored in plain text in the stack config. Store it encrypted instead:\n  \
         pulumi config rm oauthSigningKey && \
         pulumi config set oauthSigningKey --secret \"$(openssl rand -base64 32)\""
    )]
    SigningKeyNotSecret,
    #[error(
        "oauthSigningKey {0}. Generate a new one with:\n  \
         pulumi config set oauthSigningKey --secret \"$(openssl rand -base64 32)\""
    )]
    BadSigningKey(String),
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

        let auth_mode = match get("authMode").trim() {
            "apiKey" => AuthMode::ApiKey,
            "oauth" => AuthMode::OAuth,
            "both" => AuthMode::Both,
            other => return Err(invalid("authMode", "apiKey, oauth or both", other)),
        };
        // `oauth` deploys no API key: an endpoint that should only take OAuth tokens must not
        // open for a key left over in the config, so the key is not even read.
        let api_key = if auth_mode.accepts_api_keys() {
            Some(api_key_setting(config, secret_keys)?)
        } else {
            None
        };

        let region = config
            .get("aws:region")
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .ok_or(SettingsError::MissingRegion)?;
        let oauth = if auth_mode.accepts_oauth() {
            Some(oauth_settings(
                &get,
                config,
                secret_keys,
                stack,
                &region,
                auth_mode,
            )?)
        } else {
            None
        };

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
        let alarms = alarm_settings(&get)?;
        let dashboard = boolean("dashboard", &get("dashboard"))?;
        let throttling_rate_limit = number(
            "throttlingRateLimit",
            &get("throttlingRateLimit"),
            1,
            10_000,
        )?;

        Ok(Settings {
            stack: stack.to_string(),
            region,
            auth_mode,
            api_key,
            oauth,
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
            alarms,
            dashboard,
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

/// The API key: required, stored with `--secret`, and sound.
fn api_key_setting(
    config: &HashMap<String, String>,
    secret_keys: &HashSet<String>,
) -> Result<ApiKey, SettingsError> {
    let name = format!("{PROJECT}:apiKey");
    let value = config.get(&name).ok_or(SettingsError::MissingApiKey)?;
    if !secret_keys.contains(&name) {
        return Err(SettingsError::ApiKeyNotSecret);
    }
    Ok(ApiKey {
        secret_value: value.clone(),
        client_key: check_api_key(value)?,
    })
}

/// The OAuth settings of an `oauth` or `both` stage.
fn oauth_settings(
    get: &dyn Fn(&str) -> String,
    config: &HashMap<String, String>,
    secret_keys: &HashSet<String>,
    stack: &str,
    region: &str,
    mode: AuthMode,
) -> Result<OAuth, SettingsError> {
    let user_pool_id = user_pool_id(&get("cognitoUserPoolId"), region)?;
    let domain_prefix = domain_prefix(&get("cognitoDomainPrefix"), stack, user_pool_id.is_some())?;
    let name = format!("{PROJECT}:oauthSigningKey");
    let mode_name = match mode {
        AuthMode::Both => "both",
        _ => "oauth",
    };
    let signing_key = config
        .get(&name)
        .ok_or(SettingsError::MissingSigningKey(mode_name))?;
    if !secret_keys.contains(&name) {
        return Err(SettingsError::SigningKeyNotSecret);
    }
    check_signing_key(signing_key)?;
    Ok(OAuth {
        user_pool_id,
        domain_prefix,
        identity_providers: identity_providers(&get("cognitoIdentityProviders"))?,
        signing_key: signing_key.trim().to_string(),
        clients: oauth_clients(&get("oauthClients"))?,
        redirect_uris: redirect_patterns(&get("oauthRedirectUris"))?,
        access_token_seconds: number(
            "oauthAccessTokenSeconds",
            &get("oauthAccessTokenSeconds"),
            60,
            86_400,
        )?,
    })
}

/// An existing pool's id (`<region>_<id>`), which must live in the stack's region: the app
/// client and resource server are created beside it, and the function talks to its domain.
fn user_pool_id(value: &str, region: &str) -> Result<Option<String>, SettingsError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let valid = value.split_once('_').is_some_and(|(pool_region, id)| {
        pool_region == region && !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if !valid {
        return Err(invalid(
            "cognitoUserPoolId",
            &format!(
                "the id of a user pool in {region}, such as {region}_AbCdEf123 (or empty to create one)"
            ),
            value,
        ));
    }
    Ok(Some(value.to_string()))
}

/// The managed login domain's prefix: given, or `serverless-mcp-<stack>` for a pool the program
/// creates. An existing pool keeps its own domain, so its prefix must be given.
fn domain_prefix(value: &str, stack: &str, existing_pool: bool) -> Result<String, SettingsError> {
    let given = value.trim();
    if given.is_empty() && existing_pool {
        return Err(invalid(
            "cognitoDomainPrefix",
            "the prefix of the existing pool's domain when cognitoUserPoolId is set \
             (aws cognito-idp describe-user-pool --user-pool-id <id> --query UserPool.Domain)",
            given,
        ));
    }
    let prefix = if given.is_empty() {
        format!("{PROJECT}-{stack}")
            .to_ascii_lowercase()
            .replace('_', "-")
    } else {
        given.to_string()
    };
    if !valid_domain_prefix(&prefix) {
        let expected = "a Cognito domain prefix: 1 to 63 lowercase letters, digits and hyphens, \
                        no hyphen first or last, without \"aws\", \"amazon\" or \"cognito\"";
        let expected = if given.is_empty() {
            format!("{expected} (the default derived from the stack name is not one; set one)")
        } else {
            expected.to_string()
        };
        return Err(invalid("cognitoDomainPrefix", &expected, &prefix));
    }
    Ok(prefix)
}

/// The app client's identity providers: comma-separated, each `COGNITO` or the name of a
/// provider already in the pool. Cognito's pattern for a provider name
/// (`[^_\p{Z}][\p{L}\p{M}\p{S}\p{N}\p{P}][^_\p{Z}]+`, 1 to 32 characters) is approximated:
/// no whitespace or control characters, no leading underscore. That the providers exist is
/// Cognito's to check: it refuses an app client naming an unknown one.
fn identity_providers(value: &str) -> Result<Vec<String>, SettingsError> {
    let expected = format!(
        "a comma-separated list of 1 to {MAX_IDENTITY_PROVIDERS} distinct identity provider names \
         of the user pool: {COGNITO_PROVIDER} (the pool's own users) and/or providers added with \
         `aws cognito-idp create-identity-provider --user-pool-id <pool> --provider-name AcmeSSO \
         ...`, each 1 to 32 characters without whitespace and not starting with _, e.g. \
         `pulumi config set cognitoIdentityProviders {COGNITO_PROVIDER},AcmeSSO`"
    );
    let names: Vec<&str> = value.split(',').map(str::trim).collect();
    let mut seen = HashSet::new();
    for name in &names {
        let sound = (1..=32).contains(&name.chars().count())
            && !name.starts_with('_')
            && !name.chars().any(|c| c.is_whitespace() || c.is_control());
        if !sound {
            return Err(invalid("cognitoIdentityProviders", &expected, value));
        }
        if !seen.insert(*name) {
            return Err(invalid(
                "cognitoIdentityProviders",
                &format!("{expected} ({name} is listed twice)"),
                value,
            ));
        }
    }
    if names.len() > MAX_IDENTITY_PROVIDERS {
        return Err(invalid(
            "cognitoIdentityProviders",
            &format!("{expected} ({} are listed)", names.len()),
            value,
        ));
    }
    Ok(names.into_iter().map(str::to_string).collect())
}

/// Cognito's rules for a prefix domain (`CreateUserPoolDomain`: `^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$`),
/// and its reserved words.
fn valid_domain_prefix(prefix: &str) -> bool {
    (1..=63).contains(&prefix.len())
        && !prefix.starts_with('-')
        && !prefix.ends_with('-')
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !["aws", "amazon", "cognito"]
            .iter()
            .any(|word| prefix.contains(word))
}

/// The facade's key seed must decode to at least 32 bytes, as the function decodes it: padded
/// standard base64 (what `openssl rand -base64` writes) or unpadded base64url. Never puts the
/// key in an error.
fn check_signing_key(value: &str) -> Result<(), SettingsError> {
    const MIN_BYTES: usize = 32;
    let bytes = base64_len(value.trim()).ok_or_else(|| {
        SettingsError::BadSigningKey(
            "is not base64 (padded standard base64, or base64url without padding)".into(),
        )
    })?;
    if bytes < MIN_BYTES {
        return Err(SettingsError::BadSigningKey(format!(
            "decodes to {bytes} bytes; it needs at least {MIN_BYTES}"
        )));
    }
    Ok(())
}

/// The number of bytes `text` decodes to, or `None` when it is neither padded standard base64
/// nor unpadded base64url. Only the length matters here; the function decodes the key itself.
fn base64_len(text: &str) -> Option<usize> {
    let data = text.trim_end_matches('=');
    let padding = text.len() - data.len();
    let standard = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let url_safe = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let padded_standard =
        text.len().is_multiple_of(4) && padding <= 2 && data.bytes().all(standard);
    let unpadded_url_safe = padding == 0 && data.bytes().all(url_safe);
    let valid = !data.is_empty() && data.len() % 4 != 1 && (padded_standard || unpadded_url_safe);
    valid.then(|| data.len() * 3 / 4)
}

/// Lambda allows 4 KB of environment in all: the clients list gets at most half of it.
const MAX_CLIENTS_JSON: usize = 2048;

/// Pre-registered clients: a JSON array of `{client_id, client_name?, redirect_uris}`, checked
/// here and passed on compact.
fn oauth_clients(value: &str) -> Result<Option<String>, SettingsError> {
    #[derive(serde::Deserialize, serde::Serialize)]
    #[serde(deny_unknown_fields)]
    struct Client {
        client_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_name: Option<String>,
        redirect_uris: Vec<String>,
    }
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let expected = r#"a JSON array of {"client_id": "...", "client_name": "...", "redirect_uris": ["..."]} (client_name optional)"#;
    let clients: Vec<Client> =
        serde_json::from_str(value).map_err(|_| invalid("oauthClients", expected, value))?;
    let mut ids = HashSet::new();
    for client in &clients {
        let sound = !client.client_id.trim().is_empty()
            && ids.insert(client.client_id.as_str())
            && !client.redirect_uris.is_empty()
            && client.redirect_uris.iter().all(|uri| redirect_uri(uri));
        if !sound {
            return Err(invalid(
                "oauthClients",
                &format!(
                    "{expected}, each with a unique non-empty client_id and at least one absolute \
                     redirect URI without a fragment"
                ),
                &client.client_id,
            ));
        }
    }
    let compact = serde_json::to_string(&clients).expect("clients serialize");
    if compact.len() > MAX_CLIENTS_JSON {
        return Err(invalid(
            "oauthClients",
            &format!(
                "at most {MAX_CLIENTS_JSON} bytes of JSON (Lambda's environment is 4 KB in all)"
            ),
            &format!("{} bytes", compact.len()),
        ));
    }
    Ok(Some(compact))
}

/// Comma-separated redirect-URI patterns (`*` = any run of characters), each absolute.
fn redirect_patterns(value: &str) -> Result<Vec<String>, SettingsError> {
    let patterns = list(value);
    if let Some(bad) = patterns.iter().find(|p| !redirect_uri(p)) {
        return Err(invalid(
            "oauthRedirectUris",
            "comma-separated absolute URI patterns such as https://claude.ai/api/mcp/auth_callback \
             or http://127.0.0.1:*/callback (`*` matches any run of characters)",
            bad,
        ));
    }
    Ok(patterns)
}

/// An absolute URI (a scheme, then something), with no fragment or whitespace.
fn redirect_uri(uri: &str) -> bool {
    let scheme_ok = uri.split_once(':').is_some_and(|(scheme, rest)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !rest.is_empty()
    });
    scheme_ok && !uri.contains('#') && !uri.chars().any(char::is_whitespace)
}

fn invalid(key: &'static str, expected: &str, value: &str) -> SettingsError {
    SettingsError::Invalid {
        key,
        expected: expected.to_string(),
        value: value.to_string(),
    }
}

fn boolean(key: &'static str, value: &str) -> Result<bool, SettingsError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(invalid(key, "true or false", other)),
    }
}

/// `alarms`, `alarmEmail`, `alarmTopicArn`, `alarmDenialsThreshold`: no alarms, or alarms
/// notifying an existing topic or a new one (with an email subscription when an address is
/// given; AWS mails it a confirmation link first).
fn alarm_settings(get: &impl Fn(&str) -> String) -> Result<Option<Alarms>, SettingsError> {
    let on = boolean("alarms", &get("alarms"))?;
    let email = get("alarmEmail").trim().to_string();
    let topic_arn = get("alarmTopicArn").trim().to_string();
    let denials_threshold = number(
        "alarmDenialsThreshold",
        &get("alarmDenialsThreshold"),
        1,
        1_000_000,
    )?;
    if !on {
        for (key, value) in [("alarmEmail", &email), ("alarmTopicArn", &topic_arn)] {
            if !value.is_empty() {
                return Err(invalid(key, "empty unless alarms is true", value));
            }
        }
        return Ok(None);
    }
    let topic = match (topic_arn.is_empty(), email.is_empty()) {
        (true, true) => AlarmTopic::Create { email: None },
        (true, false) => {
            let valid = email.split_once('@').is_some_and(|(user, domain)| {
                !user.is_empty() && domain.contains('.') && !domain.contains('@')
            }) && !email.contains(char::is_whitespace);
            if !valid {
                return Err(invalid("alarmEmail", "an email address", &email));
            }
            AlarmTopic::Create { email: Some(email) }
        }
        (false, true) => {
            let parts: Vec<&str> = topic_arn.split(':').collect();
            let valid = parts.len() == 6
                && parts[0] == "arn"
                && parts[2] == "sns"
                && parts.iter().all(|p| !p.is_empty());
            if !valid {
                return Err(invalid(
                    "alarmTopicArn",
                    "an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:alerts",
                    &topic_arn,
                ));
            }
            AlarmTopic::Existing(topic_arn)
        }
        (false, false) => {
            return Err(invalid(
                "alarmEmail",
                "empty when alarmTopicArn is set (subscribe the address to that topic)",
                &email,
            ));
        }
    };
    Ok(Some(Alarms {
        topic,
        denials_threshold,
    }))
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
        assert_eq!(s.auth_mode, AuthMode::ApiKey);
        assert_eq!(s.api_key.as_ref().unwrap().client_key, KEY);
        assert!(s.oauth.is_none());
        assert_eq!(s.integration_timeout_ms(), 30_000);
        assert!(s.alarms.is_none() && !s.dashboard, "monitoring is opt-in");
    }

    #[test]
    fn alarms_notify_a_new_topic_an_address_or_an_existing_topic() {
        let s = settings(&[("alarms", "true"), ("dashboard", "true")]).unwrap();
        let created = Alarms {
            topic: AlarmTopic::Create { email: None },
            denials_threshold: 100,
        };
        assert_eq!(s.alarms, Some(created));
        assert!(s.dashboard);
        let s = settings(&[
            ("alarms", "true"),
            ("alarmEmail", " ops@example.com "),
            ("alarmDenialsThreshold", "20"),
        ])
        .unwrap();
        let mailed = Alarms {
            topic: AlarmTopic::Create {
                email: Some("ops@example.com".into()),
            },
            denials_threshold: 20,
        };
        assert_eq!(s.alarms, Some(mailed));
        let arn = "arn:aws:sns:eu-west-1:123456789012:alerts";
        let s = settings(&[("alarms", "true"), ("alarmTopicArn", arn)]).unwrap();
        assert_eq!(s.alarms.unwrap().topic, AlarmTopic::Existing(arn.into()));
    }

    #[test]
    fn alarm_settings_are_checked() {
        let arn = "arn:aws:sns:eu-west-1:123456789012:alerts";
        for (pairs, key) in [
            (vec![("alarms", "yes")], "alarms"),
            (vec![("dashboard", "1")], "dashboard"),
            (vec![("alarmEmail", "ops@example.com")], "alarmEmail"),
            (vec![("alarmTopicArn", arn)], "alarmTopicArn"),
            (
                vec![("alarms", "true"), ("alarmEmail", "ops")],
                "alarmEmail",
            ),
            (
                vec![("alarms", "true"), ("alarmEmail", "a b@example.com")],
                "alarmEmail",
            ),
            (
                vec![
                    ("alarms", "true"),
                    ("alarmTopicArn", "arn:aws:sqs:eu-west-1:1:q"),
                ],
                "alarmTopicArn",
            ),
            (
                vec![
                    ("alarms", "true"),
                    ("alarmTopicArn", arn),
                    ("alarmEmail", "ops@example.com"),
                ],
                "alarmEmail",
            ),
            (
                vec![("alarmDenialsThreshold", "0")],
                "alarmDenialsThreshold",
            ),
        ] {
            match settings(&pairs) {
                Err(SettingsError::Invalid { key: k, .. }) => assert_eq!(k, key, "{pairs:?}"),
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
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
        assert_eq!(
            settings(&[("apiKey", &named)])
                .unwrap()
                .api_key
                .unwrap()
                .client_key,
            KEY
        );
    }

    /// `openssl rand -base64 32`-shaped: 44 characters, 32 bytes.
    const SIGNING_KEY: &str = "q1Cx3m6TJg3y0bF5rQh0nJ9xw2S0m1eYzqH0c8wJbXU=";

    /// An OAuth stage's config: the mode and a secret signing key, then `pairs`.
    fn oauth_settings_of(mode: &str, pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let (mut map, mut secrets) = config(&[("authMode", mode)]);
        map.insert(format!("{PROJECT}:oauthSigningKey"), SIGNING_KEY.into());
        secrets.insert(format!("{PROJECT}:oauthSigningKey"));
        for (k, v) in pairs {
            map.insert(format!("{PROJECT}:{k}"), v.to_string());
        }
        Settings::from_config("dev", &map, &secrets)
    }

    #[test]
    fn oauth_mode_defaults_and_needs_no_api_key() {
        let (mut map, mut secrets) = config(&[("authMode", "oauth")]);
        map.remove(&format!("{PROJECT}:apiKey"));
        secrets.clear();
        map.insert(format!("{PROJECT}:oauthSigningKey"), SIGNING_KEY.into());
        secrets.insert(format!("{PROJECT}:oauthSigningKey"));
        let s = Settings::from_config("dev", &map, &secrets).unwrap();
        assert_eq!(s.auth_mode, AuthMode::OAuth);
        assert_eq!(s.auth_mode.env_value(), "oauth");
        assert!(s.api_key.is_none(), "oauth deploys no key");
        let oauth = s.oauth.unwrap();
        assert_eq!(oauth.user_pool_id, None);
        assert_eq!(oauth.domain_prefix, "serverless-mcp-dev");
        assert_eq!(oauth.identity_providers, ["COGNITO"]);
        assert_eq!(
            oauth.cognito_url("eu-west-1"),
            "https://serverless-mcp-dev.auth.eu-west-1.amazoncognito.com"
        );
        assert_eq!(oauth.signing_key, SIGNING_KEY);
        assert_eq!((oauth.clients, oauth.redirect_uris.len()), (None, 0));
        assert_eq!(oauth.access_token_seconds, 3600);
        // A key left in the config is ignored, not deployed.
        let s = oauth_settings_of("oauth", &[]).unwrap();
        assert!(s.api_key.is_none());
    }

    #[test]
    fn both_mode_needs_the_api_key_and_the_signing_key() {
        let s = oauth_settings_of(
            "both",
            &[
                ("cognitoUserPoolId", "eu-west-1_AbC123"),
                ("cognitoDomainPrefix", "acme-mcp"),
                ("cognitoIdentityProviders", " COGNITO, AcmeSSO ,Okta-Prod.eu"),
                (
                    "oauthClients",
                    r#"[ {"client_id": "ci", "redirect_uris": ["https://ci.example.com/cb"]},
                         {"client_id": "x", "client_name": "X", "redirect_uris": ["cursor://cb"]} ]"#,
                ),
                (
                    "oauthRedirectUris",
                    "https://claude.ai/api/mcp/auth_callback, http://127.0.0.1:*/callback",
                ),
                ("oauthAccessTokenSeconds", "600"),
            ],
        )
        .unwrap();
        assert_eq!(
            (s.auth_mode, s.auth_mode.env_value()),
            (AuthMode::Both, "both")
        );
        assert_eq!(s.api_key.unwrap().client_key, KEY);
        let oauth = s.oauth.unwrap();
        assert_eq!(oauth.user_pool_id.as_deref(), Some("eu-west-1_AbC123"));
        assert_eq!(oauth.domain_prefix, "acme-mcp");
        assert_eq!(
            oauth.identity_providers,
            ["COGNITO", "AcmeSSO", "Okta-Prod.eu"]
        );
        assert_eq!(
            oauth.clients.as_deref(),
            Some(
                r#"[{"client_id":"ci","redirect_uris":["https://ci.example.com/cb"]},{"client_id":"x","client_name":"X","redirect_uris":["cursor://cb"]}]"#
            )
        );
        assert_eq!(
            oauth.redirect_uris,
            [
                "https://claude.ai/api/mcp/auth_callback",
                "http://127.0.0.1:*/callback"
            ]
        );
        assert_eq!(oauth.access_token_seconds, 600);

        let (mut map, mut secrets) = config(&[("authMode", "both")]);
        map.insert(format!("{PROJECT}:oauthSigningKey"), SIGNING_KEY.into());
        secrets.insert(format!("{PROJECT}:oauthSigningKey"));
        map.remove(&format!("{PROJECT}:apiKey"));
        assert_eq!(
            Settings::from_config("dev", &map, &secrets),
            Err(SettingsError::MissingApiKey)
        );
    }

    #[test]
    fn the_signing_key_must_be_set_secret_and_long_enough() {
        let err = settings(&[("authMode", "oauth")]).unwrap_err();
        assert_eq!(err, SettingsError::MissingSigningKey("oauth"));
        let both = settings(&[("authMode", "both")]).unwrap_err();
        assert_eq!(both, SettingsError::MissingSigningKey("both"));
        for err in [&err, &both] {
            assert!(
                err.to_string().contains(
                    r#"pulumi config set oauthSigningKey --secret "$(openssl rand -base64 32)""#
                ),
                "{err}"
            );
        }
        let plain = settings(&[("authMode", "oauth"), ("oauthSigningKey", SIGNING_KEY)]);
        assert_eq!(plain, Err(SettingsError::SigningKeyNotSecret));
        for bad in [
            "c2hvcnQ=",                                     // 5 bytes
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZQ==", // 31 bytes
            "not base64 at all, not even close!!!!!!!!!!!!",
            "q1Cx3m6TJg3y0bF5rQh0nJ9xw2S0m1eYzqH0c8wJbXU===",
            "q1Cx3m6TJg3y0bF5rQh0nJ9xw2S0m1eYzqH0c8wJb_-=", // base64url, padded
            "q1Cx3m6TJg3y0bF5rQh0nJ9xw2S0m1eYzqH0c8wJb+-x", // mixed alphabets
        ] {
            let (mut map, mut secrets) = config(&[("authMode", "oauth")]);
            map.insert(format!("{PROJECT}:oauthSigningKey"), bad.into());
            secrets.insert(format!("{PROJECT}:oauthSigningKey"));
            let err = Settings::from_config("dev", &map, &secrets).unwrap_err();
            assert!(
                matches!(err, SettingsError::BadSigningKey(_)),
                "{bad}: {err}"
            );
            assert!(!err.to_string().contains(bad), "the key leaked into {err}");
            assert!(err.to_string().contains("openssl rand -base64 32"), "{err}");
        }
        // Unpadded base64url of 32 bytes is fine too.
        assert!(
            oauth_settings_of(
                "oauth",
                &[(
                    "oauthSigningKey",
                    "q1Cx3m6TJg3y0bF5rQh0nJ9xw2S0m1eYzqH0c8wJb_-x"
                )]
            )
            .is_ok()
        );
        assert!(
            oauth_settings_of(
                "oauth",
                &[("oauthSigningKey", SIGNING_KEY.trim_end_matches('='))]
            )
            .is_ok()
        );
    }

    #[test]
    fn bad_oauth_values_name_the_setting() {
        let too_long = "a".repeat(64);
        for (key, value) in [
            ("authMode", "apikey"),
            ("authMode", "OAuth"),
            ("authMode", ""),
            ("cognitoUserPoolId", "AbC123"),
            ("cognitoUserPoolId", "us-east-1_AbC123"),
            ("cognitoUserPoolId", "eu-west-1_"),
            ("cognitoUserPoolId", "eu-west-1_Ab-C"),
            ("cognitoDomainPrefix", "Acme"),
            ("cognitoDomainPrefix", "-acme"),
            ("cognitoDomainPrefix", "acme-"),
            ("cognitoDomainPrefix", "acme.mcp"),
            ("cognitoDomainPrefix", "acme_mcp"),
            ("cognitoDomainPrefix", "my-aws-login"),
            ("cognitoDomainPrefix", "amazonian"),
            ("cognitoDomainPrefix", "mycognito"),
            ("cognitoDomainPrefix", too_long.as_str()),
            ("cognitoIdentityProviders", ""),
            ("cognitoIdentityProviders", " "),
            ("cognitoIdentityProviders", "COGNITO,"),
            ("cognitoIdentityProviders", "COGNITO,,Okta"),
            ("cognitoIdentityProviders", "COGNITO,Acme SSO"),
            ("cognitoIdentityProviders", "COGNITO,Acme\u{a0}SSO"),
            ("cognitoIdentityProviders", "COGNITO,Acme\tSSO"),
            ("cognitoIdentityProviders", "_Okta"),
            ("cognitoIdentityProviders", "COGNITO,Okta,COGNITO"),
            ("cognitoIdentityProviders", "COGNITO, Okta ,Okta"),
            (
                "cognitoIdentityProviders",
                "a-provider-name-of-33-characters!",
            ),
            (
                "cognitoIdentityProviders",
                "COGNITO,P1,P2,P3,P4,P5,P6,P7,P8,P9,P10",
            ),
            ("oauthClients", "{}"),
            ("oauthClients", "not json"),
            ("oauthClients", r#"[{"client_id": "a"}]"#),
            (
                "oauthClients",
                r#"[{"client_id": "", "redirect_uris": ["https://a/cb"]}]"#,
            ),
            (
                "oauthClients",
                r#"[{"client_id": "a", "redirect_uris": []}]"#,
            ),
            (
                "oauthClients",
                r#"[{"client_id": "a", "redirect_uris": ["/relative"]}]"#,
            ),
            (
                "oauthClients",
                r#"[{"client_id": "a", "redirect_uris": ["https://a/cb#frag"]}]"#,
            ),
            (
                "oauthClients",
                r#"[{"client_id": "a", "redirect_uris": ["https://a/cb"], "secret": "s"}]"#,
            ),
            (
                "oauthClients",
                r#"[{"client_id": "a", "redirect_uris": ["https://a/cb"]}, {"client_id": "a", "redirect_uris": ["https://b/cb"]}]"#,
            ),
            ("oauthRedirectUris", "claude.ai/callback"),
            ("oauthRedirectUris", "https://a/cb#x"),
            ("oauthAccessTokenSeconds", "59"),
            ("oauthAccessTokenSeconds", "86401"),
            ("oauthAccessTokenSeconds", "an hour"),
        ] {
            let err = oauth_settings_of("oauth", &[(key, value)]).unwrap_err();
            assert!(
                matches!(&err, SettingsError::Invalid { key: k, .. } if *k == key),
                "{key}={value}: {err}"
            );
            assert!(
                err.to_string()
                    .contains(&format!("pulumi config set {key}"))
            );
        }
        let huge = format!(
            r#"[{{"client_id": "a", "redirect_uris": ["https://a.example.com/{}"]}}]"#,
            "x".repeat(3000)
        );
        let err = oauth_settings_of("oauth", &[("oauthClients", &huge)]).unwrap_err();
        assert!(err.to_string().contains("4 KB"), "{err}");
    }

    #[test]
    fn identity_providers_are_names_of_the_pools_providers() {
        let providers = |value: &str| {
            oauth_settings_of("oauth", &[("cognitoIdentityProviders", value)])
                .map(|s| s.oauth.unwrap().identity_providers)
        };
        assert_eq!(providers("COGNITO,Okta").unwrap(), ["COGNITO", "Okta"]);
        // Federated only, names of 32 characters, Unicode, and ten in all are fine.
        assert_eq!(providers("AcmeOIDC").unwrap(), ["AcmeOIDC"]);
        let longest = "p".repeat(32);
        assert_eq!(providers(&longest).unwrap(), [longest.as_str()]);
        assert_eq!(providers("Société-SSO").unwrap(), ["Société-SSO"]);
        let ten = (1..=10).map(|i| format!("P{i}")).collect::<Vec<_>>();
        assert_eq!(providers(&ten.join(",")).unwrap(), ten);
        // Names are case-sensitive in Cognito: these are two providers.
        assert_eq!(providers("Okta,okta").unwrap(), ["Okta", "okta"]);

        // The error names the setting, the rule and the commands.
        let err = providers("COGNITO,Acme SSO").unwrap_err();
        let message = err.to_string();
        for part in [
            "cognitoIdentityProviders must be",
            "aws cognito-idp create-identity-provider",
            "pulumi config set cognitoIdentityProviders COGNITO,AcmeSSO",
            r#"got "COGNITO,Acme SSO""#,
        ] {
            assert!(message.contains(part), "{part} not in {message}");
        }
        let twice = providers("COGNITO,Okta,Okta").unwrap_err().to_string();
        assert!(twice.contains("Okta is listed twice"), "{twice}");
        let eleven = providers("COGNITO,P1,P2,P3,P4,P5,P6,P7,P8,P9,P10")
            .unwrap_err()
            .to_string();
        assert!(eleven.contains("11 are listed"), "{eleven}");
        // apiKey mode reads none of it.
        assert!(settings(&[("cognitoIdentityProviders", "")]).is_ok());
    }

    #[test]
    fn the_default_domain_prefix_comes_from_the_stack_and_an_existing_pool_names_its_own() {
        let mut map = config(&[("authMode", "oauth")]).0;
        map.insert(format!("{PROJECT}:oauthSigningKey"), SIGNING_KEY.into());
        let secrets = HashSet::from([format!("{PROJECT}:oauthSigningKey")]);
        let s = Settings::from_config("Prod_EU", &map, &secrets).unwrap();
        assert_eq!(s.oauth.unwrap().domain_prefix, "serverless-mcp-prod-eu");
        // A stack whose name makes the default invalid says so.
        let err = Settings::from_config("aws-prod", &map, &secrets).unwrap_err();
        assert!(
            matches!(
                &err,
                SettingsError::Invalid {
                    key: "cognitoDomainPrefix",
                    ..
                }
            ) && err.to_string().contains("derived from the stack name"),
            "{err}"
        );
        let err =
            oauth_settings_of("oauth", &[("cognitoUserPoolId", "eu-west-1_AbC123")]).unwrap_err();
        assert!(
            matches!(
                &err,
                SettingsError::Invalid {
                    key: "cognitoDomainPrefix",
                    ..
                }
            ) && err.to_string().contains("describe-user-pool"),
            "{err}"
        );
    }

    #[test]
    fn api_key_mode_ignores_the_oauth_settings() {
        let s = settings(&[("oauthClients", "not even json"), ("authMode", "apiKey")]).unwrap();
        assert_eq!(s.auth_mode, AuthMode::ApiKey);
        assert!(s.oauth.is_none());
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
