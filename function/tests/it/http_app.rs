//! The app in-process (tower `oneshot`): every tool, every bad-input case, auth, and the
//! Host/Origin allow-list.

use crate::common::*;
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};

fn initialize(version: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}})
}

#[tokio::test]
async fn health_needs_no_key() {
    let (status, _, body) = send(
        &test_app(),
        Request::get("/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["server"], "serverless-mcp");
}

#[tokio::test]
async fn unknown_paths_are_json_404s() {
    let (status, _, body) = send(
        &test_app(),
        Request::get("/nope").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("/mcp"), "{body}");
}

#[tokio::test]
async fn initialize_negotiates_each_supported_version() {
    let app = test_app();
    for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let request = mcp_post()
            .body(Body::from(initialize(version).to_string()))
            .unwrap();
        let (status, _, body) = send(&app, request).await;
        assert_eq!(status, 200);
        let reply: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(reply["result"]["protocolVersion"], version);
        assert_eq!(reply["result"]["serverInfo"]["name"], "serverless-mcp");
        assert!(
            reply["result"]["instructions"]
                .as_str()
                .unwrap()
                .contains("get_weather")
        );
        assert!(reply["result"]["capabilities"]["tools"].is_object());
    }
    // An unknown (older) version is answered with the newest legacy version we speak.
    let request = mcp_post()
        .body(Body::from(initialize("2024-01-01").to_string()))
        .unwrap();
    let reply: Value = serde_json::from_str(&send(&app, request).await.2).unwrap();
    assert_eq!(reply["result"]["protocolVersion"], "2025-11-25");
}

#[tokio::test]
async fn stateless_replies_carry_no_session_id() {
    let request = mcp_post()
        .body(Body::from(initialize("2025-11-25").to_string()))
        .unwrap();
    let (status, headers, _) = send(&test_app(), request).await;
    assert_eq!(status, 200);
    assert!(headers.get("mcp-session-id").is_none());
}

#[tokio::test]
async fn server_discover_answers_for_2026_07_28() {
    let request = mcp_post()
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "server/discover")
        .body(Body::from(
            json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}}}})
            .to_string(),
        ))
        .unwrap();
    let (status, _, body) = send(&test_app(), request).await;
    assert_eq!(status, 200, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    let versions = reply["result"]["supportedVersions"]
        .as_array()
        .expect("supportedVersions");
    let versions: Vec<&str> = versions.iter().filter_map(Value::as_str).collect();
    for v in ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"] {
        assert!(versions.contains(&v), "{versions:?}");
    }
}

#[tokio::test]
async fn tools_list_has_schemas_annotations_titles_and_output_schemas() {
    let (_, reply) = rpc(
        &test_app(),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    let tools = reply["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for expected in [
        "get_weather",
        "calculate",
        "get_server_status",
        "lookup_user",
        "simulate_job",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    for tool in tools {
        assert!(tool["title"].is_string(), "{tool}");
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["annotations"]["readOnlyHint"], true, "{tool}");
        // Only today's date changes between identical calls.
        let idempotent = tool["name"] != "get_today_date";
        assert_eq!(tool["annotations"]["idempotentHint"], idempotent, "{tool}");
    }
    let calculate = tools.iter().find(|t| t["name"] == "calculate").unwrap();
    assert_eq!(
        calculate["inputSchema"]["required"],
        json!(["operation", "a", "b"])
    );
}

#[tokio::test]
async fn get_weather_is_deterministic_and_structured() {
    let app = test_app();
    let a = call_tool(&app, "get_weather", json!({"city": "Lisbon"})).await;
    let b = call_tool(&app, "get_weather", json!({"city": "lisbon"})).await;
    assert_eq!(a["isError"], false);
    assert_eq!(
        a["structuredContent"]["temperature"],
        b["structuredContent"]["temperature"]
    );
    assert_eq!(a["structuredContent"]["temperature_unit"], "°C");
    assert!(
        a["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Lisbon:")
    );
    let f = call_tool(
        &app,
        "get_weather",
        json!({"city": "Lisbon", "units": "imperial"}),
    )
    .await;
    assert_eq!(f["structuredContent"]["temperature_unit"], "°F");
    let empty = call_tool(&app, "get_weather", json!({"city": " "})).await;
    assert_eq!(empty["isError"], true);
}

#[tokio::test]
async fn calculate_exact_and_errors() {
    let app = test_app();
    let r = call_tool(
        &app,
        "calculate",
        json!({"operation": "add", "a": 0.1, "b": 0.2}),
    )
    .await;
    assert_eq!(r["structuredContent"]["result"], 0.3);
    assert_eq!(r["structuredContent"]["result_text"], "0.3");
    let r = call_tool(
        &app,
        "calculate",
        json!({"operation": "divide", "a": 1, "b": 0}),
    )
    .await;
    assert_eq!(r["isError"], true);
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Division by zero")
    );
    assert!(r.get("structuredContent").is_none());
    let r = call_tool(
        &app,
        "calculate",
        json!({"operation": "multiply", "a": 1e300, "b": 1e300}),
    )
    .await;
    assert_eq!(r["isError"], true);
}

