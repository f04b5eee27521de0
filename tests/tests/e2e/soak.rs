//! Load and soak, bounded: a sustained mixed load on the local server (p99 and RSS drift),
//! thousands of invokes of one warm instance under the Lambda Runtime Interface Emulator (flat
//! latency and memory; refused requests cheap and never a Secrets Manager call each), and
//! streaming clients that hang up mid-stream (no connection or memory left behind).
//! `SMCP_SOAK_SECONDS` (default 30) sets the local soak's length.

use std::{
    io::{Read, Write},
    net::TcpStream,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use devkit::{Emulator, FaultServer, Upstream, percentile};
use e2e::{CostExplorerStub, LocalServer, Tools, post};
use serde_json::{Value, json};

const KEY: &str = "e2e-soak-key-7d3f1c";
/// p99 of the local soak's requests, 8 clients on a 2-core machine shared with the load.
const P99_LIMIT_MS: f64 = 50.0;
/// RSS drift allowed between the first and the last 10 s of the soak.
const RSS_DRIFT_LIMIT: f64 = 0.10;
const RSS_DRIFT_SLACK_KIB: u64 = 1024;

/// Resident memory of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// One kind of request in the mix: its body, key, the status it must get and a piece of the
/// body it must contain.
struct Kind {
    name: &'static str,
    body: String,
    key: Option<&'static str>,
    status: u16,
    contains: &'static str,
}

fn call(tool: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}).to_string()
}

fn mix() -> Vec<Kind> {
    let ok = |name, body: String| Kind {
        name,
        body,
        key: Some(KEY),
        status: 200,
        contains: r#""isError":false"#,
    };
    let months = json!({"baseline_start": "2026-09-01", "baseline_end": "2026-10-01", "comparison_start": "2026-10-01", "comparison_end": "2026-11-01"});
    vec![
        Kind {
            name: "initialize",
            body: json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "soak", "version": "1"}}}).to_string(),
            key: Some(KEY),
            status: 200,
            contains: "protocolVersion",
        },
        Kind {
            name: "tools/list",
            body: json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string(),
            key: Some(KEY),
            status: 200,
            contains: "get_weather",
        },
        ok("get_weather", call("get_weather", json!({"city": "Lisbon"}))),
        ok(
            "calculate",
            call(
                "calculate",
                json!({"operation": "divide", "a": 22, "b": 7}),
            ),
        ),
        ok("get_server_status", call("get_server_status", json!({}))),
        ok("lookup_user", call("lookup_user", json!({"user_id": "u-1001"}))),
        ok("get_today_date", call("get_today_date", json!({}))),
        ok(
            "simulate_job",
            call("simulate_job", json!({"steps": 2, "step_ms": 1})),
        ),
        ok(
            "get_dimension_values",
            call("get_dimension_values", json!({"dimension": "SERVICE"})),
        ),
        ok(
            "get_tag_values",
            call("get_tag_values", json!({"tag_key": "team"})),
        ),
        ok(
            "get_cost_and_usage",
            call(
                "get_cost_and_usage",
                json!({"start_date": "2026-01-01", "end_date": "2026-02-01"}),
            ),
        ),
        ok(
            "get_cost_and_usage_comparisons",
            call("get_cost_and_usage_comparisons", months.clone()),
        ),
        ok(
            "get_cost_comparison_drivers",
            call("get_cost_comparison_drivers", months),
        ),
        Kind {
            name: "tool error",
            body: call("calculate", json!({"operation": "divide", "a": 1, "b": 0})),
            key: Some(KEY),
            status: 200,
            contains: r#""isError":true"#,
        },
        Kind {
            name: "unknown tool",
            body: call("rm_rf", json!({})),
            key: Some(KEY),
            status: 200,
            contains: "-32602",
        },
        Kind {
            name: "parse error",
            body: "{\"jsonrpc\":".into(),
            key: Some(KEY),
            status: 400,
            contains: "-32700",
        },
        Kind {
            name: "no key",
            body: call("get_weather", json!({"city": "Lisbon"})),
            key: None,
            status: 401,
            contains: "unauthorized",
        },
        Kind {
            name: "wrong key",
            body: call("get_weather", json!({"city": "Lisbon"})),
            key: Some("not-the-key-at-all"),
            status: 401,
            contains: "unauthorized",
        },
    ]
}

