//! The API Gateway HTTP API: `/mcp` through the key authorizer (or open to the function's own
//! OAuth check), `/health` and the OAuth facade's routes open, one stage per stack with
//! throttling and access logs, and optionally the stage's own custom domain.

use pulumi_gestalt_rust::{Context, Input, Output, pulumi_combine};

use super::{after, mcp_path, name};
use crate::{
    aws::{
        apigatewayv2::{api, api_mapping, authorizer, domain_name, integration, route, stage},
        cloudwatch::log_group,
        lambda::{function::FunctionResult, permission},
        route53::record,
        types::{
            apigatewayv2::{
                DomainNameDomainNameConfiguration, StageAccessLogSettings,
                StageDefaultRouteSettings,
            },
            route53::RecordAlias,
        },
    },
    settings::{AuthMode, Domain, Settings},
};

pub struct HttpApi {
    /// The API's id (the `ApiId` dimension of its metrics; the stage is named after the stack).
    pub api_id: Output<String>,
    /// The MCP endpoint clients use: on the custom domain when there is one.
    pub mcp_url: Output<String>,
    /// The stage's own URL, without a trailing slash (an OAuth endpoint base).
    pub stage_base_url: Output<String>,
    /// Where the custom domain's DNS must point, when the program does not manage the zone.
    pub domain_target: Option<Output<String>>,
}

/// The OAuth facade's routes (docs/oauth.md), open: they are how a client gets a token.
const OAUTH_ROUTES: &[(&str, &str)] = &[
    ("well-known", "GET /.well-known/{proxy+}"),
    ("authorize-get", "GET /authorize"),
    ("authorize-post", "POST /authorize"),
    ("oauth-callback", "GET /oauth/callback"),
    ("token", "POST /token"),
    ("register", "POST /register"),
];

/// The OAuth paths browser-based clients fetch (and so preflight). `/authorize` and the
/// callback are page navigations, which browsers never preflight.
const OAUTH_PREFLIGHT_ROUTES: &[(&str, &str)] = &[
    ("options-well-known", "OPTIONS /.well-known/{proxy+}"),
    ("options-token", "OPTIONS /token"),
    ("options-register", "OPTIONS /register"),
];

