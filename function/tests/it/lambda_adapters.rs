//! The app behind lambda_http's own adapters, fed real API Gateway v2 and Function URL event
//! fixtures (from the lambda_http crate's test data), with the bodies and headers of MCP calls.

use std::sync::Arc;

use authorizer::StaticKeys;
use function::{
    AppConfig,
    config::{LambdaSettings, RunMode},
    lambda::lambda_app,
};
use futures::StreamExt;
use lambda_http::{
    Adapter, Service, StreamAdapter,
    lambda_runtime::{Context, LambdaEvent},
    request::LambdaRequest,
};
use serde_json::{Value, json};

const KEY: &str = "lambda-test-key";

fn config(mode: &str, region: &str) -> AppConfig {
    let env = |name: &str| match name {
        "MCP_LAMBDA_MODE" => Some(mode.to_owned()),
        "AWS_REGION" => Some(region.to_owned()),
        _ => None,
    };
    LambdaSettings::from_env(env)
        .unwrap()
        .into_app_config(Arc::new(StaticKeys::single(KEY)))
}

/// A fixture event turned into an MCP POST.
fn event(fixture: &str, path: &str, headers: Value, body: &Value) -> LambdaEvent<LambdaRequest> {
    event_with_method(fixture, "POST", path, headers, body)
}

fn event_with_method(
    fixture: &str,
    method: &str,
    path: &str,
    headers: Value,
    body: &Value,
) -> LambdaEvent<LambdaRequest> {
    let mut event: Value = serde_json::from_str(fixture).unwrap();
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!("");
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    let mut all_headers = event["headers"].as_object().cloned().unwrap_or_default();
    all_headers.remove("accept");
    for (k, v) in headers.as_object().unwrap() {
        all_headers.insert(k.clone(), v.clone());
    }
    event["headers"] = Value::Object(all_headers);
    event["body"] = json!(body.to_string());
    event["isBase64Encoded"] = json!(false);
    let payload: LambdaRequest = serde_json::from_value(event).unwrap();
    LambdaEvent::new(payload, Context::default())
}

fn mcp_headers(key: &str) -> Value {
    json!({
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "x-api-key": key,
        "mcp-protocol-version": "2025-11-25"
    })
}

const APIGW: &str = include_str!("fixtures/apigw_v2_proxy_request.json");
const APIGW_STAGE: &str = include_str!("fixtures/apigw_v2_proxy_request_with_stage_in_path.json");
const FUNCTION_URL: &str = include_str!("fixtures/lambda_function_url_request.json");

/// Runs one event through the buffered adapter; returns (statusCode, headers, body JSON).
async fn buffered(config: AppConfig, event: LambdaEvent<LambdaRequest>) -> (u16, Value, Value) {
    let mut adapter = Adapter::from(lambda_app(config));
    let response = adapter.call(event).await.unwrap();
    let response = serde_json::to_value(&response).unwrap();
    let body = response["body"].as_str().unwrap_or("");
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()));
    (
        response["statusCode"].as_u64().unwrap() as u16,
        response["headers"].clone(),
        body,
    )
}

#[tokio::test]
async fn api_gateway_initialize_list_and_call() {
    let cfg = || config("api-gateway", "us-east-1");
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let (status, headers, body) =
        buffered(cfg(), event(APIGW, "/mcp", mcp_headers(KEY), &init)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["result"]["protocolVersion"], "2025-11-25");

    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (_, _, body) = buffered(cfg(), event(APIGW, "/mcp", mcp_headers(KEY), &list)).await;
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 12);

    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_server_status", "arguments": {}}});
    let (_, _, body) = buffered(cfg(), event(APIGW, "/mcp", mcp_headers(KEY), &call)).await;
    assert_eq!(body["result"]["structuredContent"]["mode"], "api-gateway");
    assert_eq!(body["result"]["structuredContent"]["region"], "us-east-1");
}

#[tokio::test]
async fn the_metrics_line_carries_the_lambda_request_id() {
    let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let captured = lines.clone();
    let mut cfg = config("api-gateway", "us-east-1");
    cfg.metrics = Some(function::metrics::Metrics::new(
        "f",
        Arc::new(move |line: &str| captured.lock().unwrap().push(line.to_owned())),
    ));
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "calculate", "arguments": {"operation": "add", "a": 1, "b": 2}}});
    let mut event = event(APIGW, "/mcp", mcp_headers(KEY), &call);
    event.context.request_id = "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc".into();
    let (status, _, body) = buffered(cfg, event).await;
    assert_eq!(status, 200, "{body}");
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(line["requestId"], "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc");
    assert_eq!(line["Tool"], "calculate");
}

