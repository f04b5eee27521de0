//! Injected faults against the real code paths: the SDK clients point at a fault-injecting
//! stand-in on loopback (`devkit::FaultServer`) that closes connections, hangs, throttles,
//! answers 5xx or sends malformed or unexpected bodies.
//!
//! - API keys (`CachedVerifier` over `SecretsManagerSource`) and the OAuth secret
//!   (`SecretCache`): every request fails closed within a bound, one fetch per retry interval,
//!   the outage logged once and the recovery once, and the cache recovers by itself.
//! - Cost Explorer tools: a clear tool error within the deadline, nothing cached from a
//!   failure, the next call after the fault makes a real call, other tools keep answering.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use authorizer::{
    CacheSettings, CachedVerifier, Clock, KeyDecision, SecretsManagerSource, StaticKeys,
    source::FETCH_TIMEOUT,
};
use devkit::{Fault, FaultServer, Upstream};
use function::{
    AppConfig, app,
    cost::{CostExplorer, CostSettings},
    oauth::keys::{SecretCache, SecretProvider},
};
use serde_json::{Value, json};

use crate::common::*;

const SECRET_ID: &str = "mcp/keys";
const API_KEY: &str = "key-one-5be1";
const SIGNING_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Log lines written while a test's subscriber is the default (this thread only).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

impl Logs {
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn count(&self, needle: &str) -> usize {
        self.text().lines().filter(|l| l.contains(needle)).count()
    }
}

/// An SDK config as the product loads it (default retries and timeouts), pointed at `endpoint`.
async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    authorizer::aws_config_loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "AKIAFAULTTEST",
            "fault-test-secret",
            None,
            None,
            "test",
        ))
        .load()
        .await
}

async fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&sdk_config(endpoint).await)
}

/// A GetSecretValue answer as Secrets Manager sends it; the version is a week old (no grace
/// window, so a refresh reads AWSCURRENT only).
fn secret_answer(value: &str) -> String {
    let created = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 7 * 86_400;
    json!({"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:mcp/keys-AbCdEf",
        "Name": SECRET_ID, "VersionId": "v1", "SecretString": value,
        "VersionStages": ["AWSCURRENT"], "CreatedDate": created})
    .to_string()
}

