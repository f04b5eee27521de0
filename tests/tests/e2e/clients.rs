//! Real MCP clients against the local server over loopback: the official Python SDK client
//! (both protocol generations) and the MCP Inspector CLI.

use std::process::Command;

use e2e::{LocalServer, Moto, Response, Tools, get, post};
use serde_json::Value;

const KEY: &str = "e2e-local-key-4f1c";

fn python_check(tools: &Tools, url: &str, key: &str, mode: &str) -> (bool, Value) {
    let output = Command::new(&tools.python)
        .arg(tools.repo.join("tests/python/mcp_client_check.py"))
        .args([url, key, mode])
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no JSON report; stdout: {stdout}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    (output.status.success(), report)
}

#[test]
fn python_sdk_client_uses_every_tool_in_both_protocol_generations() {
    let tools = Tools::from_env();
    let server = LocalServer::start(&tools.function, KEY);
    tools.record_figure(&format!(
        "local server start-to-first-response: {:.1} ms",
        server.start_to_first_response.as_secs_f64() * 1000.0
    ));
    for (mode, version) in [("legacy", "2025-11-25"), ("auto", "2026-07-28")] {
        let (ok, report) = python_check(&tools, &server.url, KEY, mode);
        assert!(ok, "Python client ({mode}) failed: {report}");
        assert_eq!(report["protocol_version"], version);
        assert_eq!(report["tools"].as_array().unwrap().len(), 12, "{report}");
        assert_eq!(report["progress"].as_array().unwrap().len(), 3, "{report}");
    }
    tools.record_figure("python mcp 2.3.0 client: 2025-11-25 and 2026-07-28 sessions passed (list + 8 calls + progress each)");
}

#[test]
fn python_sdk_client_is_refused_with_a_wrong_key() {
    let tools = Tools::from_env();
    let server = LocalServer::start(&tools.function, KEY);
    let (ok, report) = python_check(&tools, &server.url, "not-the-key", "legacy");
    assert!(!ok, "a wrong key must not connect: {report}");
}

fn inspector(tools: &Tools, url: &str, key: &str, args: &[&str]) -> (bool, String, String) {
    let output = tools
        .npm_command("mcp-inspector")
        .args([
            "--cli",
            url,
            "--transport",
            "http",
            "--header",
            &format!("x-api-key: {key}"),
        ])
        .args(args)
        .output()
        .expect("run the MCP Inspector CLI");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn inspector_cli_lists_and_calls_tools() {
    let tools = Tools::from_env();
    let server = LocalServer::start(&tools.function, KEY);

    let (ok, stdout, stderr) = inspector(&tools, &server.url, KEY, &["--method", "tools/list"]);
    assert!(ok, "{stderr}");
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 12, "{names:?}");
    assert!(
        !stderr.contains("unknown format"),
        "schemas use non-standard formats: {stderr}"
    );

    let (ok, stdout, stderr) = inspector(
        &tools,
        &server.url,
        KEY,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "calculate",
            "--tool-arg",
            "operation=multiply",
            "--tool-arg",
            "a=6",
            "--tool-arg",
            "b=7",
        ],
    );
    assert!(ok, "{stderr}");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["structuredContent"]["result"], 42.0);
    assert_eq!(result["isError"], false);

    let (ok, _, stderr) = inspector(&tools, &server.url, "wrong", &["--method", "tools/list"]);
    assert!(!ok);
    assert!(stderr.contains("unauthorized"), "{stderr}");
}

#[test]
fn local_server_health_and_raw_http() {
    let tools = Tools::from_env();
    let server = LocalServer::start(&tools.function, KEY);
    let Response { status, body, .. } = get(&format!("{}/health", server.base)).unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("\"ok\""));
    // A streamed reply over a real socket: progress events, then the result.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"simulate_job","arguments":{"steps":2,"step_ms":10},"_meta":{"progressToken":"p"}}}"#;
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("x-api-key", KEY),
    ];
    let Response {
        status,
        content_type,
        body: text,
    } = post(&server.url, &headers, body).unwrap();
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/event-stream");
    let messages = e2e::sse_messages(&text);
    assert_eq!(messages.len(), 3, "{text}");
    assert_eq!(
        messages[2]["result"]["structuredContent"]["steps_completed"],
        2
    );
}

#[test]
fn local_server_with_keys_from_secrets_manager() {
    let tools = Tools::from_env();
    let moto = Moto::start(&tools);
    moto.create_secret("mcp/local", "sm-key-7d2e");
    let mut env = moto.env();
    env.push(("MCP_API_KEY_SECRET_ID", "mcp/local".into()));
    let server = LocalServer::start_with_env(&tools.function, &env);
    let (ok, report) = python_check(&tools, &server.url, "sm-key-7d2e", "legacy");
    assert!(
        ok,
        "the key from Secrets Manager was not accepted: {report}"
    );
    let (ok, report) = python_check(&tools, &server.url, "not-the-key", "legacy");
    assert!(!ok, "a wrong key was accepted: {report}");
}
