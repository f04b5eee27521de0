//! The real Lambda runtime path: the release binary (shipped as `bootstrap`) under the official Lambda Runtime
//! Interface Emulator, invoked with API Gateway v2 and Function URL events.

use std::time::Instant;

use e2e::{Emulator, Moto, Tools, median, sse_messages};
use serde_json::{Value, json};

const KEY: &str = "e2e-lambda-key-91ad";

/// The function binary in `mode` under the emulator, keyed by `MCP_API_KEY`.
fn start_function(tools: &Tools, mode: &str, region: &str) -> Emulator {
    let env = [
        ("MCP_API_KEY", KEY.to_owned()),
        ("MCP_LAMBDA_MODE", mode.to_owned()),
        ("AWS_REGION", region.to_owned()),
    ];
    start_binary(tools, &tools.function, &env)
}

/// Any binary under the emulator; its log goes to the figures folder.
fn start_binary(tools: &Tools, binary: &std::path::Path, env: &[(&str, String)]) -> Emulator {
    let mut env = env.to_vec();
    env.push(("RUST_LOG", "info".into()));
    Emulator::start(&tools.rie, binary, &env, &tools.figures, "rie")
        .expect("start the Runtime Interface Emulator")
}

/// Invokes with an event; returns the raw response body.
fn invoke(rie: &Emulator, event: &Value) -> String {
    rie.invoke(&event.to_string()).expect("invoke").1
}

fn fixture(name: &str) -> Value {
    let path = Tools::from_env()
        .repo
        .join("function/tests/it/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A real event fixture carrying an MCP POST.
fn mcp_event(fixture_name: &str, message: &Value, extra_headers: &[(&str, &str)]) -> Value {
    let mut event = fixture(fixture_name);
    event["rawPath"] = json!("/mcp");
    event["rawQueryString"] = json!("");
    event["requestContext"]["http"]["method"] = json!("POST");
    event["requestContext"]["http"]["path"] = json!("/mcp");
    let headers = event["headers"].as_object_mut().unwrap();
    headers.insert("content-type".into(), json!("application/json"));
    headers.insert(
        "accept".into(),
        json!("application/json, text/event-stream"),
    );
    headers.insert("x-api-key".into(), json!(KEY));
    for (name, value) in extra_headers {
        headers.insert((*name).into(), json!(value));
    }
    event["body"] = json!(message.to_string());
    event["isBase64Encoded"] = json!(false);
    event
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "rie-test", "version": "1"}}})
}

/// An API Gateway v2 (buffered) reply: (statusCode, headers, body).
fn apigw_reply(raw: &str) -> (u64, Value, String) {
    let reply: Value = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}: {raw}"));
    (
        reply["statusCode"].as_u64().unwrap(),
        reply["headers"].clone(),
        reply["body"].as_str().unwrap_or("").to_owned(),
    )
}

#[test]
fn api_gateway_events_under_the_emulator() {
    let tools = Tools::from_env();
    let rie = start_function(&tools, "api-gateway", "us-east-1");

    let (status, headers, body) = apigw_reply(&invoke(
        &rie,
        &mcp_event("apigw_v2_proxy_request.json", &initialize(), &[]),
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["result"]["serverInfo"]["name"], "serverless-mcp");

    let v = [("mcp-protocol-version", "2025-11-25")];
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (_, _, body) = apigw_reply(&invoke(
        &rie,
        &mcp_event("apigw_v2_proxy_request.json", &list, &v),
    ));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 12);

    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_server_status", "arguments": {}}});
    let (_, _, body) = apigw_reply(&invoke(
        &rie,
        &mcp_event("apigw_v2_proxy_request.json", &call, &v),
    ));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["result"]["structuredContent"]["mode"], "api-gateway");
    assert_eq!(body["result"]["structuredContent"]["region"], "us-east-1");

    let mut bad_key = mcp_event("apigw_v2_proxy_request.json", &list, &v);
    bad_key["headers"]["x-api-key"] = json!("wrong");
    let (status, _, body) = apigw_reply(&invoke(&rie, &bad_key));
    assert_eq!(status, 401);
    assert!(!body.contains(KEY));

    let init = rie.init_ms().expect("INIT REPORT in the emulator log");
    tools.record_figure(&format!("RIE init (api-gateway mode): {init:.2} ms"));
    let log = rie.log_text();
    assert!(
        log.contains("\"rpc_method\":\"tools/call\""),
        "no structured access log: {log}"
    );
    assert!(!log.contains(KEY), "the API key leaked into the logs");
}