#[tokio::test]
async fn api_gateway_named_stage_prefix_is_served() {
    let mut fixture: Value = serde_json::from_str(APIGW_STAGE).unwrap();
    fixture["requestContext"]["stage"] = json!("dev");
    fixture["requestContext"]["domainName"] = json!("abc123.execute-api.us-east-1.amazonaws.com");
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "calculate", "arguments": {"operation": "multiply", "a": 6, "b": 7}}});
    let ev = event(&fixture.to_string(), "/dev/mcp", mcp_headers(KEY), &call);
    let (status, _, body) = buffered(config("api-gateway", "us-east-1"), ev).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["structuredContent"]["result"], 42.0);
}

#[tokio::test]
async fn api_gateway_wrong_key_is_401() {
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (status, _, body) = buffered(
        config("api-gateway", "us-east-1"),
        event(APIGW, "/mcp", mcp_headers("nope"), &list),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn foreign_region_hosts_are_refused_by_default() {
    // The API Gateway fixture's domain is in us-east-1; a function in eu-west-1 does not
    // accept it unless MCP_ALLOWED_HOSTS lists it.
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (status, _, _) = buffered(
        config("api-gateway", "eu-west-1"),
        event(APIGW, "/mcp", mcp_headers(KEY), &list),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn function_url_buffered_call_works() {
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "lookup_user", "arguments": {"user_id": "u-1003"}}});
    let (status, _, body) = buffered(
        config("function-url", "eu-west-2"),
        event(FUNCTION_URL, "/mcp", mcp_headers(KEY), &call),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["structuredContent"]["name"], "Alan Turing");
}

#[tokio::test]
async fn function_url_streams_progress_incrementally() {
    let cfg = config("function-url", "eu-west-2");
    assert_eq!(cfg.mode, RunMode::FunctionUrl);
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {
        "name": "simulate_job", "arguments": {"steps": 3, "step_ms": 150}, "_meta": {"progressToken": 1}}});
    let mut adapter = StreamAdapter::from(lambda_app(cfg));
    let response = adapter
        .call(event(FUNCTION_URL, "/mcp", mcp_headers(KEY), &call))
        .await
        .unwrap();
    assert_eq!(response.metadata_prelude.status_code, 200);
    assert_eq!(
        response.metadata_prelude.headers["content-type"],
        "text/event-stream"
    );
    // Chunks arrive over time: the first progress event comes long before the final result.
    let started = std::time::Instant::now();
    let mut stream = Box::pin(response.stream);
    let mut arrivals = Vec::new();
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        let chunk = String::from_utf8_lossy(&chunk).into_owned();
        if chunk.contains("data:") {
            arrivals.push((started.elapsed(), chunk.clone()));
        }
        text.push_str(&chunk);
        if text.contains("\"id\":9") {
            break;
        }
    }
    let first_progress = arrivals
        .iter()
        .find(|(_, c)| c.contains("notifications/progress"))
        .expect("a progress event");
    let result = arrivals
        .iter()
        .find(|(_, c)| c.contains("\"id\":9"))
        .expect("the result");
    assert!(
        result.0.saturating_sub(first_progress.0) >= std::time::Duration::from_millis(250),
        "progress and result arrived together: {arrivals:?}"
    );
    assert_eq!(text.matches("notifications/progress").count(), 3);
}

const WITH_AUTHORIZER: &str =
    include_str!("fixtures/example-apigw-v2-request-lambda-authorizer.json");

fn authorized_event(key_id: Option<&str>) -> LambdaEvent<LambdaRequest> {
    let mut fixture: Value = serde_json::from_str(WITH_AUTHORIZER).unwrap();
    fixture["requestContext"]["stage"] = json!("$default");
    fixture["requestContext"]["domainName"] = json!("abc.execute-api.us-east-1.amazonaws.com");
    fixture["headers"] = json!({});
    match key_id {
        Some(id) => fixture["requestContext"]["authorizer"] = json!({"lambda": {"keyId": id}}),
        None => fixture["requestContext"]["authorizer"] = json!({"lambda": {"other": "x"}}),
    }
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let headers = json!({
        "host": "abc.execute-api.us-east-1.amazonaws.com",
        "content-type": "application/json",
        "accept": "application/json, text/event-stream"
    });
    event(&fixture.to_string(), "/mcp", headers, &list)
}