fn cost_stub() -> CostExplorerStub {
    let mut answers = e2e::cost_stub_answers();
    answers.push((
        "GetCostAndUsage",
        json!({"ResultsByTime": [{"TimePeriod": {"Start": "2026-01-01", "End": "2026-02-01"},
            "Total": {"UnblendedCost": {"Amount": "12.5", "Unit": "USD"}}, "Groups": [], "Estimated": false}]}),
    ));
    CostExplorerStub::start(answers)
}

#[test]
fn local_server_under_sustained_mixed_load() {
    let tools = Tools::from_env();
    let seconds: u64 = std::env::var("SMCP_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30)
        .max(20);
    let stub = cost_stub();
    let server = LocalServer::start_with_env(
        &tools.function,
        &[
            ("MCP_API_KEY", KEY.into()),
            ("AWS_ENDPOINT_URL_COST_EXPLORER", stub.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_MAX_ATTEMPTS", "1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ],
    );
    let pid = server.pid();
    let kinds = Arc::new(mix());
    let url = server.url.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    // RSS every 250 ms, with the time it was read.
    let samples = Arc::new(Mutex::new(Vec::<(Duration, u64)>::new()));
    let sampler = {
        let (stop, samples) = (stop.clone(), samples.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                samples
                    .lock()
                    .unwrap()
                    .push((started.elapsed(), rss_kib(pid)));
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let clients: Vec<_> = (0..8)
        .map(|client| {
            let (kinds, url, stop) = (kinds.clone(), url.clone(), stop.clone());
            std::thread::spawn(move || {
                // A pool of its own per client: the shared one keeps connections from before
                // the soak, which the server closes once idle for 30 s (hyper's header read
                // timeout), and a POST on a connection closed under it is not retried.
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(10)))
                    .build()
                    .into();
                let mut latencies = Vec::new();
                let mut unexpected = Vec::new();
                let mut i = client;
                while !stop.load(Ordering::Relaxed) {
                    let kind = &kinds[i % kinds.len()];
                    i += 1;
                    let mut request = agent
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("accept", "application/json, text/event-stream")
                        .header("mcp-protocol-version", "2025-11-25");
                    if let Some(key) = kind.key {
                        request = request.header("x-api-key", key);
                    }
                    let sent = Instant::now();
                    let reply = request.send(&kind.body).and_then(|mut r| {
                        let status = r.status().as_u16();
                        r.body_mut().read_to_string().map(|body| e2e::Response {
                            status,
                            content_type: String::new(),
                            body,
                        })
                    });
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    match reply {
                        Ok(r) if r.status == kind.status && r.body.contains(kind.contains) => {}
                        Ok(r) if unexpected.len() < 5 => unexpected.push(format!(
                            "{}: {} {}",
                            kind.name,
                            r.status,
                            &r.body[..r.body.len().min(300)]
                        )),
                        Err(e) if unexpected.len() < 5 => {
                            unexpected.push(format!("{}: {e}", kind.name))
                        }
                        _ => unexpected.push(String::new()),
                    }
                }
                (latencies, unexpected)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut unexpected = Vec::new();
    for client in clients {
        let (l, u) = client.join().unwrap();
        latencies.extend(l);
        unexpected.extend(u);
    }
    sampler.join().unwrap();
    let elapsed = started.elapsed().as_secs_f64();

    let samples = samples.lock().unwrap().clone();
    let window = |from: f64, to: f64| {
        let in_window: Vec<u64> = samples
            .iter()
            .filter(|(t, _)| (from..to).contains(&t.as_secs_f64()))
            .map(|(_, r)| *r)
            .collect();
        in_window.iter().sum::<u64>() / in_window.len().max(1) as u64
    };
    let first = window(0.0, 10.0);
    let last = window(seconds as f64 - 10.0, seconds as f64 + 1.0);
    let drift = last as f64 / first.max(1) as f64 - 1.0;
    let p50 = percentile(&latencies, 50.0).unwrap_or(f64::NAN);
    let p99 = percentile(&latencies, 99.0).unwrap_or(f64::NAN);
    tools.record_figure(&format!(
        "soak (local server, {seconds} s, 8 clients, {} request kinds incl. every tool but the forecast, bad and unauthenticated requests): \
         {} requests ({:.0}/s), {} unexpected, p50 {p50:.2} ms, p99 {p99:.2} ms (limit {P99_LIMIT_MS} ms), \
         RSS first 10 s {:.1} MiB, last 10 s {:.1} MiB ({:+.1}%, limit {:.0}% + {} KiB)",
        kinds.len(),
        latencies.len(),
        latencies.len() as f64 / elapsed,
        unexpected.len(),
        first as f64 / 1024.0,
        last as f64 / 1024.0,
        drift * 100.0,
        RSS_DRIFT_LIMIT * 100.0,
        RSS_DRIFT_SLACK_KIB,
    ));
    assert!(
        unexpected.is_empty(),
        "{} unexpected replies, e.g. {:?}",
        unexpected.len(),
        &unexpected[..unexpected.len().min(5)]
    );
    assert!(latencies.len() > 1000, "only {} requests", latencies.len());
    assert!(p99 <= P99_LIMIT_MS, "p99 {p99:.2} ms");
    assert!(
        last <= (first as f64 * (1.0 + RSS_DRIFT_LIMIT)) as u64 + RSS_DRIFT_SLACK_KIB,
        "RSS grew from {first} KiB to {last} KiB"
    );
    // The cost answers came from the cache once the first was in: at most one call per
    // client raced it (identical questions in flight together are not coalesced).
    let calls = stub.calls("GetCostAndUsage");
    assert!(calls <= 8, "{calls} GetCostAndUsage calls");
}

/// A tools/call that streams progress (SSE), read up to its first progress event; then the
/// client hangs up.
fn hang_up_mid_stream(port: u16) -> bool {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "simulate_job", "arguments": {"steps": 5, "step_ms": 200},
        "_meta": {"progressToken": "p"}}})
    .to_string();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: 2025-11-25\r\n\
         x-api-key: {KEY}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                seen.extend_from_slice(&buffer[..n]);
                if String::from_utf8_lossy(&seen).contains("notifications/progress") {
                    return true; // dropped here: the client hangs up mid-stream
                }
            }
        }
    }
    false
}

