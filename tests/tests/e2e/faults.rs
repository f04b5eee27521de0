//! Injected faults against the real binaries: the function (the local server) with Secrets
//! Manager (moto, behind a fault-injecting proxy) and Cost Explorer (a fault-injecting stub),
//! and the authorizer under the Lambda Runtime Interface Emulator. The full matrix
//! of faults runs in-process (function/tests/it/faults.rs); this checks the shipped process:
//! it fails closed within a bound, keeps serving, logs one line per incident and recovers by
//! itself.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use authorizer::source::FETCH_TIMEOUT;
use devkit::{Fault, FaultServer, Upstream};
use e2e::{Emulator, Moto, Process, Tools, free_port, get, post, wait_until_up};
use serde_json::{Value, json};

const KEY: &str = "e2e-faults-key-7c21";
const SECRET: &str = "mcp/e2e-faults";

struct Server {
    base: String,
    log: std::path::PathBuf,
    _process: Process,
}

impl Server {
    fn rpc(&self, message: &Value) -> (u16, Value) {
        let host = self.base.trim_start_matches("http://").to_owned();
        let response = post(
            &format!("{}/mcp", self.base),
            &[
                ("host", host.as_str()),
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                ("mcp-protocol-version", "2025-11-25"),
                ("x-api-key", KEY),
            ],
            &message.to_string(),
        )
        .expect("the server answers");
        let body = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        (response.status, body)
    }

    fn call(&self, tool: &str, arguments: Value) -> Value {
        let (status, body) = self.rpc(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}));
        assert_eq!(status, 200, "{tool}: {body}");
        body["result"].clone()
    }

    fn tools_list(&self) -> u16 {
        self.rpc(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            .0
    }

    fn log_lines(&self, needle: &str) -> usize {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().filter(|l| l.contains(needle)).count()
    }
}

fn start(tools: &Tools, secrets: &FaultServer, cost: &FaultServer) -> Server {
    let port = free_port();
    // In the figures folder: kept, and searched for secrets after the run.
    let log = tools.figures.join(format!("faults-function-{port}.log"));
    devkit::logs::register_secret(KEY);
    let log_file = std::fs::File::create(&log).expect("log file");
    let process = Process::spawn(
        Command::new(&tools.function)
            .args(["--port", &port.to_string()])
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env_remove("MCP_API_KEY")
            .env_remove("AWS_PROFILE")
            .envs([
                ("MCP_API_KEY_SECRET_ID", SECRET),
                // Every request after a second refreshes the keys, and nothing stale is
                // served: an outage is felt at once.
                ("MCP_KEY_CACHE_TTL_SECONDS", "1"),
                ("MCP_KEY_MAX_STALE_SECONDS", "0"),
                (
                    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                    secrets.endpoint.as_str(),
                ),
                ("AWS_ENDPOINT_URL_COST_EXPLORER", cost.endpoint.as_str()),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                ("RUST_LOG", "info"),
            ])
            .stdout(Stdio::null())
            .stderr(log_file),
    )
    .expect("start the function");
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        wait_until_up(&format!("{base}/health"), Duration::from_secs(20)).is_some(),
        "the local server did not start"
    );
    Server {
        base,
        log,
        _process: process,
    }
}

fn cost_answer() -> String {
    json!({"ResultsByTime": [{"TimePeriod": {"Start": "2026-01-01", "End": "2026-02-01"},
        "Total": {"UnblendedCost": {"Amount": "12.5", "Unit": "USD"}}, "Groups": [], "Estimated": false}]})
    .to_string()
}

