//! The resource graph of one stage (one Pulumi stack). Logical names start with `mcp-<stack>-`
//! so the physical names Pulumi derives from them say which stage they belong to.
//!
//! Pulumi Gestalt 0.0.12 registers a resource once all its inputs are known and sends the
//! engine no dependencies, so registration order is data flow and nothing else. Where order
//! matters (a function only after its policy and key, the public entry points only after what
//! they lead to), an input is gated on the other resource's output with [`after`]; the engine
//! then sees them in a safe order on the first `pulumi up`.

mod github;
mod http_api;
mod lambda;
mod monitoring;
mod oauth;
mod streaming;

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use pulumi_gestalt_rust::{Context, Output, pulumi_combine};

use crate::{
    artifacts::LambdaZip,
    aws::secretsmanager::{secret, secret_version},
    policy,
    settings::{ApiKey, AuthMode, OAuth, Settings},
};
use lambda::{KeySecret, LambdaSpec};

pub use github::AUDIENCE as GITHUB_AUDIENCE;
pub use monitoring::{DENIALS_METRIC, METRICS_NAMESPACE, dashboard_body};

/// A key check is one cached compare or one Secrets Manager read.
const AUTHORIZER_TIMEOUT_SECONDS: u32 = 10;

/// What the stack exports (names as in `pulumi stack output`).
pub mod outputs {
    pub const MCP_URL: &str = "mcpUrl";
    pub const STREAMING_MCP_URL: &str = "streamingMcpUrl";
    pub const API_KEY_SECRET_ARN: &str = "apiKeySecretArn";
    pub const FUNCTION_NAME: &str = "functionName";
    pub const STREAMING_FUNCTION_NAME: &str = "streamingFunctionName";
    pub const AUTHORIZER_FUNCTION_NAME: &str = "authorizerFunctionName";
    pub const CLIENT_CONFIG: &str = "clientConfig";
    /// The DNS name a custom domain must point to, when the program does not manage the zone.
    pub const CUSTOM_DOMAIN_TARGET: &str = "customDomainTarget";
    pub const STREAMING_CUSTOM_DOMAIN_TARGET: &str = "streamingCustomDomainTarget";
    pub const GITHUB_DEPLOY_ROLE_ARN: &str = "githubDeployRoleArn";
    /// The deployed functions' limits, read back from AWS.
    pub const LIMITS: &str = "limits";
    /// `apiKey`, `oauth` or `both`.
    pub const AUTH_MODE: &str = "authMode";
    pub const COGNITO_USER_POOL_ID: &str = "cognitoUserPoolId";
    /// Cognito's sign-in page for this stage's app client (a first user sets a password there).
    pub const COGNITO_LOGIN_URL: &str = "cognitoLoginUrl";
    pub const OAUTH_SECRET_ARN: &str = "oauthSecretArn";
    /// Each endpoint's authorization server (the facade) and its RFC 8414 metadata.
    pub const OAUTH_ISSUER: &str = "oauthIssuer";
    pub const OAUTH_METADATA_URL: &str = "oauthMetadataUrl";
    pub const STREAMING_OAUTH_ISSUER: &str = "streamingOauthIssuer";
    pub const STREAMING_OAUTH_METADATA_URL: &str = "streamingOauthMetadataUrl";
}

pub struct Code {
    pub function: LambdaZip,
    pub authorizer: LambdaZip,
}

/// `value`, released only once every gate has resolved: orders registration through data
/// flow (the only order Gestalt 0.0.12 has) without changing the value.
fn after<T>(value: &Output<T>, gates: &[&Output<String>]) -> Output<T>
where
    T: Clone + Send + Sync + 'static,
{
    gates.iter().fold(value.clone(), |value, gate| {
        pulumi_combine!(value, (*gate).clone()).map(|(value, _)| value)
    })
}

/// The logical name of a part of this stage.
fn name(s: &Settings, part: &str) -> String {
    format!("mcp-{}-{part}", s.stack)
}

