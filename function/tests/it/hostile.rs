//! The hostile corpus (`tests/hostile/requests.txt`) through lambda_http's own adapters, as
//! API Gateway HTTP API v2 events (buffered) and Function URL events (streaming), in API-key
//! mode and in `both` mode (OAuth endpoints). The same corpus goes over raw sockets to the
//! local server in the e2e tests.

use std::{sync::Arc, time::Duration};

use authorizer::StaticKeys;
use devkit::hostile::{self, Case, Context, Reply};
use function::{
    AppConfig,
    config::LambdaSettings,
    lambda::{lambda_app, safe_event},
};
use futures::StreamExt;
use lambda_http::{
    Adapter, Service, StreamAdapter,
    lambda_runtime::{Context as LambdaContext, LambdaEvent},
    request::LambdaRequest,
};
use serde_json::Value;

const KEY: &str = "hostile-lambda-key-5c2e9";
const SIGNING_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const COGNITO_SECRET: &str = "hostile-cognito-secret";
const APIGW_HOST: &str = "abc123.execute-api.us-east-1.amazonaws.com";
const FUNCTION_URL_HOST: &str = "abc123.lambda-url.us-east-1.on.aws";
/// The most one case may take.
const LIMIT: Duration = Duration::from_secs(5);

fn corpus() -> Vec<Case> {
    hostile::parse(include_str!("../../../tests/hostile/requests.txt")).unwrap()
}

fn config(mode: &str, auth: &str) -> AppConfig {
    let env = |name: &str| {
        match name {
            "MCP_LAMBDA_MODE" => Some(mode),
            "AWS_REGION" => Some("us-east-1"),
            // With no allowed origins the Lambda endpoints do not look at Origin (no browser
            // can use them without CORS); with some, every Origin must be one of them.
            "MCP_ALLOWED_ORIGINS" => Some("https://claude.ai"),
            "MCP_AUTH_MODE" => Some(auth),
            "MCP_OAUTH_SIGNING_KEY" => Some(SIGNING_KEY),
            "MCP_OAUTH_COGNITO_CLIENT_ID" => Some("cid"),
            "MCP_OAUTH_COGNITO_CLIENT_SECRET" => Some(COGNITO_SECRET),
            // Nothing listens there: no hostile request may get as far as Cognito.
            "MCP_OAUTH_COGNITO_URL" => Some("http://127.0.0.1:9"),
            _ => None,
        }
        .map(str::to_owned)
    };
    let mut config = LambdaSettings::from_env(env)
        .unwrap()
        .into_app_config(Arc::new(StaticKeys::single(KEY)));
    let (auth, facade) = function::oauth::auth_from_env(env).unwrap();
    config.auth = auth;
    config.oauth = facade;
    config
}

/// The event as `lambda::run` hands it to lambda_http's adapters: through `safe_event`.
fn lambda_event(event: Value) -> LambdaEvent<LambdaRequest> {
    let payload: LambdaRequest = serde_json::from_value(event).unwrap();
    safe_event(LambdaEvent::new(payload, LambdaContext::default()))
}

/// API Gateway's buffered response, as a reply.
async fn buffered(config: AppConfig, event: Value) -> Reply {
    let mut adapter = Adapter::from(lambda_app(config));
    let response = adapter.call(lambda_event(event)).await.unwrap();
    let response = serde_json::to_value(&response).unwrap();
    let body = response["body"].as_str().unwrap_or("").as_bytes().to_vec();
    let headers = response["headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .map(|(n, v)| (n.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default();
    Reply {
        status: response["statusCode"].as_u64().unwrap() as u16,
        headers,
        body,
    }
}

/// The Function URL's streamed response, collected.
async fn streamed(config: AppConfig, event: Value) -> Reply {
    let mut adapter = StreamAdapter::from(lambda_app(config));
    let response = adapter.call(lambda_event(event)).await.unwrap();
    let prelude = response.metadata_prelude;
    let mut body = Vec::new();
    let mut stream = Box::pin(response.stream);
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    Reply {
        status: prelude.status_code.as_u16(),
        headers: prelude
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    }
}

#[tokio::test]
async fn hostile_events_get_clean_refusals_through_both_adapters() {
    let secrets = [KEY, SIGNING_KEY, COGNITO_SECRET];
    let (mut sent, mut failures) = (0, Vec::new());
    for case in corpus() {
        let Some(expect) = &case.lambda else { continue };
        for (mode, host) in [
            ("api-gateway", APIGW_HOST),
            ("function-url", FUNCTION_URL_HOST),
        ] {
            let auths: &[&str] = if case.oauth {
                &["both"]
            } else {
                &["api-key", "both"]
            };
            for auth in auths {
                let context = Context { host, key: KEY };
                let event = case.lambda_event(&context).unwrap_or_else(|| {
                    panic!(
                        "{}: not an HTTP/1.1 request API Gateway would pass on; mark it `lambda: skip`",
                        case.name
                    )
                });
                let config = config(mode, auth);
                let reply = if mode == "api-gateway" {
                    tokio::time::timeout(LIMIT, buffered(config, event)).await
                } else {
                    tokio::time::timeout(LIMIT, streamed(config, event)).await
                };
                sent += 1;
                let outcome = reply
                    .map_err(|_| format!("no reply within {LIMIT:?}"))
                    .and_then(|reply| hostile::check(expect, Some(&reply), &secrets));
                if let Err(e) = outcome {
                    failures.push(format!("{} ({mode}, {auth}): {e}", case.name));
                }
            }
        }
    }
    assert!(sent > 400, "only {sent} events were sent");
    assert!(
        failures.is_empty(),
        "{} of {sent} hostile events failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