#[test]
fn streaming_clients_that_hang_up_leave_nothing_behind() {
    let tools = Tools::from_env();
    let server = LocalServer::start(&tools.function, KEY);
    let pid = server.pid();
    let port: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    // Warm up (first use builds the tool list and the runtime's threads), then the baseline.
    assert!(hang_up_mid_stream(port));
    std::thread::sleep(Duration::from_millis(1500));
    let (fds_before, rss_before) = (open_fds(pid), rss_kib(pid));
    let rounds = 200;
    let streamed = (0..rounds).filter(|_| hang_up_mid_stream(port)).count();
    // Each abandoned job would end within 1 s anyway; the connections must be closed by then.
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds(pid) > fds_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (fds_after, rss_after) = (open_fds(pid), rss_kib(pid));
    let still_serving = post(
        &server.url,
        &[
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("x-api-key", KEY),
        ],
        &call("calculate", json!({"operation": "add", "a": 1, "b": 1})),
    )
    .is_ok_and(|r| r.status == 200);
    tools.record_figure(&format!(
        "streaming hang-ups (local server): {streamed}/{rounds} clients dropped mid-stream; \
         open fds {fds_before} -> {fds_after}; RSS {:.1} -> {:.1} MiB",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0
    ));
    assert_eq!(streamed, rounds, "some streams never sent a progress event");
    assert!(
        fds_after <= fds_before,
        "{fds_before} fds before, {fds_after} after"
    );
    assert!(
        rss_after <= rss_before + 2048,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    assert!(still_serving);
}

/// The function process the emulator runs (a descendant named like the binary).
fn function_pid(emulator: &Emulator, binary: &std::path::Path) -> u32 {
    let name = binary.file_name().unwrap().to_string_lossy().into_owned();
    devkit::descendants(emulator.id())
        .into_iter()
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| name.starts_with(comm.trim()))
        })
        .expect("the function runs under the emulator")
}