#[tokio::test]
async fn api_gateway_trusts_the_authorizer_verdict() {
    // No key in the request: API Gateway's authorizer already checked it.
    let (status, _, body) = buffered(
        config("api-gateway", "us-east-1"),
        authorized_event(Some("laptop")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 12);
}

#[tokio::test]
async fn authorizer_context_without_a_key_id_is_not_trusted() {
    let (status, _, _) = buffered(config("api-gateway", "us-east-1"), authorized_event(None)).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn function_url_mode_never_trusts_an_authorizer_context() {
    let mut cfg = config("function-url", "us-east-1");
    cfg.allowed_hosts = vec!["*.execute-api.us-east-1.amazonaws.com".into()];
    let (status, _, _) = buffered(cfg, authorized_event(Some("laptop"))).await;
    assert_eq!(status, 401);
}

/// The app in `both` mode with OAuth settings that never reach the network here.
fn oauth_config(mode: &str, region: &str) -> AppConfig {
    let env = |name: &str| match name {
        "MCP_AUTH_MODE" => Some("both".to_owned()),
        "MCP_OAUTH_COGNITO_URL" => Some("https://mcp-dev.auth.us-east-1.amazoncognito.com".into()),
        "MCP_OAUTH_SIGNING_KEY" => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
        "MCP_OAUTH_COGNITO_CLIENT_ID" => Some("cid".into()),
        "MCP_OAUTH_COGNITO_CLIENT_SECRET" => Some("cs".into()),
        _ => None,
    };
    let mut config = config(mode, region);
    (config.auth, config.oauth) = function::oauth::auth_from_env(env).unwrap();
    config
}

/// The Function URL is its own endpoint: its host is the issuer and its `/mcp` the resource.
#[tokio::test]
async fn function_url_has_its_own_oauth_urls() {
    let host = "id.lambda-url.eu-west-2.on.aws";
    let ev = event_with_method(
        FUNCTION_URL,
        "GET",
        "/.well-known/oauth-protected-resource/mcp",
        json!({"host": host}),
        &json!(null),
    );
    let (status, _, body) = buffered(oauth_config("function-url", "eu-west-2"), ev).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resource"], format!("https://{host}/mcp"));
    assert_eq!(
        body["authorization_servers"],
        json!([format!("https://{host}")])
    );
}

/// Behind a named API Gateway stage the OAuth issuer and resource carry the stage prefix, and
/// an unkeyed request the `both`-mode authorizer let through (empty `keyId`) gets the challenge.
#[tokio::test]
async fn api_gateway_stage_prefix_is_part_of_the_oauth_urls() {
    let stage_config = || oauth_config("api-gateway", "us-east-1");
    let host = "abc123.execute-api.us-east-1.amazonaws.com";
    let mut fixture: Value = serde_json::from_str(APIGW_STAGE).unwrap();
    fixture["requestContext"]["stage"] = json!("dev");
    fixture["requestContext"]["domainName"] = json!(host);
    fixture["requestContext"]["authorizer"] = json!({"lambda": {"keyId": ""}});
    let fixture = fixture.to_string();

    let ev = event_with_method(
        &fixture,
        "GET",
        "/dev/.well-known/oauth-authorization-server",
        json!({"host": host}),
        &json!(null),
    );
    let (status, _, body) = buffered(stage_config(), ev).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issuer"], format!("https://{host}/dev"));
    assert_eq!(
        body["authorization_endpoint"],
        format!("https://{host}/dev/authorize")
    );

    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let mut headers = mcp_headers("");
    headers["host"] = json!(host);
    headers.as_object_mut().unwrap().remove("x-api-key");
    let (status, headers, _) =
        buffered(stage_config(), event(&fixture, "/dev/mcp", headers, &list)).await;
    assert_eq!(status, 401);
    assert_eq!(
        headers["www-authenticate"],
        format!(
            "Bearer resource_metadata=\"https://{host}/dev/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:tools\""
        )
    );
}