/// Registers every resource of the stage and its outputs.
pub fn program(ctx: &Context, s: &Settings, code: &Code) -> Result<()> {
    let key = s
        .api_key
        .as_ref()
        .map(|api_key| key_secret(ctx, s, api_key));
    let oauth_secret = s.oauth.as_ref().map(|_| oauth::secret(ctx, s));
    let oauth_secret_arn = oauth_secret.as_ref().map(|secret| secret.arn.clone());

    // The MCP function behind API Gateway. It trusts the authorizer's verdict, so it must
    // never get a Function URL of its own.
    let api_hosts = hosts(
        format!("*.execute-api.{}.amazonaws.com", s.region),
        s.custom_domain.as_ref().map(|d| d.name.clone()),
        s,
    );
    let mcp = lambda::create(
        ctx,
        s,
        LambdaSpec {
            name: name(s, "function"),
            description: "serverless-mcp: MCP server behind API Gateway",
            code: &code.function,
            memory_size: s.memory_size,
            timeout_seconds: s.timeout,
            environment: function_environment(s, "api-gateway", &api_hosts),
            api_key: key.as_ref(),
            oauth_secret_arn: oauth_secret_arn.as_ref(),
            policy: policy::function_policy,
            reserved_concurrency: None,
        },
    );
    // No keys (`oauth`), no authorizer: the function checks every token itself.
    let authorizer_fn = key.as_ref().map(|key| {
        lambda::create(
            ctx,
            s,
            LambdaSpec {
                name: name(s, "authorizer"),
                description: "serverless-mcp: API key authorizer",
                code: &code.authorizer,
                memory_size: s.authorizer_memory_size,
                timeout_seconds: AUTHORIZER_TIMEOUT_SECONDS,
                environment: authorizer_environment(s),
                api_key: Some(key),
                oauth_secret_arn: None,
                policy: policy::authorizer_policy,
                reserved_concurrency: None,
            },
        )
    });
    let api = http_api::create(ctx, s, &mcp, authorizer_fn.as_ref());

    let streaming = s.function_url.then(|| {
        let streaming_hosts = hosts(
            format!("*.lambda-url.{}.on.aws", s.region),
            s.streaming_domain.as_ref().map(|d| d.name.clone()),
            s,
        );
        let function = lambda::create(
            ctx,
            s,
            LambdaSpec {
                name: name(s, "streaming"),
                description: "serverless-mcp: MCP server behind a streaming Function URL",
                code: &code.function,
                memory_size: s.memory_size,
                timeout_seconds: s.timeout,
                environment: function_environment(s, "function-url", &streaming_hosts),
                api_key: key.as_ref(),
                oauth_secret_arn: oauth_secret_arn.as_ref(),
                policy: policy::function_policy,
                reserved_concurrency: s.streaming_reserved_concurrency,
            },
        );
        streaming::create(ctx, s, function)
    });

    let cognito = s
        .oauth
        .as_ref()
        .zip(oauth_secret.as_ref())
        .map(|(settings, secret)| {
            let bases = endpoint_bases(ctx, s, &api, streaming.as_ref());
            oauth::create(ctx, s, settings, secret, &bases)
        });

    // The account, for the deploy role's policy: from whichever secret the stage has.
    let any_secret_arn = key
        .as_ref()
        .map(|key| key.arn.clone())
        .or(oauth_secret_arn.clone())
        .expect("every mode has a secret");
    let github_role = s
        .github
        .as_ref()
        .map(|github| github::create(ctx, s, github, &any_secret_arn));

    let mut watched = vec![monitoring::Watched {
        part: "function",
        name: &mcp.name,
        timeout_seconds: s.timeout,
        mcp: true,
    }];
    if let Some(streaming) = &streaming {
        watched.push(monitoring::Watched {
            part: "streaming",
            name: &streaming.function.name,
            timeout_seconds: s.timeout,
            mcp: true,
        });
    }
    if let Some(authorizer_fn) = &authorizer_fn {
        watched.push(monitoring::Watched {
            part: "authorizer",
            name: &authorizer_fn.name,
            timeout_seconds: AUTHORIZER_TIMEOUT_SECONDS,
            mcp: false,
        });
    }
    if let Some(alarms) = &s.alarms {
        monitoring::alarms(ctx, s, alarms, &api.api_id, &watched);
    }
    if s.dashboard {
        monitoring::dashboard(ctx, s, &api.api_id, &watched);
    }

    ctx.add_export(outputs::AUTH_MODE, &ctx.new_output(&auth_mode_name(s)));
    ctx.add_export(outputs::MCP_URL, &api.mcp_url);
    if let Some(key) = &key {
        ctx.add_export(outputs::API_KEY_SECRET_ARN, &key.arn);
    }
    ctx.add_export(outputs::FUNCTION_NAME, &mcp.name);
    if let Some(authorizer_fn) = &authorizer_fn {
        ctx.add_export(outputs::AUTHORIZER_FUNCTION_NAME, &authorizer_fn.name);
    }
    if let Some(target) = &api.domain_target {
        ctx.add_export(outputs::CUSTOM_DOMAIN_TARGET, target);
    }
    if let Some(streaming) = &streaming {
        ctx.add_export(outputs::STREAMING_FUNCTION_NAME, &streaming.function.name);
        ctx.add_export(outputs::STREAMING_MCP_URL, &streaming.mcp_url);
        if let Some(target) = &streaming.domain_target {
            ctx.add_export(outputs::STREAMING_CUSTOM_DOMAIN_TARGET, target);
        }
    }
    if let (Some(cognito), Some(arn)) = (&cognito, &oauth_secret_arn) {
        export_oauth(ctx, cognito, arn, &api.mcp_url, streaming.as_ref());
    }
    if let Some(role) = &github_role {
        ctx.add_export(outputs::GITHUB_DEPLOY_ROLE_ARN, role);
    }
    ctx.add_export(
        outputs::LIMITS,
        &limits(&mcp, streaming.as_ref().map(|s| &s.function)),
    );
    ctx.add_export(
        outputs::CLIENT_CONFIG,
        &client_config(
            s,
            &api.mcp_url,
            streaming.as_ref().map(|s| s.mcp_url.clone()),
        ),
    );
    Ok(())
}

