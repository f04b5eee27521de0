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
mod streaming;

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use pulumi_gestalt_rust::{Context, Output, pulumi_combine};

use crate::{
    artifacts::LambdaZip,
    aws::secretsmanager::{secret, secret_version},
    policy,
    settings::Settings,
};
use lambda::{KeySecret, LambdaSpec};

pub use github::AUDIENCE as GITHUB_AUDIENCE;

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
    // The API key, from `pulumi config set apiKey --secret`; it stays a secret in the state.
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
            .secret_string(ctx.new_secret(&s.api_key))
            .build_struct(),
    );
    let key = KeySecret {
        arn: key_secret.arn.clone(),
        version_id: key_version.id.clone(),
    };

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
        &key,
        LambdaSpec {
            name: name(s, "function"),
            description: "serverless-mcp: MCP server behind API Gateway",
            code: &code.function,
            memory_size: s.memory_size,
            timeout_seconds: s.timeout,
            environment: function_environment(s, "api-gateway", &api_hosts),
            policy: policy::function_policy,
            reserved_concurrency: None,
        },
    );
    let authorizer_fn = lambda::create(
        ctx,
        s,
        &key,
        LambdaSpec {
            name: name(s, "authorizer"),
            description: "serverless-mcp: API key authorizer",
            code: &code.authorizer,
            memory_size: s.authorizer_memory_size,
            timeout_seconds: AUTHORIZER_TIMEOUT_SECONDS,
            environment: HashMap::from([("RUST_LOG".to_string(), s.log_level.clone())]),
            policy: policy::authorizer_policy,
            reserved_concurrency: None,
        },
    );
    let api = http_api::create(ctx, s, &mcp, &authorizer_fn);

    let streaming = s.function_url.then(|| {
        let streaming_hosts = hosts(
            format!("*.lambda-url.{}.on.aws", s.region),
            s.streaming_domain.as_ref().map(|d| d.name.clone()),
            s,
        );
        let function = lambda::create(
            ctx,
            s,
            &key,
            LambdaSpec {
                name: name(s, "streaming"),
                description: "serverless-mcp: MCP server behind a streaming Function URL",
                code: &code.function,
                memory_size: s.memory_size,
                timeout_seconds: s.timeout,
                environment: function_environment(s, "function-url", &streaming_hosts),
                policy: policy::function_policy,
                reserved_concurrency: s.streaming_reserved_concurrency,
            },
        );
        streaming::create(ctx, s, function)
    });

    let github_role = s
        .github
        .as_ref()
        .map(|github| github::create(ctx, s, github, &key_secret.arn));

    ctx.add_export(outputs::MCP_URL, &api.mcp_url);
    ctx.add_export(outputs::API_KEY_SECRET_ARN, &key_secret.arn);
    ctx.add_export(outputs::FUNCTION_NAME, &mcp.name);
    ctx.add_export(outputs::AUTHORIZER_FUNCTION_NAME, &authorizer_fn.name);
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
    ]);
    if !s.allowed_origins.is_empty() {
        env.insert(
            "MCP_ALLOWED_ORIGINS".to_string(),
            s.allowed_origins.join(","),
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

/// Everything a client needs, key included: secret.
fn client_config(
    s: &Settings,
    mcp_url: &Output<String>,
    streaming_url: Option<Output<String>>,
) -> Output<BTreeMap<String, String>> {
    let server_name = format!("serverless-mcp-{}", s.stack);
    let key = s.client_key.clone();
    let urls: Output<(String, Option<String>)> = match streaming_url {
        Some(streaming) => pulumi_combine!(mcp_url.clone(), streaming).map(|(a, b)| (a, Some(b))),
        None => mcp_url.map(|a| (a, None)),
    };
    urls.map(move |(mcp_url, streaming_url)| {
        let mut config = BTreeMap::from([
            ("serverName".to_string(), server_name.clone()),
            ("mcpUrl".to_string(), mcp_url),
            ("apiKeyHeader".to_string(), "x-api-key".to_string()),
            ("apiKey".to_string(), key.clone()),
        ]);
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