fn apigw_event(body: &str, key: Option<&str>) -> String {
    const DOMAIN: &str = "abc123.execute-api.us-east-1.amazonaws.com";
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".into(), json!("application/json"));
    headers.insert(
        "accept".into(),
        json!("application/json, text/event-stream"),
    );
    headers.insert("host".into(), json!(DOMAIN));
    if let Some(key) = key {
        headers.insert("x-api-key".into(), json!(key));
    }
    devkit::hostile::api_gateway_v2_event("POST", "/mcp", "", headers, body, false, DOMAIN)
        .to_string()
}

#[test]
fn thousands_of_invokes_on_one_warm_lambda_instance() {
    let tools = Tools::from_env();
    // Keys from a Secrets Manager stand-in that counts its calls.
    let secret = json!({"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:soak-AbCdEf",
        "Name": "soak", "VersionId": "v1", "SecretString": KEY, "VersionStages": ["AWSCURRENT"],
        "CreatedDate": 1.7e9});
    let secrets = FaultServer::start(Upstream::Canned(vec![(
        "GetSecretValue".into(),
        secret.to_string(),
    )]));
    let env = [
        ("MCP_API_KEY_SECRET_ID", "soak".to_owned()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("MCP_LAMBDA_MODE", "api-gateway".into()),
    ];
    let emulator = Emulator::start(
        &tools.rie,
        &tools.function,
        &env,
        &tools.figures,
        "rie-soak",
    )
    .unwrap();
    let good = apigw_event(
        &call("calculate", json!({"operation": "add", "a": 2, "b": 2})),
        Some(KEY),
    );
    let no_key = apigw_event(&call("get_weather", json!({"city": "Lisbon"})), None);
    let wrong_key = apigw_event(
        &call("get_weather", json!({"city": "Lisbon"})),
        Some("wrong-key-wrong-key"),
    );
    let status = |reply: &str| -> u64 {
        serde_json::from_str::<Value>(reply).unwrap()["statusCode"]
            .as_u64()
            .unwrap()
    };
    let invokes = 3000;
    let (mut served, mut refused) = (Vec::new(), Vec::new());
    let mut rss_at_200 = 0;
    let mut pid = None;
    for i in 0..invokes {
        let (event, expected) = match i % 3 {
            0 => (&good, 200),
            1 => (&no_key, 401),
            _ => (&wrong_key, 401),
        };
        let (elapsed, reply) = emulator.invoke(event).expect("invoke");
        assert_eq!(status(&reply), expected, "invoke {i}: {reply}");
        let ms = elapsed.as_secs_f64() * 1000.0;
        if expected == 200 {
            served.push(ms);
        } else {
            refused.push(ms);
        }
        if i == 200 {
            let p = function_pid(&emulator, &tools.function);
            rss_at_200 = rss_kib(p);
            pid = Some(p);
        }
    }
    let rss_end = rss_kib(pid.unwrap());
    let median = |v: &[f64]| percentile(v, 50.0).unwrap_or(f64::NAN);
    let (first, last) = (&served[..100], &served[served.len() - 100..]);
    let fetches = secrets.requests();
    tools.record_figure(&format!(
        "Lambda soak (one warm instance under the RIE): {invokes} invokes; served median {:.2} ms \
         (first 100 {:.2}, last 100 {:.2}), refused (no key / wrong key) median {:.2} ms; \
         Secrets Manager calls {fetches} for {} refused requests; function RSS at invoke 200 \
         {:.1} MiB, at the end {:.1} MiB",
        median(&served),
        median(first),
        median(last),
        median(&refused),
        refused.len(),
        rss_at_200 as f64 / 1024.0,
        rss_end as f64 / 1024.0,
    ));
    // A refused request never costs a Secrets Manager call: one fetch serves them all (a wrong
    // key may trigger one rotation check, which is rate limited).
    assert!(fetches <= 2, "{fetches} Secrets Manager calls");
    assert!(
        median(last) <= median(first) * 1.5 + 0.5,
        "latency grew: {first:?} -> {last:?}"
    );
    assert!(
        rss_end <= rss_at_200 + 1024,
        "RSS grew from {rss_at_200} KiB to {rss_end} KiB"
    );
    assert!(median(&refused) <= median(&served) + 0.5);
}