/// The API key, from `pulumi config set apiKey --secret`; it stays a secret in the state.
fn key_secret(ctx: &Context, s: &Settings, api_key: &ApiKey) -> KeySecret {
    let key_secret = secret::create(
        ctx,
        &name(s, "api-key"),
        secret::SecretArgs::builder()
            .description(format!(
                "API keys of the serverless-mcp stage {} (managed by Pulumi)",
                s.stack
            ))
            .recovery_window_in_days(s.secret_recovery_window_days as i32)
            .build_struct(),
    );
    let key_version = secret_version::create(
        ctx,
        &name(s, "api-key-value"),
        secret_version::SecretVersionArgs::builder()
            .secret_id(key_secret.id.clone())
            .secret_string(ctx.new_secret(&api_key.secret_value))
            .build_struct(),
    );
    KeySecret {
        arn: key_secret.arn.clone(),
        version_id: key_version.id.clone(),
    }
}

/// The base URL of every endpoint of the stage (no trailing slash): the API Gateway stage, its
/// custom domain, the Function URL and its custom domain. Cognito calls back under each.
fn endpoint_bases(
    ctx: &Context,
    s: &Settings,
    api: &http_api::HttpApi,
    streaming: Option<&streaming::Streaming>,
) -> Vec<Output<String>> {
    let domain_base =
        |domain: &crate::settings::Domain| ctx.new_output(&format!("https://{}", domain.name));
    let mut bases = vec![api.stage_base_url.clone()];
    bases.extend(s.custom_domain.as_ref().map(domain_base));
    if let Some(streaming) = streaming {
        bases.push(streaming.url_base.clone());
        bases.extend(s.streaming_domain.as_ref().map(domain_base));
    }
    bases
}

