//! The resource graph of one stage (one Pulumi stack). Logical names start with `mcp-<stack>-`
//! so the physical names Pulumi derives from them say which stage they belong to.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use pulumi_gestalt_rust::{Context, Output, pulumi_combine};

use crate::{
    artifacts::LambdaZip,
    aws::{
        apigatewayv2::{api, authorizer, integration, route, stage},
        cloudwatch::log_group,
        iam::{role, role_policy},
        lambda::{function, function_url, permission},
        secretsmanager::{secret, secret_version},
        types::{
            apigatewayv2::{StageAccessLogSettings, StageDefaultRouteSettings},
            lambda::{FunctionEnvironment, FunctionLoggingConfig},
        },
    },
    policy,
    settings::Settings,
};

/// Pulumi's wire form of a file archive: the archive signature plus the file's path.
const ARCHIVE_SIG_KEY: &str = "4dabf18193072939515e22adb298388d";
const ARCHIVE_SIG: &str = "0def7320c3a5731c473e5ecbe6d01bc7";

/// A key check is one cached compare or one Secrets Manager read.
const AUTHORIZER_TIMEOUT_SECONDS: f64 = 10.0;

/// What the stack exports (names as in `pulumi stack output`).
pub mod outputs {
    pub const MCP_URL: &str = "mcpUrl";
    pub const STREAMING_MCP_URL: &str = "streamingMcpUrl";
    pub const API_KEY_SECRET_ARN: &str = "apiKeySecretArn";
    pub const FUNCTION_NAME: &str = "functionName";
    pub const STREAMING_FUNCTION_NAME: &str = "streamingFunctionName";
    pub const AUTHORIZER_FUNCTION_NAME: &str = "authorizerFunctionName";
    pub const CLIENT_CONFIG: &str = "clientConfig";
}

pub struct Code {
    pub function: LambdaZip,
    pub authorizer: LambdaZip,
}