/// Every way Secrets Manager can fail, by name; the good answer is `good`.
fn secrets_manager_faults() -> Vec<(&'static str, Fault)> {
    vec![
        ("connection closed", Fault::Close),
        ("throttling", Fault::throttling()),
        ("HTTP 500", Fault::server_error(500)),
        ("HTTP 503", Fault::server_error(503)),
        ("no answer", Fault::Hang),
        ("malformed JSON", Fault::Body(r#"{"SecretString": "#.into())),
        ("empty secret", Fault::Body(secret_answer(""))),
        (
            "no value",
            Fault::Body(json!({"Name": SECRET_ID, "VersionId": "v1"}).to_string()),
        ),
        (
            "not the expected JSON",
            Fault::Body(secret_answer(r#"{"keys": "all of them"}"#)),
        ),
    ]
}

/// The bound on one failing fetch: the source's timeout plus scheduling slack.
const FAIL_BOUND: Duration = Duration::from_millis(FETCH_TIMEOUT.as_millis() as u64 + 1000);

struct ManualClock(Mutex<SystemTime>);

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

impl ManualClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

const KEYS_OUTAGE: &str = "could not load the API keys";
const KEYS_RECOVERY: &str = "API keys loaded again";

/// One incident for a cold key cache: `fault` on, 20 requests, the fault cleared, recovery.
/// Returns how long the 20 denials took.
async fn key_incident(name: &str, fault: Fault) -> Duration {
    let server = FaultServer::start(Upstream::Canned(vec![(
        "GetSecretValue".into(),
        secret_answer(API_KEY),
    )]));
    let clock = Arc::new(ManualClock(Mutex::new(SystemTime::now())));
    let source =
        SecretsManagerSource::with_client(SECRET_ID, secrets_client(&server.endpoint).await);
    let v = CachedVerifier::with_clock(source, CacheSettings::default(), clock.clone());
    server.set(fault);
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(v.decide(API_KEY).await, KeyDecision::Denied, "{name}");
    }
    let took = started.elapsed();
    assert!(took < FAIL_BOUND, "{name}: 20 denials took {took:?}");
    let sent = server.requests();
    assert!(
        (1..=3).contains(&sent),
        "{name}: {sent} requests for 20 decisions (one fetch and the SDK's retries)"
    );

    server.set(Fault::Pass);
    clock.advance(Duration::from_secs(5));
    assert_eq!(v.decide(API_KEY).await, KeyDecision::Denied, "{name}");
    assert_eq!(
        server.requests(),
        sent,
        "{name}: no retry inside the retry interval"
    );
    clock.advance(Duration::from_secs(6));
    let allowed = KeyDecision::Allowed {
        key_id: "default".into(),
    };
    assert_eq!(v.decide(API_KEY).await, allowed, "{name}: recovered");
    assert_eq!(v.decide("other").await, KeyDecision::Denied, "{name}");
    took
}

#[tokio::test]
async fn api_keys_fail_closed_under_every_secrets_manager_fault_and_recover() {
    let (logs, _guard) = Logs::capture();
    let faults = secrets_manager_faults();
    let incidents = faults
        .iter()
        .map(|(name, fault)| key_incident(name, fault.clone()));
    futures::future::join_all(incidents).await;
    // The incidents ran at once on this thread: each logged its outage and its recovery once.
    assert_eq!(logs.count(KEYS_OUTAGE), faults.len(), "{}", logs.text());
    assert_eq!(logs.count(KEYS_RECOVERY), faults.len(), "{}", logs.text());
    let text = logs.text();
    assert!(!text.contains(API_KEY), "a key reached the log: {text}");
}

#[tokio::test]
async fn a_slow_secrets_manager_is_waited_for_once_and_one_past_the_bound_is_not() {
    let (logs, _guard) = Logs::capture();
    let server = FaultServer::start(Upstream::Canned(vec![(
        "GetSecretValue".into(),
        secret_answer(API_KEY),
    )]));
    let client = secrets_client(&server.endpoint).await;
    let verifier = || {
        CachedVerifier::new(
            SecretsManagerSource::with_client(SECRET_ID, client.clone()),
            CacheSettings::default(),
        )
    };
    let allowed = KeyDecision::Allowed {
        key_id: "default".into(),
    };
    // Slow but inside the bound: 10 concurrent cold requests wait for one fetch, all allowed.
    server.set(Fault::Slow(Duration::from_millis(1500)));
    let v = verifier();
    let started = Instant::now();
    let decisions = futures::future::join_all((0..10).map(|_| v.decide(API_KEY))).await;
    assert!(decisions.iter().all(|d| *d == allowed), "{decisions:?}");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(server.requests(), 1, "one fetch for 10 requests");
    assert_eq!(logs.count("could not"), 0, "slow is not an outage");

    // Slower than the bound: denied when the bound passes, not when Secrets Manager answers.
    server.set(Fault::Slow(FETCH_TIMEOUT + Duration::from_secs(2)));
    let v = verifier();
    let started = Instant::now();
    let decisions = futures::future::join_all((0..10).map(|_| v.decide(API_KEY))).await;
    let took = started.elapsed();
    assert!(decisions.iter().all(|d| *d == KeyDecision::Denied));
    assert!(took >= FETCH_TIMEOUT && took < FAIL_BOUND, "{took:?}");
    assert_eq!(
        server.requests(),
        2,
        "one fetch, cut at the bound, no retry"
    );
    assert_eq!(logs.count("could not load the API keys"), 1);
    assert!(
        logs.text().contains("no answer within 3 s"),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn api_keys_fail_closed_when_nothing_listens() {
    let (logs, _guard) = Logs::capture();
    let dead = format!("http://127.0.0.1:{}", devkit::free_port());
    let client = secrets_client(&dead).await;
    let v = CachedVerifier::new(
        SecretsManagerSource::with_client(SECRET_ID, client),
        CacheSettings::default(),
    );
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(v.decide(API_KEY).await, KeyDecision::Denied);
    }
    assert!(started.elapsed() < FAIL_BOUND, "{:?}", started.elapsed());
    assert_eq!(logs.count("could not load the API keys"), 1);
    assert!(
        logs.text().contains("could not reach Secrets Manager"),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn a_warm_key_cache_rides_out_a_fault_and_logs_it_once() {
    let (logs, _guard) = Logs::capture();
    let server = FaultServer::start(Upstream::Canned(vec![(
        "GetSecretValue".into(),
        secret_answer(API_KEY),
    )]));
    let clock = Arc::new(ManualClock(Mutex::new(SystemTime::now())));
    let v = CachedVerifier::with_clock(
        SecretsManagerSource::with_client(SECRET_ID, secrets_client(&server.endpoint).await),
        CacheSettings::default(),
        clock.clone(),
    );
    let allowed = KeyDecision::Allowed {
        key_id: "default".into(),
    };
    assert_eq!(v.decide(API_KEY).await, allowed);
    // An empty secret (no SDK retries, so the test stays quick).
    server.set(Fault::Body(secret_answer("")));
    clock.advance(Duration::from_secs(301)); // past the TTL: a refresh fails
    for _ in 0..3 {
        assert_eq!(v.decide(API_KEY).await, allowed, "stale-while-error");
        assert_eq!(v.decide("other").await, KeyDecision::Denied);
        clock.advance(Duration::from_secs(11)); // a new attempt each time, still failing
    }
    assert_eq!(logs.count("serving the cached keys meanwhile"), 1);
    clock.advance(Duration::from_secs(900)); // past max_stale
    assert_eq!(v.decide(API_KEY).await, KeyDecision::Denied, "fails closed");
    server.set(Fault::Pass);
    clock.advance(Duration::from_secs(11));
    assert_eq!(v.decide(API_KEY).await, allowed);
    assert_eq!(logs.count("API keys loaded again"), 1);
    assert_eq!(logs.count("could not"), 1, "one incident, one line");
}

fn oauth_secret() -> String {
    json!({"signingKey": SIGNING_KEY, "cognitoClientId": "cid", "cognitoClientSecret": "cognito-s3cret"})
        .to_string()
}

/// One incident for a cold OAuth secret cache: `fault` on, 20 requests, the fault cleared,
/// recovery. The retry interval is 1 s, so a busy machine cannot stretch the 20 requests
/// past it.
async fn oauth_incident(name: &str, fault: Fault) {
    let server = FaultServer::start(Upstream::Canned(vec![(
        "GetSecretValue".into(),
        secret_answer(&oauth_secret()),
    )]));
    let retry = Duration::from_secs(1);
    let cache = SecretProvider::Cached(Box::new(SecretCache::new(
        Box::new(SecretsManagerSource::with_client(
            SECRET_ID,
            secrets_client(&server.endpoint).await,
        )),
        CacheSettings {
            retry_after_error: retry,
            ..CacheSettings::default()
        },
    )));
    server.set(fault);
    let started = Instant::now();
    for _ in 0..20 {
        assert!(cache.get().await.is_none(), "{name}: fails closed");
    }
    let took = started.elapsed();
    assert!(took < FAIL_BOUND, "{name}: took {took:?}");
    let sent = server.requests();
    assert!((1..=3).contains(&sent), "{name}: {sent} requests");

    server.set(Fault::Pass);
    tokio::time::sleep(retry).await;
    let secrets = cache
        .get()
        .await
        .expect("recovered after the retry interval");
    assert_eq!(secrets.cognito_client_id, "cid", "{name}");
}

#[tokio::test]
async fn the_oauth_secret_fails_closed_under_every_fault_and_recovers() {
    let (logs, _guard) = Logs::capture();
    let faults = secrets_manager_faults();
    let incidents = faults
        .iter()
        .map(|(name, fault)| oauth_incident(name, fault.clone()));
    futures::future::join_all(incidents).await;
    let text = logs.text();
    assert_eq!(
        logs.count("cannot load the OAuth secret"),
        faults.len(),
        "{text}"
    );
    assert_eq!(
        logs.count("OAuth secret loaded again"),
        faults.len(),
        "{text}"
    );
    assert!(!text.contains("cognito-s3cret") && !text.contains(SIGNING_KEY));
}

// ---- Cost Explorer ----

/// The app with its Cost Explorer client pointed at `endpoint` (default SDK retries).
async fn cost_app(endpoint: &str, deadline: Duration) -> axum::Router {
    let client = aws_sdk_costexplorer::Client::new(&sdk_config(endpoint).await);
    let mut config = AppConfig::local(Arc::new(StaticKeys::single(KEY)));
    config.cost = Arc::new(CostExplorer::with_client(
        client,
        CostSettings {
            deadline,
            ..CostSettings::default()
        },
    ));
    app(config)
}

fn cost_answer() -> String {
    json!({"ResultsByTime": [{"TimePeriod": {"Start": "2026-01-01", "End": "2026-02-01"},
        "Total": {"UnblendedCost": {"Amount": "12.5", "Unit": "USD"}}, "Groups": [], "Estimated": false}],
        "GroupDefinitions": [], "DimensionValueAttributes": []})
    .to_string()
}

/// A distinct query per fault, so one fault's recovery is not another's cache hit.
fn cost_query(n: usize) -> Value {
    json!({"start_date": format!("2025-{:02}-01", n + 1), "end_date": format!("2025-{:02}-01", n + 2)})
}

fn tool_text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or("")
}

/// A tool error an agent can act on and nothing it should not see.
fn assert_clear_error(name: &str, result: &Value, expect: &str) {
    assert_eq!(result["isError"], true, "{name}: {result}");
    let text = tool_text(result);
    assert!(text.contains(expect), "{name}: {text}");
    for leak in [
        "AKIAFAULTTEST",
        "fault-test-secret",
        "arn:aws",
        "panicked",
        "backtrace",
        "127.0.0.1",
        "src/",
    ] {
        assert!(!text.contains(leak), "{name}: {leak:?} in {text}");
    }
    assert!(
        result
            .get("structuredContent")
            .is_none_or(|s| s.get("cached").is_none()),
        "{name}: a failure is never an answer: {result}"
    );
}

async fn other_tools_answer(app: &axum::Router) {
    let weather = call_tool(app, "get_weather", json!({"city": "Lisbon"})).await;
    assert_eq!(weather["isError"], false, "{weather}");
    let sum = call_tool(
        app,
        "calculate",
        json!({"operation": "add", "a": 2, "b": 3}),
    )
    .await;
    assert_eq!(sum["structuredContent"]["result"], 5.0, "{sum}");
}

/// After the fault clears, the same query makes a real call and succeeds, then is cached.
async fn assert_recovers(name: &str, app: &axum::Router, server: &FaultServer, query: &Value) {
    server.set(Fault::Pass);
    let before = server.calls("GetCostAndUsage");
    let again = call_tool(app, "get_cost_and_usage", query.clone()).await;
    assert_eq!(again["isError"], false, "{name}: {again}");
    assert_eq!(again["structuredContent"]["cached"], false, "{name}");
    assert_eq!(
        again["structuredContent"]["totals"]["UnblendedCost"]["amount"],
        12.5
    );
    assert_eq!(
        server.calls("GetCostAndUsage"),
        before + 1,
        "{name}: a real call"
    );
    let cached = call_tool(app, "get_cost_and_usage", query.clone()).await;
    assert_eq!(cached["structuredContent"]["cached"], true, "{name}");
}

/// One Cost Explorer fault: a clear error within the deadline, other tools answering, then
/// recovery with a real call (nothing was cached from the failure).
async fn cost_incident(name: &str, fault: Fault, expect: &str) {
    let deadline = Duration::from_secs(5);
    let server = FaultServer::start(Upstream::Canned(vec![(
        "GetCostAndUsage".into(),
        cost_answer(),
    )]));
    let app = cost_app(&server.endpoint, deadline).await;
    let query = cost_query(0);
    server.set(fault);
    let started = Instant::now();
    let result = call_tool(&app, "get_cost_and_usage", query.clone()).await;
    let took = started.elapsed();
    assert!(
        took < deadline + Duration::from_millis(500),
        "{name}: {took:?}"
    );
    assert_clear_error(name, &result, expect);
    other_tools_answer(&app).await;
    assert_recovers(name, &app, &server, &query).await;
}

#[tokio::test]
async fn cost_explorer_errors_are_clear_bounded_and_never_cached() {
    let faults = [
        (
            "throttling",
            Fault::Error(400, "LimitExceededException".into(), "Rate exceeded".into()),
            "rate-limiting",
        ),
        ("ThrottlingException", Fault::throttling(), "rate-limiting"),
        ("HTTP 500", Fault::server_error(500), "try again"),
        ("HTTP 503", Fault::server_error(503), "try again"),
        (
            "connection closed",
            Fault::Close,
            "Could not reach Cost Explorer",
        ),
        (
            "malformed JSON",
            Fault::Body(r#"{"ResultsByTime": [{"#.into()),
            "could not be read",
        ),
        (
            "unexpected shape",
            Fault::Body(json!({"ResultsByTime": {"Start": "2026-01-01"}}).to_string()),
            "could not be read",
        ),
        (
            "not an object",
            Fault::Body("[\"ResultsByTime\"]".into()),
            "could not be read",
        ),
    ];
    let incidents = faults
        .iter()
        .map(|(name, fault, expect)| cost_incident(name, fault.clone(), expect));
    futures::future::join_all(incidents).await;
}

#[tokio::test]
async fn a_slow_or_silent_cost_explorer_ends_at_the_deadline() {
    let deadline = Duration::from_secs(2);
    let server = FaultServer::start(Upstream::Canned(vec![(
        "GetCostAndUsage".into(),
        cost_answer(),
    )]));
    let app = cost_app(&server.endpoint, deadline).await;
    for (n, (name, fault)) in [
        ("no answer", Fault::Hang),
        ("slow", Fault::Slow(Duration::from_secs(4))),
    ]
    .into_iter()
    .enumerate()
    {
        let query = cost_query(n);
        server.set(fault);
        let started = Instant::now();
        let cost = call_tool(&app, "get_cost_and_usage", query.clone());
        // Other tools answer at once while the Cost Explorer call waits.
        let others = async {
            let started = Instant::now();
            other_tools_answer(&app).await;
            started.elapsed()
        };
        let (result, others_took) = tokio::join!(cost, others);
        let took = started.elapsed();
        assert!(
            others_took < Duration::from_millis(500),
            "{name}: {others_took:?}"
        );
        assert!(
            took >= deadline && took < deadline + Duration::from_millis(500),
            "{name}: {took:?}"
        );
        assert_clear_error(name, &result, "did not finish within 2 s");
        assert_recovers(name, &app, &server, &query).await;
    }
}