#[tokio::test]
async fn server_status_reports_local_mode() {
    let r = call_tool(&test_app(), "get_server_status", json!({})).await;
    let s = &r["structuredContent"];
    assert_eq!(s["status"], "ok");
    assert_eq!(s["mode"], "local");
    assert_eq!(s["region"], "local");
    assert!(s["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(s["uptime_seconds"].as_f64().unwrap() >= 0.0);
}

#[tokio::test]
async fn lookup_user_found_and_unknown() {
    let app = test_app();
    let r = call_tool(&app, "lookup_user", json!({"user_id": "u-1002"})).await;
    assert_eq!(r["structuredContent"]["name"], "Grace Hopper");
    let r = call_tool(&app, "lookup_user", json!({"user_id": "u-0000"})).await;
    assert_eq!(r["isError"], true);
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("No user with id")
    );
}

#[tokio::test]
async fn simulate_job_streams_progress_as_sse() {
    let message = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "simulate_job", "arguments": {"steps": 3, "step_ms": 1}, "_meta": {"progressToken": "tok"}}});
    let request = mcp_post().body(Body::from(message.to_string())).unwrap();
    let (status, headers, body) = send(&test_app(), request).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    let events: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect();
    let progress: Vec<&Value> = events
        .iter()
        .filter(|e| e["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 3, "{body}");
    assert_eq!(progress[2]["params"]["progress"], 3.0);
    assert_eq!(progress[2]["params"]["total"], 3.0);
    let last = events.last().unwrap();
    assert_eq!(last["id"], 5);
    assert_eq!(
        last["result"]["structuredContent"]["progress_notifications_sent"],
        3
    );
}

#[tokio::test]
async fn simulate_job_without_token_answers_plain_json() {
    let r = call_tool(
        &test_app(),
        "simulate_job",
        json!({"steps": 2, "step_ms": 0}),
    )
    .await;
    assert_eq!(r["structuredContent"]["steps_completed"], 2);
    assert_eq!(r["structuredContent"]["progress_notifications_sent"], 0);
    let r = call_tool(&test_app(), "simulate_job", json!({"steps": 99})).await;
    assert_eq!(r["isError"], true);
}

// --- bad input ---------------------------------------------------------------------------

#[tokio::test]
async fn invalid_params_name_the_field() {
    let app = test_app();
    for (args, field) in [
        (json!({"operation": "add", "a": 1, "b": "two"}), "b"),
        (json!({"operation": "add", "a": 1}), "b"),
        (json!({"operation": "power", "a": 1, "b": 2}), "operation"),
    ] {
        let (status, reply) = rpc(
            &app,
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "calculate", "arguments": args}}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(reply["error"]["code"], -32602, "{reply}");
        assert_eq!(reply["error"]["data"]["field"], field, "{reply}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`"))
        );
    }
    let (_, reply) = rpc(
        &app,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_weather", "arguments": {"city": "x", "extra": 1}}}),
    )
    .await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
}

#[tokio::test]
async fn malformed_tools_call_params_are_invalid_params() {
    let (_, reply) = rpc(
        &test_app(),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": 5}}),
    )
    .await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    assert_eq!(reply["id"], 4);
    let (_, reply) = rpc(
        &test_app(),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call"}),
    )
    .await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
}

#[tokio::test]
async fn unknown_tool_and_unknown_method() {
    let app = test_app();
    let (_, reply) = rpc(
        &app,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "nope"}}),
    )
    .await;
    assert_eq!(reply["error"]["code"], -32602);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Unknown tool: nope")
    );
    let (_, reply) = rpc(
        &app,
        json!({"jsonrpc": "2.0", "id": 1, "method": "no/such/method"}),
    )
    .await;
    assert_eq!(reply["error"]["code"], -32601);
}

