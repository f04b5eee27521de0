//! The API Gateway Lambda authorizer: checks `x-api-key` / `Authorization: Bearer` against the
//! Secrets Manager secret named by `MCP_API_KEY_SECRET_ID` (ARN or name). With
//! `MCP_AUTH_MODE=both` it never denies (see `lambda::AuthorizerMode`).
#![forbid(unsafe_code)]

use std::{
    io::Write,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use authorizer::{
    CacheSettings, CachedVerifier, SecretsManagerSource,
    lambda::{AuthorizerMode, authorize, denial_emf_line},
};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{LambdaEvent, service_fn};

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

// Lambda sends one request at a time per instance: one thread starts faster and stays smaller.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    authorizer::init_logging(true);
    let secret_id = env_var("MCP_API_KEY_SECRET_ID")
        .filter(|s| !s.trim().is_empty())
        .context("MCP_API_KEY_SECRET_ID is not set: the authorizer needs the API key secret's ARN or name")?;
    let settings = CacheSettings::from_env(env_var).map_err(anyhow::Error::msg)?;
    let mode = AuthorizerMode::from_env(env_var("MCP_AUTH_MODE").as_deref())
        .map_err(anyhow::Error::msg)?;
    // The SDK client is built on the first request, off the init path.
    let verifier = Arc::new(CachedVerifier::new(
        SecretsManagerSource::new(secret_id),
        settings,
    ));
    let function_name: Arc<str> = env_var("AWS_LAMBDA_FUNCTION_NAME")
        .unwrap_or_else(|| "authorizer".into())
        .into();
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| {
            let verifier = verifier.clone();
            let function_name = function_name.clone();
            async move {
                let response = authorize(&event.payload, verifier.as_ref(), mode).await;
                if !response.is_authorized {
                    let now_ms = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64);
                    let line = denial_emf_line(&function_name, &event.context.request_id, now_ms);
                    let _ = std::io::stdout().lock().write_all(line.as_bytes());
                }
                tracing::info!(
                    authorized = response.is_authorized,
                    key_id = response.context.get("keyId").and_then(|v| v.as_str()),
                    "authorizer decision"
                );
                Ok::<_, lambda_runtime::Error>(response)
            }
        },
    ))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