/// The OAuth outputs: the pool, a sign-in page, and each endpoint's issuer (the facade's base
/// URL, docs/oauth.md) with its RFC 8414 metadata URL.
fn export_oauth(
    ctx: &Context,
    cognito: &oauth::Cognito,
    secret_arn: &Output<String>,
    mcp_url: &Output<String>,
    streaming: Option<&streaming::Streaming>,
) {
    ctx.add_export(outputs::COGNITO_USER_POOL_ID, &cognito.user_pool_id);
    ctx.add_export(outputs::COGNITO_LOGIN_URL, &cognito.login_url);
    ctx.add_export(outputs::OAUTH_SECRET_ARN, secret_arn);
    let issuer = |mcp_url: &Output<String>| mcp_url.map(|url| issuer_of(&url));
    let metadata = |mcp_url: &Output<String>| mcp_url.map(|url| metadata_url(&issuer_of(&url)));
    ctx.add_export(outputs::OAUTH_ISSUER, &issuer(mcp_url));
    ctx.add_export(outputs::OAUTH_METADATA_URL, &metadata(mcp_url));
    if let Some(streaming) = streaming {
        ctx.add_export(outputs::STREAMING_OAUTH_ISSUER, &issuer(&streaming.mcp_url));
        ctx.add_export(
            outputs::STREAMING_OAUTH_METADATA_URL,
            &metadata(&streaming.mcp_url),
        );
    }
}

/// The issuer of an endpoint: its MCP URL without `/mcp` (docs/oauth.md: `issuer` = B).
fn issuer_of(mcp_url: &str) -> String {
    mcp_url.trim_end_matches("/mcp").to_string()
}

fn metadata_url(issuer: &str) -> String {
    format!("{issuer}/.well-known/oauth-authorization-server")
}

/// The setting's own spelling, as `pulumi config` takes it.
fn auth_mode_name(s: &Settings) -> String {
    match s.auth_mode {
        AuthMode::ApiKey => "apiKey",
        AuthMode::OAuth => "oauth",
        AuthMode::Both => "both",
    }
    .to_string()
}

/// `Output`s gathered into one, in order.
fn collect(ctx: &Context, outputs: &[Output<String>]) -> Output<Vec<String>> {
    outputs
        .iter()
        .fold(ctx.new_output(&Vec::new()), |all, next| {
            pulumi_combine!(all, next.clone()).map(|(mut all, next)| {
                all.push(next);
                all
            })
        })
}

/// The Host names a function accepts: AWS's own for its endpoint, its custom domain, and the
/// extra ones the stage lists.
fn hosts(aws_host: String, domain: Option<String>, s: &Settings) -> Vec<String> {
    std::iter::once(aws_host)
        .chain(domain)
        .chain(s.allowed_hosts.iter().cloned())
        .collect()
}

fn function_environment(s: &Settings, mode: &str, hosts: &[String]) -> HashMap<String, String> {
    let mut env = HashMap::from([
        ("MCP_LAMBDA_MODE".to_string(), mode.to_string()),
        ("MCP_ALLOWED_HOSTS".to_string(), hosts.join(",")),
        ("RUST_LOG".to_string(), format!("{},rmcp=warn", s.log_level)),
        // The per-tool metrics feed the dashboard; without it they would be custom metrics
        // (billed per metric) nobody looks at.
        (
            "MCP_METRICS".to_string(),
            if s.dashboard { "emf" } else { "off" }.to_string(),
        ),
    ]);
    if !s.allowed_origins.is_empty() {
        env.insert(
            "MCP_ALLOWED_ORIGINS".to_string(),
            s.allowed_origins.join(","),
        );
    }
    if let Some(oauth) = &s.oauth {
        env.extend(oauth_environment(s, oauth));
    }
    env
}