#[test]
fn the_function_binary_fails_closed_logs_once_and_recovers() {
    let tools = Tools::from_env();
    let moto = Moto::start(&tools);
    moto.create_secret(SECRET, KEY);
    let secrets = FaultServer::start(Upstream::Forward(
        moto.endpoint.trim_start_matches("http://").to_owned(),
    ));
    let cost = FaultServer::start(Upstream::Canned(vec![(
        "GetCostAndUsage".into(),
        cost_answer(),
    )]));
    let server = start(&tools, &secrets, &cost);
    assert_eq!(server.tools_list(), 200, "keys through the proxy from moto");

    // Cost Explorer: a clear tool error, other tools unaffected, nothing cached from a failure.
    let cost_faults = [
        (
            "throttling",
            Fault::Error(400, "LimitExceededException".into(), "Rate exceeded".into()),
            "rate-limiting",
        ),
        ("HTTP 503", Fault::server_error(503), "try again"),
        (
            "malformed JSON",
            Fault::Body("{\"ResultsByTime\": [".into()),
            "could not be read",
        ),
    ];
    let mut slowest_cost_failure = Duration::ZERO;
    for (n, (name, fault, expect)) in cost_faults.iter().enumerate() {
        let query = json!({"start_date": format!("2025-0{}-01", n + 1), "end_date": format!("2025-0{}-01", n + 2)});
        cost.set(fault.clone());
        let started = Instant::now();
        let failed = server.call("get_cost_and_usage", query.clone());
        let took = started.elapsed();
        slowest_cost_failure = slowest_cost_failure.max(took);
        assert_eq!(failed["isError"], true, "{name}: {failed}");
        let text = failed["content"][0]["text"].as_str().unwrap_or("");
        assert!(text.contains(expect), "{name}: {text}");
        assert!(took < Duration::from_secs(10), "{name}: {took:?}");
        let weather = server.call("get_weather", json!({"city": "Lisbon"}));
        assert_eq!(weather["isError"], false, "{name}: {weather}");

        cost.set(Fault::Pass);
        let calls = cost.calls("GetCostAndUsage");
        let answered = server.call("get_cost_and_usage", query.clone());
        assert_eq!(answered["isError"], false, "{name}: {answered}");
        assert_eq!(answered["structuredContent"]["cached"], false, "{name}");
        assert_eq!(
            cost.calls("GetCostAndUsage"),
            calls + 1,
            "{name}: a real call"
        );
        let again = server.call("get_cost_and_usage", query);
        assert_eq!(again["structuredContent"]["cached"], true, "{name}");
    }

    // Secrets Manager stops answering: every request is refused within the fetch bound, the
    // process keeps serving, and one fetch is made per retry interval.
    std::thread::sleep(Duration::from_millis(1100)); // the cached keys expire
    secrets.set(Fault::Hang);
    let fetches = secrets.requests();
    let started = Instant::now();
    assert_eq!(server.tools_list(), 401, "fails closed");
    let first_denial = started.elapsed();
    assert!(
        first_denial < FETCH_TIMEOUT + Duration::from_secs(1),
        "{first_denial:?}"
    );
    let denied = 20;
    for _ in 0..denied {
        let started = Instant::now();
        assert_eq!(server.tools_list(), 401);
        assert!(started.elapsed() < Duration::from_millis(500));
    }
    assert_eq!(get(&format!("{}/health", server.base)).unwrap().status, 200);
    assert_eq!(
        secrets.requests() - fetches,
        1,
        "one fetch for {denied} requests"
    );

    // It comes back: the next fetch (after the 10 s retry interval) restores the keys.
    secrets.set(Fault::Pass);
    let cleared = Instant::now();
    let mut status = 401;
    while status != 200 && cleared.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(250));
        status = server.tools_list();
    }
    let recovered_in = cleared.elapsed();
    assert_eq!(status, 200, "recovered by itself");

    let outage_lines = server.log_lines("could not load the API keys");
    let recovery_lines = server.log_lines("API keys loaded again");
    assert_eq!(
        (outage_lines, recovery_lines),
        (1, 1),
        "one line each per incident"
    );
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(!log.contains(KEY), "the key reached the log");

    tools.record_figure(&format!(
        "faults (function binary): {} injected (Cost Explorer {}: throttling, 503, malformed JSON; \
         Secrets Manager 1: no answer); Cost Explorer failed as a tool error within {:.1} s and \
         recovered on the next call; Secrets Manager: first request refused (401) in {:.1} s, \
         {denied} more refused with no further fetch, recovered {:.1} s after the fault cleared, \
         log lines for the incident: {outage_lines} outage + {recovery_lines} recovery",
        cost_faults.len() + 1,
        cost_faults.len(),
        slowest_cost_failure.as_secs_f64(),
        first_denial.as_secs_f64(),
        recovered_in.as_secs_f64(),
    ));
}

/// An API Gateway authorizer event (payload 2.0) carrying `key`.
fn authorizer_event(tools: &Tools, key: &str) -> String {
    let path = tools
        .repo
        .join("authorizer/tests/fixtures/example-apigw-v2-custom-authorizer-v2-request.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["headers"] = json!({"x-api-key": key});
    event.to_string()
}

#[test]
fn the_authorizer_denies_while_secrets_manager_throttles_and_recovers() {
    let tools = Tools::from_env();
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 7 * 86_400;
    let answer = json!({"Name": SECRET, "VersionId": "v1", "SecretString": KEY,
        "VersionStages": ["AWSCURRENT"], "CreatedDate": created});
    let secrets = FaultServer::start(Upstream::Canned(vec![(
        "GetSecretValue".into(),
        answer.to_string(),
    )]));
    secrets.set(Fault::throttling());
    let env = [
        ("MCP_API_KEY_SECRET_ID", SECRET.to_owned()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("RUST_LOG", "info".into()),
    ];
    let rie = Emulator::start(
        &tools.rie,
        &tools.authorizer,
        &env,
        &tools.figures,
        "rie-faults",
    )
    .expect("start the Runtime Interface Emulator");
    let event = authorizer_event(&tools, KEY);
    let decide = || -> (bool, Duration) {
        let (took, reply) = rie.invoke(&event).expect("invoke");
        let reply: Value = serde_json::from_str(&reply).unwrap();
        (reply["isAuthorized"] == true, took)
    };

    let (authorized, first) = decide();
    assert!(!authorized, "fails closed while throttled");
    assert!(first < FETCH_TIMEOUT + Duration::from_secs(1), "{first:?}");
    let denied = 10;
    for _ in 0..denied {
        let (authorized, took) = decide();
        assert!(!authorized && took < Duration::from_millis(500), "{took:?}");
    }
    let sent = secrets.requests();
    assert!(
        (1..=3).contains(&sent),
        "{sent} requests: one fetch and the SDK's retries"
    );

    secrets.set(Fault::Pass);
    let cleared = Instant::now();
    let mut authorized = false;
    while !authorized && cleared.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(250));
        authorized = decide().0;
    }
    let recovered_in = cleared.elapsed();
    assert!(authorized, "recovered by itself");
    let log = rie.log_text();
    let outage = log.matches("could not load the API keys").count();
    let recovery = log.matches("API keys loaded again").count();
    assert_eq!(
        (outage, recovery),
        (1, 1),
        "one line each per incident: {log}"
    );
    assert!(
        log.contains("ThrottlingException"),
        "the log says why: {log}"
    );
    assert!(!log.contains(KEY), "the key reached the log");
    tools.record_figure(&format!(
        "faults (authorizer under the RIE): Secrets Manager throttling: {} invokes denied with {sent} \
         GetSecretValue requests (first denial in {:.1} s), recovered {:.1} s after the fault \
         cleared, log lines: {outage} outage + {recovery} recovery",
        denied + 1,
        first.as_secs_f64(),
        recovered_in.as_secs_f64(),
    ));
}
