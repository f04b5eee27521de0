//! The hostile corpus (`tests/hostile/requests.txt`) over raw loopback sockets against the
//! release binary: once in API-key mode and once in `both` mode (the OAuth endpoints too).
//! After every case the server must still answer `/health` and a real `tools/call`.

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::STANDARD};
use devkit::hostile::{self, Case, Context};
use e2e::{LocalServer, Tools, oauth::OAuthStage, post};

/// The most a hostile request may take to be answered (or refused).
const LIMIT: Duration = Duration::from_secs(5);

fn corpus(tools: &Tools) -> Vec<Case> {
    let text = std::fs::read_to_string(tools.repo.join(hostile::CORPUS)).unwrap();
    hostile::parse(&text).unwrap()
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

/// Runs every case that applies to this server; returns (requests sent, slowest, failures).
fn run(
    cases: &[Case],
    base: &str,
    key: &str,
    secrets: &[&str],
    with_oauth: bool,
) -> (usize, Duration, Vec<String>) {
    let port = port_of(base);
    let host = format!("127.0.0.1:{port}");
    let context = Context { host: &host, key };
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calculate","arguments":{"operation":"add","a":2,"b":2}}}"#;
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("x-api-key", key),
    ];
    let (mut sent, mut slowest, mut failures) = (0, Duration::ZERO, Vec::new());
    for case in cases.iter().filter(|c| with_oauth || !c.oauth) {
        let Some(expect) = &case.local else { continue };
        let started = Instant::now();
        let reply = hostile::send_raw(port, &case.request(&context), LIMIT);
        slowest = slowest.max(started.elapsed());
        sent += 1;
        if let Err(e) = reply.and_then(|r| hostile::check(expect, r.as_ref(), secrets)) {
            failures.push(format!("{}: {e}", case.name));
        }
        // Still serving, with auth and tools.
        let health = e2e::get(&format!("{base}/health")).map(|r| r.status);
        let tool = post(&format!("{base}/mcp"), &headers, call)
            .map(|r| (r.status, r.body.contains(r#""result":4"#)));
        sent += 2;
        if health.as_ref().ok() != Some(&200) || tool.as_ref().ok() != Some(&(200, true)) {
            failures.push(format!(
                "{}: the server stopped serving (health {health:?}, tools/call {tool:?})",
                case.name
            ));
            break;
        }
    }
    (sent, slowest, failures)
}

fn random_key() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).unwrap();
    format!(
        "hostile-{}",
        STANDARD.encode(bytes).replace(['+', '/', '='], "x")
    )
}

#[test]
fn hostile_requests_get_clean_refusals_and_the_server_keeps_serving() {
    let tools = Tools::from_env();
    let cases = corpus(&tools);
    let key = random_key();

    let server = LocalServer::start(&tools.function, &key);
    let (sent_key, slowest_key, mut failures) = run(&cases, &server.base, &key, &[&key], false);
    drop(server);

    let stage = OAuthStage::start_with(
        &tools.function,
        &[
            ("MCP_AUTH_MODE", "both".into()),
            ("MCP_API_KEY", key.clone()),
        ],
    );
    let signing_key = STANDARD.encode(&stage.signing_key);
    let secrets = [
        key.as_str(),
        signing_key.as_str(),
        e2e::oauth::COGNITO_CLIENT_SECRET,
    ];
    let (sent_both, slowest_both, more) = run(&cases, stage.base(), &key, &secrets, true);
    failures.extend(more);

    let local_cases = cases.iter().filter(|c| c.local.is_some()).count();
    tools.record_figure(&format!(
        "hostile corpus (local server, raw sockets): {} cases ({local_cases} for the local server), \
         {} requests in API-key and both modes, slowest reply {:.0} ms, {} failures",
        cases.len(),
        sent_key + sent_both,
        slowest_key.max(slowest_both).as_secs_f64() * 1000.0,
        failures.len()
    ));
    assert!(
        failures.is_empty(),
        "{} hostile cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