/// The facade's settings (docs/oauth.md); `MCP_OAUTH_SECRET_ID` is added by `lambda::create`.
fn oauth_environment(s: &Settings, oauth: &OAuth) -> HashMap<String, String> {
    let mut env = HashMap::from([
        (
            "MCP_AUTH_MODE".to_string(),
            s.auth_mode.env_value().to_string(),
        ),
        (
            "MCP_OAUTH_COGNITO_URL".to_string(),
            oauth.cognito_url(&s.region),
        ),
        (
            "MCP_OAUTH_ACCESS_TOKEN_SECONDS".to_string(),
            oauth.access_token_seconds.to_string(),
        ),
    ]);
    if let Some(clients) = &oauth.clients {
        env.insert("MCP_OAUTH_CLIENTS".to_string(), clients.clone());
    }
    if !oauth.redirect_uris.is_empty() {
        env.insert(
            "MCP_OAUTH_REDIRECT_URIS".to_string(),
            oauth.redirect_uris.join(","),
        );
    }
    env
}

/// The authorizer's settings: in `both` it lets requests without a valid key through to the
/// function (which answers the OAuth challenge), so it must know the mode.
fn authorizer_environment(s: &Settings) -> HashMap<String, String> {
    let mut env = HashMap::from([("RUST_LOG".to_string(), s.log_level.clone())]);
    if s.auth_mode == AuthMode::Both {
        env.insert(
            "MCP_AUTH_MODE".to_string(),
            s.auth_mode.env_value().to_string(),
        );
    }
    env
}

/// Memory, timeout and reserved concurrency as AWS reports them back (numbers read from the
/// engine: the bindings type them as integers, see `xtask/src/aws_schema.rs`).
fn limits(
    mcp: &crate::aws::lambda::function::FunctionResult,
    streaming: Option<&crate::aws::lambda::function::FunctionResult>,
) -> Output<BTreeMap<String, i32>> {
    let api = pulumi_combine!(mcp.memory_size.clone(), mcp.timeout.clone());
    let with_streaming = match streaming {
        Some(f) => pulumi_combine!(api, f.reserved_concurrent_executions.clone())
            .map(|(api, reserved)| (api, reserved)),
        None => api.map(|api| (api, None)),
    };
    with_streaming.map(|((memory, timeout), reserved)| {
        let mut limits = BTreeMap::from([
            ("memorySize".to_string(), memory.unwrap_or_default()),
            ("timeoutSeconds".to_string(), timeout.unwrap_or_default()),
        ]);
        if let Some(reserved) = reserved {
            limits.insert("streamingReservedConcurrency".to_string(), reserved);
        }
        limits
    })
}

/// Everything a client needs, key included (when the stage has keys): secret.
fn client_config(
    s: &Settings,
    mcp_url: &Output<String>,
    streaming_url: Option<Output<String>>,
) -> Output<BTreeMap<String, String>> {
    let server_name = format!("serverless-mcp-{}", s.stack);
    let key = s.api_key.as_ref().map(|k| k.client_key.clone());
    let urls: Output<(String, Option<String>)> = match streaming_url {
        Some(streaming) => pulumi_combine!(mcp_url.clone(), streaming).map(|(a, b)| (a, Some(b))),
        None => mcp_url.map(|a| (a, None)),
    };
    urls.map(move |(mcp_url, streaming_url)| {
        let mut config = BTreeMap::from([
            ("serverName".to_string(), server_name.clone()),
            ("mcpUrl".to_string(), mcp_url),
        ]);
        // An `oauth` stage has no key: clients sign in through the URL alone.
        if let Some(key) = &key {
            config.insert("apiKeyHeader".to_string(), "x-api-key".to_string());
            config.insert("apiKey".to_string(), key.clone());
        }
        if let Some(url) = streaming_url {
            config.insert("streamingMcpUrl".to_string(), url);
        }
        config
    })
    .secret()
}

/// The MCP endpoint under a base URL (with or without a trailing slash).
pub fn mcp_path(base: &str) -> String {
    format!("{}/mcp", base.trim_end_matches('/'))
}