#[test]
fn function_url_events_stream_under_the_emulator() {
    let tools = Tools::from_env();
    let rie = start_function(&tools, "function-url", "eu-west-2");
    let call = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
        "name": "simulate_job", "arguments": {"steps": 3, "step_ms": 10}, "_meta": {"progressToken": "rie"}}});
    let raw = invoke(
        &rie,
        &mcp_event(
            "lambda_function_url_request.json",
            &call,
            &[("mcp-protocol-version", "2025-11-25")],
        ),
    );
    // A streamed response: JSON prelude, 8 NUL bytes, then the body.
    let (prelude, body) = raw
        .split_once("\0\0\0\0\0\0\0\0")
        .unwrap_or_else(|| panic!("not a streaming reply: {raw}"));
    let prelude: Value = serde_json::from_str(prelude).unwrap();
    assert_eq!(prelude["statusCode"], 200);
    assert_eq!(prelude["headers"]["content-type"], "text/event-stream");
    let messages = sse_messages(body);
    assert_eq!(messages.len(), 4, "{body}");
    assert!(
        messages[..3]
            .iter()
            .all(|m| m["method"] == "notifications/progress")
    );
    assert_eq!(
        messages[3]["result"]["structuredContent"]["steps_completed"],
        3
    );

    let plain = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "get_weather", "arguments": {"city": "Porto"}}});
    let raw = invoke(
        &rie,
        &mcp_event(
            "lambda_function_url_request.json",
            &plain,
            &[("mcp-protocol-version", "2025-11-25")],
        ),
    );
    let (prelude, body) = raw.split_once("\0\0\0\0\0\0\0\0").unwrap();
    assert!(prelude.contains("application/json"), "{prelude}");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["result"]["structuredContent"]["city"], "Porto");
    if let Some(init) = rie.init_ms() {
        tools.record_figure(&format!("RIE init (function-url mode): {init:.2} ms"));
    }
}

#[test]
fn cold_starts_under_fresh_emulators() {
    let tools = Tools::from_env();
    let (mut inits, mut firsts) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let rie = start_function(&tools, "api-gateway", "us-east-1");
        let started = Instant::now();
        let (status, _, _) = apigw_reply(&invoke(
            &rie,
            &mcp_event("apigw_v2_proxy_request.json", &initialize(), &[]),
        ));
        firsts.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200);
        inits.push(rie.init_ms().expect("INIT REPORT"));
    }
    tools.record_figure(&format!(
        "RIE cold start over 5 fresh emulators: init median {:.2} ms, invoke-to-first-response median {:.2} ms",
        median(&inits).expect("5 inits"),
        median(&firsts).expect("5 first responses")
    ));
}