/// `authorizer_fn` is `None` in `oauth` mode: no keys, so nothing for an authorizer to check.
pub fn create(
    ctx: &Context,
    s: &Settings,
    mcp: &FunctionResult,
    authorizer_fn: Option<&FunctionResult>,
) -> HttpApi {
    let http_api = api::create(
        ctx,
        &name(s, "api"),
        api::ApiArgs::builder()
            .protocol_type("HTTP")
            .description(format!("serverless-mcp stage {}", s.stack))
            .build_struct(),
    );
    let key_authorizer = authorizer_fn.map(|f| key_authorizer(ctx, s, &http_api.id, f));
    let mcp_integration = integration::create(
        ctx,
        &name(s, "integration"),
        integration::IntegrationArgs::builder()
            .api_id(http_api.id.clone())
            .integration_type("AWS_PROXY")
            .integration_uri(mcp.invoke_arn.clone())
            .payload_format_version("2.0")
            .timeout_milliseconds(s.integration_timeout_ms() as i32)
            .build_struct(),
    );
    let target = mcp_integration.id.map(|id| format!("integrations/{id}"));
    let mut routes = Vec::new();
    for method in ["POST", "GET", "DELETE"] {
        // `oauth`: no authorizer; the function checks the token and answers 401 with the
        // `WWW-Authenticate` challenge itself, which an authorizer could not.
        let (authorization_type, authorizer_id): (&str, Input<Option<String>>) =
            match &key_authorizer {
                Some(key_authorizer) => ("CUSTOM", key_authorizer.id.clone().into()),
                None => ("NONE", Input::StaticValue(None)),
            };
        routes.push(route::create(
            ctx,
            &name(s, &format!("route-{}", method.to_lowercase())),
            route::RouteArgs::builder()
                .api_id(http_api.id.clone())
                .route_key(format!("{method} /mcp"))
                .target(target.clone())
                .authorization_type(authorization_type)
                .authorizer_id(authorizer_id)
                .build_struct(),
        ));
    }
    // Open routes: the health check, and (when browsers are allowed) CORS preflights, which
    // carry no key; the function answers them with its own origin policy. With OAuth, the
    // facade's routes too.
    let browsers = !s.allowed_origins.is_empty();
    let mut open_routes = vec![("health", "GET /health")];
    if browsers {
        open_routes.push(("options", "OPTIONS /mcp"));
    }
    if s.auth_mode.accepts_oauth() {
        open_routes.extend(OAUTH_ROUTES);
        if browsers {
            open_routes.extend(OAUTH_PREFLIGHT_ROUTES);
        }
    }
    for (part, route_key) in open_routes {
        routes.push(route::create(
            ctx,
            &name(s, &format!("route-{part}")),
            route::RouteArgs::builder()
                .api_id(http_api.id.clone())
                .route_key(route_key)
                .target(target.clone())
                .authorization_type("NONE")
                .build_struct(),
        ));
    }
    // API Gateway may invoke the function for any route of this API, and the authorizer only
    // as this API's authorizer.
    let invoke_function = permission::create(
        ctx,
        &name(s, "api-invoke-function"),
        permission::PermissionArgs::builder()
            .action("lambda:InvokeFunction")
            .function(mcp.name.clone())
            .principal("apigateway.amazonaws.com")
            .source_arn(http_api.execution_arn.map(|arn| format!("{arn}/*/*")))
            .build_struct(),
    );
    let invoke_authorizer = authorizer_fn.zip(key_authorizer.as_ref()).map(|(f, a)| {
        permission::create(
            ctx,
            &name(s, "api-invoke-authorizer"),
            permission::PermissionArgs::builder()
                .action("lambda:InvokeFunction")
                .function(f.name.clone())
                .principal("apigateway.amazonaws.com")
                .source_arn(
                    pulumi_combine!(http_api.execution_arn.clone(), a.id.clone())
                        .map(|(arn, id)| format!("{arn}/authorizers/{id}")),
                )
                .build_struct(),
        )
    });
    let access_logs = log_group::create(
        ctx,
        &name(s, "api-access-logs"),
        log_group::LogGroupArgs::builder()
            .retention_in_days(s.log_retention_days as i32)
            .build_struct(),
    );
    // The stage is what makes the API reachable: it comes last, once every route leads
    // somewhere and both Lambdas may be invoked.
    let mut gates: Vec<&Output<String>> = routes.iter().map(|r| &r.id).collect();
    gates.push(&invoke_function.id);
    gates.extend(invoke_authorizer.as_ref().map(|p| &p.id));
    let api_stage = stage::create(
        ctx,
        &name(s, "stage"),
        stage::StageArgs::builder()
            .api_id(after(&http_api.id, &gates))
            .name(s.stack.clone())
            .auto_deploy(true)
            .default_route_settings(
                StageDefaultRouteSettings::builder()
                    .throttling_rate_limit(f64::from(s.throttling_rate_limit))
                    .throttling_burst_limit(s.throttling_burst_limit as i32)
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
    let stage_base_url = api_stage
        .invoke_url
        .map(|url| url.trim_end_matches('/').to_string());
    match &s.custom_domain {
        None => HttpApi {
            api_id: http_api.id.clone(),
            mcp_url: api_stage.invoke_url.map(|url| mcp_path(&url)),
            stage_base_url,
            domain_target: None,
        },
        Some(domain) => {
            let target = custom_domain(ctx, s, domain, &http_api.id, &api_stage);
            HttpApi {
                api_id: http_api.id.clone(),
                mcp_url: after(
                    &ctx.new_output(&mcp_path(&format!("https://{}", domain.name))),
                    &[&api_stage.id],
                ),
                stage_base_url,
                domain_target: s.hosted_zone_id.is_none().then_some(target),
            }
        }
    }
}

/// The REQUEST authorizer (payload 2.0, simple responses) in front of `/mcp`.
///
/// `apiKey`: identity source `x-api-key`, cached per key. `both`: no identity source and no
/// cache, because with an identity source API Gateway answers a request without it with its
/// own 401 (no `WWW-Authenticate`, so OAuth clients could never discover how to sign in), and
/// the authorizer (`MCP_AUTH_MODE=both`) never denies. An HTTP API REQUEST authorizer may have
/// no identity source when caching is off: the API Gateway V2 reference, CreateAuthorizer
/// `IdentitySource`: "For a REQUEST authorizer, this is optional. [...] Only when this is true
/// does the authorizer invoke the authorizer Lambda function. Otherwise, it returns a 401
/// Unauthorized response"; and the provider (hashicorp/terraform-provider-aws,
/// internal/service/apigatewayv2/authorizer.go) has `identity_sources` Optional and sets a
/// default TTL of 300 only "when IdentitySources have been defined", so TTL 0 is sent as is.
fn key_authorizer(
    ctx: &Context,
    s: &Settings,
    api_id: &Output<String>,
    authorizer_fn: &FunctionResult,
) -> authorizer::AuthorizerResult {
    let (identity_sources, cache_ttl) = if s.auth_mode == AuthMode::Both {
        (None, 0)
    } else {
        (
            Some(vec!["$request.header.x-api-key".to_string()]),
            s.authorizer_cache_ttl as i32,
        )
    };
    authorizer::create(
        ctx,
        &name(s, "api-authorizer"),
        authorizer::AuthorizerArgs::builder()
            .api_id(api_id.clone())
            .authorizer_type("REQUEST")
            .authorizer_uri(authorizer_fn.invoke_arn.clone())
            .authorizer_payload_format_version("2.0")
            .enable_simple_responses(true)
            .identity_sources(identity_sources)
            .authorizer_result_ttl_in_seconds(cache_ttl)
            .build_struct(),
    )
}

/// The stage on its own domain (a REGIONAL API Gateway domain name with the stage mapped at
/// the root, so `https://<domain>/mcp` is the endpoint), and its Route 53 alias when the zone
/// is given. Returns the DNS name the domain must point to.
fn custom_domain(
    ctx: &Context,
    s: &Settings,
    domain: &Domain,
    api_id: &Output<String>,
    api_stage: &stage::StageResult,
) -> Output<String> {
    let domain_name = domain_name::create(
        ctx,
        &name(s, "domain"),
        domain_name::DomainNameArgs::builder()
            .domain_name(domain.name.clone())
            .domain_name_configuration(
                DomainNameDomainNameConfiguration::builder()
                    .certificate_arn(domain.certificate_arn.clone())
                    .endpoint_type("REGIONAL")
                    .security_policy("TLS_1_2")
                    .build_struct(),
            )
            .build_struct(),
    );
    api_mapping::create(
        ctx,
        &name(s, "domain-mapping"),
        api_mapping::ApiMappingArgs::builder()
            .api_id(api_id.clone())
            .domain_name(domain_name.domain_name.clone())
            .stage(after(&api_stage.name, &[&api_stage.id]))
            .build_struct(),
    );
    let configuration = domain_name.domain_name_configuration.clone();
    if let Some(zone) = &s.hosted_zone_id {
        for record_type in ["A", "AAAA"] {
            alias_record(
                ctx,
                &name(s, &format!("domain-{}", record_type.to_lowercase())),
                zone,
                &domain.name,
                record_type,
                configuration.map(|c| {
                    (
                        c.target_domain_name.unwrap_or_default(),
                        c.hosted_zone_id.unwrap_or_default(),
                    )
                }),
            );
        }
    }
    configuration.map(|c| c.target_domain_name.unwrap_or_default())
}

/// A Route 53 alias record for `domain` to `(target DNS name, target's zone id)`.
pub fn alias_record(
    ctx: &Context,
    logical_name: &str,
    zone: &str,
    domain: &str,
    record_type: &str,
    target: Output<(String, String)>,
) -> record::RecordResult {
    record::create(
        ctx,
        logical_name,
        record::RecordArgs::builder()
            .zone_id(zone.to_string())
            .name(domain.to_string())
            .type_(record_type.to_string())
            .aliases(target.map(|(name, zone_id)| {
                vec![
                    RecordAlias::builder()
                        .name(name)
                        .zone_id(zone_id)
                        .evaluate_target_health(false)
                        .build_struct(),
                ]
            }))
            .build_struct(),
    )
}

/// One field per line in CloudWatch; the key itself is never logged, only the key id the
/// authorizer returns.
const ACCESS_LOG_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime","method":"$context.httpMethod","route":"$context.routeKey","status":"$context.status","latencyMs":"$context.responseLatency","integrationLatencyMs":"$context.integrationLatency","keyId":"$context.authorizer.keyId","authorizerError":"$context.authorizer.error","integrationError":"$context.integrationErrorMessage"}"#;