#[tokio::test]
async fn malformed_json_is_a_parse_error() {
    let request = mcp_post()
        .body(Body::from("{\"jsonrpc\": \"2.0\","))
        .unwrap();
    let (status, _, body) = send(&test_app(), request).await;
    assert_eq!(status, 400);
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["error"]["code"], -32700);
    assert_eq!(reply["id"], Value::Null);
}

#[tokio::test]
async fn non_object_and_bad_envelopes_are_invalid_requests() {
    for body in ["42", "\"x\"", "{\"id\": 1, \"method\": 7}"] {
        let request = mcp_post().body(Body::from(body)).unwrap();
        let (status, _, reply) = send(&test_app(), request).await;
        assert_eq!(status, 400, "{body}: {reply}");
        let reply: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["error"]["code"], -32600, "{body}: {reply}");
    }
}

#[tokio::test]
async fn batches_are_refused_where_the_version_forbids_them() {
    let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]).to_string();
    for version in ["2025-06-18", "2025-11-25"] {
        let request = mcp_post()
            .header("mcp-protocol-version", version)
            .body(Body::from(batch.clone()))
            .unwrap();
        let (status, _, body) = send(&test_app(), request).await;
        assert_eq!(status, 400);
        let reply: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(reply["error"]["code"], -32600);
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains(version)
        );
    }
}

#[tokio::test]
async fn batches_work_in_2025_03_26() {
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "lookup_user", "arguments": {"user_id": "u-1001"}}}
    ]);
    let request = mcp_post()
        .header("mcp-protocol-version", "2025-03-26")
        .body(Body::from(batch.to_string()))
        .unwrap();
    let (status, _, body) = send(&test_app(), request).await;
    assert_eq!(status, 200, "{body}");
    let replies: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(replies.len(), 2, "{body}");
    assert_eq!(replies[0]["id"], 1);
    assert_eq!(
        replies[1]["result"]["structuredContent"]["name"],
        "Ada Lovelace"
    );
    // Only notifications: 202 and no body.
    let request = mcp_post()
        .body(Body::from(
            json!([{"jsonrpc": "2.0", "method": "notifications/initialized"}]).to_string(),
        ))
        .unwrap();
    assert_eq!(send(&test_app(), request).await.0, 202);
    // Empty batch.
    let request = mcp_post().body(Body::from("[]")).unwrap();
    assert_eq!(send(&test_app(), request).await.0, 400);
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let request = Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "text/plain")
        .header("accept", JSON_AND_SSE)
        .header("x-api-key", KEY)
        .body(Body::from(initialize("2025-11-25").to_string()))
        .unwrap();
    assert_eq!(
        send(&test_app(), request).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn missing_accept_is_406() {
    for accept in [
        None,
        Some("application/json"),
        Some("text/event-stream"),
        Some("*/*"),
    ] {
        let mut builder = Request::post("/mcp")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("x-api-key", KEY);
        if let Some(accept) = accept {
            builder = builder.header("accept", accept);
        }
        let request = builder
            .body(Body::from(initialize("2025-11-25").to_string()))
            .unwrap();
        assert_eq!(
            send(&test_app(), request).await.0,
            StatusCode::NOT_ACCEPTABLE,
            "{accept:?}"
        );
    }
}

#[tokio::test]
async fn oversized_body_is_413() {
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"pad\":\"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let request = mcp_post().body(Body::from(big)).unwrap();
    let (status, _, body) = send(&test_app(), request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("1048576"), "{body}");
}

#[tokio::test]
async fn unsupported_protocol_version_header_is_400() {
    let request = mcp_post()
        .header("mcp-protocol-version", "1999-01-01")
        .body(Body::from(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string(),
        ))
        .unwrap();
    let (status, _, body) = send(&test_app(), request).await;
    assert_eq!(status, 400);
    assert!(body.contains("1999-01-01"), "{body}");
}

#[tokio::test]
async fn get_and_delete_are_405() {
    for method in ["GET", "DELETE", "PUT"] {
        let request = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("host", "localhost")
            .header("accept", JSON_AND_SSE)
            .header("x-api-key", KEY)
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&test_app(), request).await.0,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
    }
}

#[tokio::test]
async fn notifications_get_202() {
    let request = mcp_post()
        .body(Body::from(
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        ))
        .unwrap();
    assert_eq!(send(&test_app(), request).await.0, StatusCode::ACCEPTED);
}

// --- auth --------------------------------------------------------------------------------