/// An API Gateway authorizer event (payload 2.0) from the aws_lambda_events fixture.
fn authorizer_event(headers: Value) -> Value {
    let path = Tools::from_env()
        .repo
        .join("authorizer/tests/fixtures/example-apigw-v2-custom-authorizer-v2-request.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["headers"] = headers;
    event
}

#[test]
fn authorizer_under_the_emulator_with_secrets_manager() {
    let tools = Tools::from_env();
    let moto = Moto::start(&tools);
    moto.create_secret(
        "mcp/authorizer",
        r#"{"keys": [{"id": "laptop", "key": "auth-key-1"}]}"#,
    );
    let mut env = moto.env();
    env.push(("MCP_API_KEY_SECRET_ID", "mcp/authorizer".into()));
    let rie = start_binary(&tools, &tools.authorizer, &env);

    let decide = |headers: Value| -> Value {
        serde_json::from_str(&invoke(&rie, &authorizer_event(headers))).unwrap()
    };
    let allowed = decide(json!({"x-api-key": "auth-key-1"}));
    assert_eq!(
        allowed,
        json!({"isAuthorized": true, "context": {"keyId": "laptop"}})
    );
    let bearer = decide(json!({"authorization": "Bearer auth-key-1"}));
    assert_eq!(bearer["isAuthorized"], true);
    let denied = decide(json!({"x-api-key": "wrong"}));
    assert_eq!(denied, json!({"isAuthorized": false, "context": {}}));
    let missing = decide(json!({"accept": "*/*"}));
    assert_eq!(missing["isAuthorized"], false);

    let init = rie.init_ms().expect("INIT REPORT");
    tools.record_figure(&format!(
        "RIE init (authorizer, SDK client built lazily): {init:.2} ms"
    ));
    let log = rie.log_text();
    assert!(
        !log.contains("auth-key-1"),
        "a key leaked into the logs: {log}"
    );
    assert!(log.contains("\"key_id\":\"laptop\""), "{log}");
    // Each denial (two above) is one EMF line of the `Denials` metric.
    assert_eq!(log.matches("\"Denials\":1").count(), 2, "{log}");
}

/// `(request id, lines)` of each invoke in an emulator log: the emulator marks where the
/// function gets the event (`INVOKE START(requestId: <id>)`, after the init) and where the
/// invoke ends (`END RequestId: <id>`); the function's JSON lines come in between.
fn invokes_in_log(log: &str) -> Vec<(String, Vec<Value>)> {
    let mut invokes: Vec<(String, Vec<Value>)> = Vec::new();
    let mut open = false;
    for line in log.lines() {
        if let Some(rest) = line.split("INVOKE START(requestId: ").nth(1) {
            let id = rest.split(')').next().unwrap_or_default();
            invokes.push((id.to_owned(), Vec::new()));
            open = true;
        } else if line.contains("END RequestId: ") {
            open = false;
        } else if open && line.starts_with('{') {
            let value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            invokes.last_mut().expect("inside an invoke").1.push(value);
        }
    }
    invokes
}

#[test]
fn every_log_line_of_an_invoke_carries_its_request_id() {
    let tools = Tools::from_env();
    let env = [
        ("MCP_API_KEY", KEY.to_owned()),
        ("MCP_LAMBDA_MODE", "api-gateway".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("MCP_METRICS", "emf".to_owned()),
    ];
    let rie = start_binary(&tools, &tools.function, &env);
    let v = [("mcp-protocol-version", "2025-11-25")];
    // One call on the fast path, one through rmcp (a tool with the request context).
    let calls = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "calculate", "arguments": {"operation": "add", "a": 1, "b": 2}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "simulate_job", "arguments": {"steps": 1, "step_ms": 0}}}),
    ];
    for call in &calls {
        let (status, _, body) = apigw_reply(&invoke(
            &rie,
            &mcp_event("apigw_v2_proxy_request.json", call, &v),
        ));
        assert_eq!(status, 200, "{body}");
    }
    let log = rie.log_text();
    let invokes = invokes_in_log(&log);
    assert_eq!(invokes.len(), 2, "{log}");
    assert_ne!(invokes[0].0, invokes[1].0, "two invokes, two request ids");
    for ((request_id, lines), tool) in invokes.iter().zip(["calculate", "simulate_job"]) {
        assert!(!request_id.is_empty());
        assert!(
            lines.len() >= 2,
            "an access log line and a metrics line: {lines:?}"
        );
        for line in lines {
            assert_eq!(line["requestId"], request_id.as_str(), "{line}");
        }
        let emf: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
        assert_eq!(emf.len(), 1, "one EMF line per tools/call: {lines:?}");
        let emf = emf[0];
        assert_eq!(
            emf["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "serverless-mcp"
        );
        assert_eq!(emf["Tool"], tool);
        assert_eq!(
            (emf["Calls"].as_u64(), emf["Errors"].as_u64()),
            (Some(1), Some(0))
        );
        assert!(
            emf["FunctionName"].as_str().is_some_and(|n| !n.is_empty()),
            "{emf}"
        );
        let access = lines.iter().find(|l| l["message"] == "request");
        assert!(access.is_some_and(|l| l["tool"] == tool), "{lines:?}");
    }
    assert!(!log.contains(KEY), "the API key leaked into the logs");
}
