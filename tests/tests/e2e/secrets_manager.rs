//! API keys from a real Secrets Manager API (moto on loopback): rotation with a grace window,
//! revocation, outages, the number of Secrets Manager calls, and the warm decision time.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use authorizer::{
    CacheSettings, CachedVerifier, Clock, KeyDecision, SecretSource, SecretsManagerSource, Stage,
    source::FetchFuture,
};
use aws_sdk_secretsmanager::Client;
use e2e::{Moto, Tools, create_secret};

/// Counts the GetSecretValue calls the verifier makes.
struct Counting {
    inner: SecretsManagerSource,
    calls: AtomicUsize,
}

impl SecretSource for Counting {
    fn fetch(&self, stage: Stage) -> FetchFuture<'_> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch(stage)
    }
}

struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

fn verifier(
    client: &Client,
    secret: &str,
    settings: CacheSettings,
) -> (CachedVerifier<Counting>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock(Mutex::new(SystemTime::now())));
    let source = Counting {
        inner: SecretsManagerSource::with_client(secret, client.clone()),
        calls: AtomicUsize::new(0),
    };
    (
        CachedVerifier::with_clock(source, settings, clock.clone()),
        clock,
    )
}

fn calls(v: &CachedVerifier<Counting>) -> usize {
    v.source().calls.load(Ordering::SeqCst)
}

fn allowed(id: &str) -> KeyDecision {
    KeyDecision::Allowed { key_id: id.into() }
}

async fn rotate(client: &Client, name: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .expect("put a new value");
}

#[tokio::test]
async fn rotation_keeps_the_old_key_for_the_grace_window_only() {
    let tools = Tools::from_env();
    let moto = Moto::start(&tools);
    let client = Client::new(&moto.sdk_config().await);
    create_secret(&client, "mcp/rotation", "key-one").await;
    let settings = CacheSettings {
        previous_grace: Duration::from_secs(3600),
        ..CacheSettings::default()
    };
    let (v, clock) = verifier(&client, "mcp/rotation", settings);

    let mut decisions = 0;
    for _ in 0..500 {
        assert_eq!(v.decide("key-one").await, allowed("default"));
        decisions += 1;
    }
    assert_eq!(v.decide("key-two").await, KeyDecision::Denied);
    decisions += 1;
    // A fresh secret is inside its grace window: AWSCURRENT plus a look for AWSPREVIOUS.
    assert_eq!(calls(&v), 2, "one refresh for {decisions} decisions");

    rotate(&client, "mcp/rotation", "key-two").await;
    clock.advance(Duration::from_secs(301)); // the cache expires; the rotation is seen
    for _ in 0..500 {
        assert_eq!(v.decide("key-two").await, allowed("default"));
        assert_eq!(
            v.decide("key-one").await,
            allowed("default"),
            "old key inside the grace window"
        );
        decisions += 2;
    }
    assert_eq!(calls(&v), 4);

    clock.advance(Duration::from_secs(3600)); // past the grace window
    assert_eq!(
        v.decide("key-one").await,
        KeyDecision::Denied,
        "old key after the grace window"
    );
    assert_eq!(v.decide("key-two").await, allowed("default"));
    decisions += 2;
    assert_eq!(
        calls(&v),
        5,
        "after the grace window a refresh reads AWSCURRENT only"
    );
    tools.record_figure(&format!(
        "Secrets Manager rotation test (moto): {} GetSecretValue calls for {decisions} decisions over 3 cache periods",
        calls(&v)
    ));
}

#[tokio::test]
async fn named_keys_and_revocation() {
    let tools = Tools::from_env();
    let moto = Moto::start(&tools);
    let client = Client::new(&moto.sdk_config().await);
    create_secret(
        &client,
        "mcp/named",
        r#"{"keys": [{"id": "laptop", "key": "k-laptop"}, {"id": "ci", "key": "k-ci"}]}"#,
    )
    .await;
    let (v, clock) = verifier(&client, "mcp/named", CacheSettings::default());
    assert_eq!(v.decide("k-laptop").await, allowed("laptop"));
    assert_eq!(v.decide("k-ci").await, allowed("ci"));

    rotate(
        &client,
        "mcp/named",
        r#"{"keys": [{"id": "laptop", "key": "k-laptop"}]}"#,
    )
    .await;
    clock.advance(Duration::from_secs(301));
    assert_eq!(v.decide("k-laptop").await, allowed("laptop"));
    assert_eq!(
        v.decide("k-ci").await,
        KeyDecision::Denied,
        "a removed key id is revoked at once"
    );
}

#[tokio::test]
async fn missing_or_malformed_secrets_deny_everything() {
    let tools = Tools::from_env();
    let moto = Moto::start(&tools);
    let client = Client::new(&moto.sdk_config().await);
    let (v, _) = verifier(&client, "mcp/does-not-exist", CacheSettings::default());
    assert_eq!(v.decide("anything").await, KeyDecision::Denied);

    create_secret(&client, "mcp/malformed", r#"{"keys": [{"id": "a"}]}"#).await;
    let (v, _) = verifier(&client, "mcp/malformed", CacheSettings::default());
    assert_eq!(
        v.decide(r#"{"keys": [{"id": "a"}]}"#).await,
        KeyDecision::Denied
    );
}

#[tokio::test]
async fn an_outage_serves_cached_keys_for_a_bounded_time() {
    let tools = Tools::from_env();
    let moto = Moto::start(&tools);
    let client = Client::new(&moto.sdk_config().await);
    create_secret(&client, "mcp/outage", "key-one").await;
    let (v, clock) = verifier(&client, "mcp/outage", CacheSettings::default());
    assert_eq!(v.decide("key-one").await, allowed("default"));

    drop(moto); // Secrets Manager goes away
    clock.advance(Duration::from_secs(301));
    assert_eq!(
        v.decide("key-one").await,
        allowed("default"),
        "stale-while-error"
    );
    assert_eq!(v.decide("other").await, KeyDecision::Denied);
    clock.advance(Duration::from_secs(901));
    assert_eq!(
        v.decide("key-one").await,
        KeyDecision::Denied,
        "fails closed once the stale limit passes"
    );
}

#[tokio::test]
async fn warm_decision_time() {
    let tools = Tools::from_env();
    let moto = Moto::start(&tools);
    let client = Client::new(&moto.sdk_config().await);
    create_secret(&client, "mcp/warm", r#"{"keys": [{"id": "a", "key": "k-a"}, {"id": "b", "key": "k-b"}, {"id": "c", "key": "k-c"}]}"#).await;
    let (v, _) = verifier(&client, "mcp/warm", CacheSettings::default());
    assert_eq!(v.decide("k-c").await, allowed("c"));
    let rounds = 20_000;
    let started = Instant::now();
    for i in 0..rounds {
        let key = if i % 2 == 0 { "k-b" } else { "wrong-key" };
        std::hint::black_box(v.decide(std::hint::black_box(key)).await);
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    tools.record_figure(&format!(
        "warm key decision (3 named keys, cached): {per:.2} µs per decision over {rounds}"
    ));
    assert_eq!(calls(&v), 2);
}