fn with_auth(header: Option<(&str, &str)>) -> Request<Body> {
    let mut builder = Request::post("/mcp")
        .header("host", "localhost:8080")
        .header("content-type", "application/json")
        .header("accept", JSON_AND_SSE);
    if let Some((name, value)) = header {
        builder = builder.header(name, value);
    }
    builder
        .body(Body::from(initialize("2025-11-25").to_string()))
        .unwrap()
}

#[tokio::test]
async fn api_key_in_header_or_bearer_is_accepted() {
    assert_eq!(
        send(&test_app(), with_auth(Some(("x-api-key", KEY))))
            .await
            .0,
        200
    );
    assert_eq!(
        send(
            &test_app(),
            with_auth(Some(("authorization", &format!("Bearer {KEY}"))))
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn missing_or_wrong_key_is_401_without_details() {
    let wrong_bearer = format!("Basic {KEY}");
    let near_miss = format!("{KEY}x");
    for header in [
        None,
        Some(("x-api-key", "wrong")),
        Some(("x-api-key", "")),
        Some(("x-api-key", near_miss.as_str())),
        Some(("authorization", wrong_bearer.as_str())),
        Some(("authorization", "Bearer wrong")),
    ] {
        let (status, headers, body) = send(&test_app(), with_auth(header)).await;
        assert_eq!(status, 401, "{header:?}");
        assert_eq!(headers["content-type"], "application/json");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"], "unauthorized");
        assert!(!body.to_string().contains(KEY));
    }
}

#[tokio::test]
async fn unauthenticated_requests_learn_nothing_about_the_body() {
    // A malformed body without a key is a 401, not a parse error.
    let request = Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", JSON_AND_SSE)
        .body(Body::from("{not json"))
        .unwrap();
    assert_eq!(send(&test_app(), request).await.0, 401);
}

// --- host and origin ---------------------------------------------------------------------

#[tokio::test]
async fn foreign_hosts_are_refused_locally() {
    for host in ["evil.example.com", "localhost.evil.com:8080", "10.0.0.1"] {
        let request = Request::post("/mcp")
            .header("host", host)
            .header("content-type", "application/json")
            .header("accept", JSON_AND_SSE)
            .header("x-api-key", KEY)
            .body(Body::from(initialize("2025-11-25").to_string()))
            .unwrap();
        let (status, _, body) = send(&test_app(), request).await;
        assert_eq!(status, 403, "{host}");
        assert!(body.contains("Host"), "{body}");
    }
}

#[tokio::test]
async fn browser_origins_must_be_loopback_locally() {
    for (origin, expected) in [
        ("http://localhost:6274", 200),
        ("https://evil.example.com", 403),
        ("null", 403),
    ] {
        let request = mcp_post()
            .header("origin", origin)
            .body(Body::from(initialize("2025-11-25").to_string()))
            .unwrap();
        assert_eq!(send(&test_app(), request).await.0, expected, "{origin}");
    }
}

#[tokio::test]
async fn cors_preflight_and_replies_for_allowed_browser_origins() {
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/mcp")
            .header("host", "127.0.0.1:8080")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, x-api-key, mcp-protocol-version",
            )
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, _) = send(&test_app(), preflight("http://localhost:6274")).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:6274"
    );
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("x-api-key") && allowed.contains("mcp-protocol-version"),
        "{allowed}"
    );
    let (_, headers, _) = send(&test_app(), preflight("https://evil.example.com")).await;
    assert!(headers.get("access-control-allow-origin").is_none());
    // The real request from the allowed origin carries the header too.
    let request = mcp_post()
        .header("origin", "http://localhost:6274")
        .body(Body::from(initialize("2025-11-25").to_string()))
        .unwrap();
    let (status, headers, _) = send(&test_app(), request).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:6274"
    );
}

#[tokio::test]
async fn a_trailing_slash_reaches_the_endpoint() {
    let request = Request::post("/mcp/")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", JSON_AND_SSE)
        .header("x-api-key", KEY)
        .body(Body::from(initialize("2025-11-25").to_string()))
        .unwrap();
    assert_eq!(send(&test_app(), request).await.0, 200);
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let mut config =
        function::AppConfig::local(std::sync::Arc::new(authorizer::StaticKeys::single(KEY)));
    config.max_body_bytes = 2048;
    let app = function::app(config);
    let body =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "pad": "x".repeat(3000)}).to_string();
    let (status, _, reply) = send(&app, mcp_post().body(Body::from(body)).unwrap()).await;
    assert_eq!(status, 413, "{reply}");
    assert!(reply.contains("2048"));
}
