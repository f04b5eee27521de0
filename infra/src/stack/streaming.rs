//! The streaming endpoint: the MCP function behind a Function URL with response streaming
//! (SSE), and optionally CloudFront in front of it for a custom domain.
//!
//! The URL has no IAM auth (MCP clients cannot sign requests); the function checks the key.
//! CloudFront cannot sign for it either: Origin Access Control on a Function URL needs the
//! client to send the SHA-256 of every POST body (`x-amz-content-sha256`), which MCP clients
//! do not. So CloudFront forwards everything but `Host` (the URL routes by its own host name)
//! and caches nothing; the function still checks every key.

use pulumi_gestalt_rust::{Context, Output};

use super::{after, http_api::alias_record, mcp_path, name};
use crate::{
    aws::{
        cloudfront::distribution,
        lambda::{function::FunctionResult, function_url, permission},
        types::cloudfront::{
            DistributionDefaultCacheBehavior, DistributionOrigin,
            DistributionOriginCustomOriginConfig, DistributionRestrictions,
            DistributionRestrictionsGeoRestriction, DistributionViewerCertificate,
        },
    },
    settings::{Domain, Settings},
};

/// CloudFront's managed policies (the same ids in every account): no caching, and every
/// viewer header, cookie and query string forwarded except `Host`.
const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ALL_VIEWER_EXCEPT_HOST_HEADER: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";
/// The hosted zone every CloudFront distribution's alias points into.
pub const CLOUDFRONT_ZONE_ID: &str = "Z2FDTNDATAQYW2";
/// Seconds CloudFront waits for the origin's first byte and between bytes: the most it allows
/// without a quota increase. A tool that streams progress keeps the connection alive.
const ORIGIN_READ_TIMEOUT: i32 = 60;

pub struct Streaming {
    pub function: FunctionResult,
    pub mcp_url: Output<String>,
    /// The Function URL without its trailing slash (an OAuth endpoint base).
    pub url_base: Output<String>,
    pub domain_target: Option<Output<String>>,
}

pub fn create(ctx: &Context, s: &Settings, function: FunctionResult) -> Streaming {
    // Both statements are required for a public Function URL; they exist before the URL does.
    let invoke_url = permission::create(
        ctx,
        &name(s, "url-invoke-url"),
        permission::PermissionArgs::builder()
            .action("lambda:InvokeFunctionUrl")
            .function(function.name.clone())
            .principal("*")
            .function_url_auth_type("NONE")
            .build_struct(),
    );
    let invoke_function = permission::create(
        ctx,
        &name(s, "url-invoke-function"),
        permission::PermissionArgs::builder()
            .action("lambda:InvokeFunction")
            .function(function.name.clone())
            .principal("*")
            .invoked_via_function_url(true)
            .build_struct(),
    );
    let url = function_url::create(
        ctx,
        &name(s, "streaming-url"),
        function_url::FunctionUrlArgs::builder()
            .function_name(after(
                &function.name,
                &[&invoke_url.id, &invoke_function.id],
            ))
            .authorization_type("NONE")
            .invoke_mode("RESPONSE_STREAM")
            .build_struct(),
    );
    let url_base = url
        .function_url
        .map(|url| url.trim_end_matches('/').to_string());
    match &s.streaming_domain {
        None => Streaming {
            function,
            mcp_url: url.function_url.map(|url| mcp_path(&url)),
            url_base,
            domain_target: None,
        },
        Some(domain) => {
            let cdn = cloudfront(ctx, s, domain, &url.function_url);
            if let Some(zone) = &s.hosted_zone_id {
                for record_type in ["A", "AAAA"] {
                    alias_record(
                        ctx,
                        &name(
                            s,
                            &format!("streaming-domain-{}", record_type.to_lowercase()),
                        ),
                        zone,
                        &domain.name,
                        record_type,
                        cdn.domain_name
                            .map(|host| (host, CLOUDFRONT_ZONE_ID.to_string())),
                    );
                }
            }
            let https = mcp_path(&format!("https://{}", domain.name));
            Streaming {
                function,
                mcp_url: after(&ctx.new_output(&https), &[&cdn.id]),
                url_base,
                domain_target: s.hosted_zone_id.is_none().then(|| cdn.domain_name.clone()),
            }
        }
    }
}

/// The host name of a Function URL (`https://<id>.lambda-url.<region>.on.aws/`).
pub fn url_host(url: &str) -> String {
    url.trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string()
}

fn cloudfront(
    ctx: &Context,
    s: &Settings,
    domain: &Domain,
    function_url: &Output<String>,
) -> distribution::DistributionResult {
    const ORIGIN: &str = "function-url";
    distribution::create(
        ctx,
        &name(s, "streaming-cdn"),
        distribution::DistributionArgs::builder()
            .enabled(true)
            .comment(format!(
                "serverless-mcp stage {}: streaming endpoint",
                s.stack
            ))
            .aliases(vec![domain.name.clone()])
            .http_version("http2and3")
            .is_ipv6_enabled(true)
            .price_class("PriceClass_100")
            .origins(function_url.map(|url| {
                vec![
                    DistributionOrigin::builder()
                        .origin_id(ORIGIN)
                        .domain_name(url_host(&url))
                        .custom_origin_config(
                            DistributionOriginCustomOriginConfig::builder()
                                .http_port(80)
                                .https_port(443)
                                .origin_protocol_policy("https-only")
                                .origin_ssl_protocols(vec!["TLSv1.2".to_string()])
                                .origin_read_timeout(ORIGIN_READ_TIMEOUT)
                                .build_struct(),
                        )
                        .build_struct(),
                ]
            }))
            .default_cache_behavior(
                DistributionDefaultCacheBehavior::builder()
                    .target_origin_id(ORIGIN)
                    // MCP posts; a redirect to https would lose the body.
                    .viewer_protocol_policy("https-only")
                    .allowed_methods(
                        ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
                            .map(String::from)
                            .to_vec(),
                    )
                    .cached_methods(vec!["GET".to_string(), "HEAD".to_string()])
                    .cache_policy_id(CACHING_DISABLED)
                    .origin_request_policy_id(ALL_VIEWER_EXCEPT_HOST_HEADER)
                    .compress(false)
                    .build_struct(),
            )
            .restrictions(
                DistributionRestrictions::builder()
                    .geo_restriction(
                        DistributionRestrictionsGeoRestriction::builder()
                            .restriction_type("none")
                            .build_struct(),
                    )
                    .build_struct(),
            )
            .viewer_certificate(
                DistributionViewerCertificate::builder()
                    .acm_certificate_arn(domain.certificate_arn.clone())
                    .ssl_support_method("sni-only")
                    .minimum_protocol_version("TLSv1.2_2021")
                    .build_struct(),
            )
            .build_struct(),
    )
}