/// Registers every resource of the stage and its outputs.
pub fn program(ctx: &Context, s: &Settings, code: &Code) -> Result<()> {
    let name = |part: &str| format!("mcp-{}-{part}", s.stack);

    // The API key, from `pulumi config set apiKey --secret`; it stays a secret in the state.
    let key_secret = secret::create(
        ctx,
        &name("api-key"),
        secret::SecretArgs::builder()
            .description(format!(
                "API keys of the serverless-mcp stage {} (managed by Pulumi)",
                s.stack
            ))
            .build_struct(),
    );
    secret_version::create(
        ctx,
        &name("api-key-value"),
        secret_version::SecretVersionArgs::builder()
            .secret_id(key_secret.id.clone())
            .secret_string(ctx.new_secret(&s.api_key))
            .build_struct(),
    );

    let base_env = |mode: &str, hosts: &[String]| {
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
    };
    let hosts = |aws_host: String| {
        std::iter::once(aws_host)
            .chain(s.allowed_hosts.iter().cloned())
            .collect::<Vec<_>>()
    };

    // The MCP function behind API Gateway. It trusts the authorizer's verdict, so it must
    // never get a Function URL of its own.
    let mcp = lambda(
        ctx,
        s,
        &name("function"),
        "serverless-mcp: MCP server behind API Gateway",
        &code.function,
        s.memory_size,
        f64::from(s.timeout),
        &key_secret.arn,
        base_env(
            "api-gateway",
            &hosts(format!("*.execute-api.{}.amazonaws.com", s.region)),
        ),
        policy::function_policy,
    );
    let authorizer_fn = lambda(
        ctx,
        s,
        &name("authorizer"),
        "serverless-mcp: API key authorizer",
        &code.authorizer,
        s.authorizer_memory_size,
        AUTHORIZER_TIMEOUT_SECONDS,
        &key_secret.arn,
        HashMap::from([("RUST_LOG".to_string(), s.log_level.clone())]),
        policy::authorizer_policy,
    );

    // HTTP API: /mcp through the key authorizer, /health open, one stage per stack.
    let http_api = api::create(
        ctx,
        &name("api"),
        api::ApiArgs::builder()
            .protocol_type("HTTP")
            .description(format!("serverless-mcp stage {}", s.stack))
            .build_struct(),
    );
    let key_authorizer = authorizer::create(
        ctx,
        &name("api-authorizer"),
        authorizer::AuthorizerArgs::builder()
            .api_id(http_api.id.clone())
            .authorizer_type("REQUEST")
            .authorizer_uri(authorizer_fn.invoke_arn.clone())
            .authorizer_payload_format_version("2.0")
            .enable_simple_responses(true)
            .identity_sources(vec!["$request.header.x-api-key".to_string()])
            .authorizer_result_ttl_in_seconds(f64::from(s.authorizer_cache_ttl))
            .build_struct(),
    );
    let mcp_integration = integration::create(
        ctx,
        &name("integration"),
        integration::IntegrationArgs::builder()
            .api_id(http_api.id.clone())
            .integration_type("AWS_PROXY")
            .integration_uri(mcp.invoke_arn.clone())
            .payload_format_version("2.0")
            .timeout_milliseconds(f64::from(s.integration_timeout_ms()))
            .build_struct(),
    );
    let target = mcp_integration.id.map(|id| format!("integrations/{id}"));
    for method in ["POST", "GET", "DELETE"] {
        route::create(
            ctx,
            &name(&format!("route-{}", method.to_lowercase())),
            route::RouteArgs::builder()
                .api_id(http_api.id.clone())
                .route_key(format!("{method} /mcp"))
                .target(target.clone())
                .authorization_type("CUSTOM")
                .authorizer_id(key_authorizer.id.clone())
                .build_struct(),
        );
    }
    // Open routes: the health check, and (when browsers are allowed) CORS preflights, which
    // carry no key; the function answers them with its own origin policy.
    let mut open_routes = vec![("health", "GET /health")];
    if !s.allowed_origins.is_empty() {
        open_routes.push(("options", "OPTIONS /mcp"));
    }
    for (part, route_key) in open_routes {
        route::create(
            ctx,
            &name(&format!("route-{part}")),
            route::RouteArgs::builder()
                .api_id(http_api.id.clone())
                .route_key(route_key)
                .target(target.clone())
                .authorization_type("NONE")
                .build_struct(),
        );
    }
    let access_logs = log_group::create(
        ctx,
        &name("api-access-logs"),
        log_group::LogGroupArgs::builder()
            .retention_in_days(f64::from(s.log_retention_days))
            .build_struct(),
    );
    let api_stage = stage::create(
        ctx,
        &name("stage"),
        stage::StageArgs::builder()
            .api_id(http_api.id.clone())
            .name(s.stack.clone())
            .auto_deploy(true)
            .default_route_settings(
                StageDefaultRouteSettings::builder()
                    .throttling_rate_limit(s.throttling_rate_limit)
                    .throttling_burst_limit(f64::from(s.throttling_burst_limit))
                    .build_struct(),
            )
            .access_log_settings(access_logs.arn.map(|arn| {
                StageAccessLogSettings::builder()
                    .destination_arn(arn)
                    .format(ACCESS_LOG_FORMAT.to_string())
                    .build_struct()
            }))
            .build_struct(),
    );
    // API Gateway may invoke the function for any route of this API, and the authorizer only
    // as this API's authorizer.
    permission::create(
        ctx,
        &name("api-invoke-function"),
        permission::PermissionArgs::builder()
            .action("lambda:InvokeFunction")
            .function(mcp.name.clone())
            .principal("apigateway.amazonaws.com")
            .source_arn(http_api.execution_arn.map(|arn| format!("{arn}/*/*")))
            .build_struct(),
    );
    permission::create(
        ctx,
        &name("api-invoke-authorizer"),
        permission::PermissionArgs::builder()
            .action("lambda:InvokeFunction")
            .function(authorizer_fn.name.clone())
            .principal("apigateway.amazonaws.com")
            .source_arn(
                pulumi_combine!(http_api.execution_arn.clone(), key_authorizer.id.clone())
                    .map(|(arn, id)| format!("{arn}/authorizers/{id}")),
            )
            .build_struct(),
    );
    let mcp_url = api_stage.invoke_url.map(|url| mcp_path(&url));

    ctx.add_export(outputs::MCP_URL, &mcp_url);
    ctx.add_export(outputs::API_KEY_SECRET_ARN, &key_secret.arn);
    ctx.add_export(outputs::FUNCTION_NAME, &mcp.name);
    ctx.add_export(outputs::AUTHORIZER_FUNCTION_NAME, &authorizer_fn.name);

    // The streaming deployment: the same code behind a Function URL with response streaming.
    // The URL has no IAM auth (clients cannot sign requests); the function checks the key.
    let streaming_url = if s.function_url {
        let streaming = lambda(
            ctx,
            s,
            &name("streaming"),
            "serverless-mcp: MCP server behind a streaming Function URL",
            &code.function,
            s.memory_size,
            f64::from(s.timeout),
            &key_secret.arn,
            base_env(
                "function-url",
                &hosts(format!("*.lambda-url.{}.on.aws", s.region)),
            ),
            policy::function_policy,
        );
        let url = function_url::create(
            ctx,
            &name("streaming-url"),
            function_url::FunctionUrlArgs::builder()
                .function_name(streaming.name.clone())
                .authorization_type("NONE")
                .invoke_mode("RESPONSE_STREAM")
                .build_struct(),
        );
        // Both statements are required for a public Function URL.
        permission::create(
            ctx,
            &name("url-invoke-url"),
            permission::PermissionArgs::builder()
                .action("lambda:InvokeFunctionUrl")
                .function(streaming.name.clone())
                .principal("*")
                .function_url_auth_type("NONE")
                .build_struct(),
        );
        permission::create(
            ctx,
            &name("url-invoke-function"),
            permission::PermissionArgs::builder()
                .action("lambda:InvokeFunction")
                .function(streaming.name.clone())
                .principal("*")
                .invoked_via_function_url(true)
                .build_struct(),
        );
        ctx.add_export(outputs::STREAMING_FUNCTION_NAME, &streaming.name);
        let streaming_url = url.function_url.map(|url| mcp_path(&url));
        ctx.add_export(outputs::STREAMING_MCP_URL, &streaming_url);
        Some(streaming_url)
    } else {
        None
    };

    // Everything a client needs, key included: secret.
    let server_name = format!("serverless-mcp-{}", s.stack);
    let key = s.client_key.clone();
    let urls: Output<(String, Option<String>)> = match streaming_url {
        Some(streaming) => pulumi_combine!(mcp_url, streaming).map(|(a, b)| (a, Some(b))),
        None => mcp_url.map(|a| (a, None)),
    };
    let client_config = urls
        .map(move |(mcp_url, streaming_url)| {
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
        .secret();
    ctx.add_export(outputs::CLIENT_CONFIG, &client_config);
    Ok(())
}

/// One field per line in CloudWatch; the key itself is never logged, only the key id the
/// authorizer returns.
const ACCESS_LOG_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime","method":"$context.httpMethod","route":"$context.routeKey","status":"$context.status","latencyMs":"$context.responseLatency","integrationLatencyMs":"$context.integrationLatency","keyId":"$context.authorizer.keyId","authorizerError":"$context.authorizer.error","integrationError":"$context.integrationErrorMessage"}"#;

/// The MCP endpoint under a base URL (with or without a trailing slash).
pub fn mcp_path(base: &str) -> String {
    format!("{}/mcp", base.trim_end_matches('/'))
}

/// A Lambda with its own role, policy and log group.
#[allow(clippy::too_many_arguments)]
fn lambda(
    ctx: &Context,
    s: &Settings,
    name: &str,
    description: &str,
    code: &LambdaZip,
    memory_size: u32,
    timeout: f64,
    secret_arn: &Output<String>,
    env: HashMap<String, String>,
    policy_for: fn(&str, &str) -> String,
) -> function::FunctionResult {
    let logs = log_group::create(
        ctx,
        &format!("{name}-logs"),
        log_group::LogGroupArgs::builder()
            .retention_in_days(f64::from(s.log_retention_days))
            .build_struct(),
    );
    let exec_role = role::create(
        ctx,
        &format!("{name}-role"),
        role::RoleArgs::builder()
            .assume_role_policy(policy::lambda_trust_policy())
            .description(format!("{description} (least privilege)"))
            // Pulumi Gestalt records no dependencies, so `pulumi destroy` may reach the role
            // before its inline policy; detaching first keeps the delete from failing.
            .force_detach_policies(true)
            .build_struct(),
    );
    role_policy::create(
        ctx,
        &format!("{name}-policy"),
        role_policy::RolePolicyArgs::builder()
            .role(exec_role.id.clone())
            .policy(
                pulumi_combine!(secret_arn.clone(), logs.arn.clone())
                    .map(move |(secret, logs)| policy_for(&secret, &logs)),
            )
            .build_struct(),
    );
    let env = secret_arn.map(move |arn| {
        let mut variables = env.clone();
        variables.insert("MCP_API_KEY_SECRET_ID".to_string(), arn);
        FunctionEnvironment::builder()
            .variables(variables)
            .build_struct()
    });
    function::create(
        ctx,
        name,
        function::FunctionArgs::builder()
            .description(description)
            .runtime("provided.al2023")
            .handler("bootstrap")
            .architectures(vec![s.architecture.lambda_name().to_string()])
            .memory_size(f64::from(memory_size))
            .timeout(timeout)
            .role(exec_role.arn.clone())
            .code(HashMap::from([
                (ARCHIVE_SIG_KEY.to_string(), ARCHIVE_SIG.to_string()),
                ("path".to_string(), code.path.display().to_string()),
            ]))
            .environment(env)
            .logging_config(logs.name.map(|group| {
                FunctionLoggingConfig::builder()
                    .log_format("Text")
                    .log_group(group)
                    .build_struct()
            }))
            .build_struct(),
    )
}
