//! [`CachedVerifier`]: keys from a [`SecretSource`], cached for a TTL, rotation-aware, and
//! failing closed.
//!
//! - One refresh at a time: concurrent cold requests wait for a single fetch.
//! - Rotation: the AWSPREVIOUS value is also accepted until `previous_grace` after the
//!   AWSCURRENT version was created, for key ids that still exist in AWSCURRENT (a key id
//!   removed from the secret is revoked at once, even inside the grace window). After the
//!   window a refresh reads AWSCURRENT only.
//! - Outage: a cached key set keeps serving up to `max_stale` past its TTL; with nothing
//!   usable every key is denied. Each failure episode is logged once, recovery once.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, SystemTime},
};

use crate::{
    AcceptedKey, KeyDecision, KeyVerifier, VerifyFuture, match_key,
    secret::parse_secret,
    source::{SecretSource, Stage},
};

/// Wall-clock time, injectable so tests can move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// How long a fetched key set is used before it is fetched again.
    pub ttl: Duration,
    /// How long after a rotation the previous value is still accepted (zero: never).
    pub previous_grace: Duration,
    /// How long past its TTL a cached key set keeps serving while Secrets Manager fails.
    pub max_stale: Duration,
    /// During an outage, at most one fetch attempt per this interval.
    pub retry_after_error: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            previous_grace: Duration::from_secs(24 * 3600),
            max_stale: Duration::from_secs(900),
            retry_after_error: Duration::from_secs(10),
        }
    }
}

/// A whole number of seconds from 0 to `max` in the environment variable `name`; `None` when
/// unset or blank, an error naming the variable otherwise. Shared by every `*_SECONDS` setting.
pub fn seconds_from_env(
    var: impl Fn(&str) -> Option<String>,
    name: &str,
    max: u64,
) -> Result<Option<u64>, String> {
    match var(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    {
        None => Ok(None),
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= max)
            .map(Some)
            .ok_or_else(|| {
                format!("{name} must be a whole number of seconds from 0 to {max}, got {raw:?}")
            }),
    }
}

impl CacheSettings {
    /// `MCP_KEY_CACHE_TTL_SECONDS`, `MCP_KEY_PREVIOUS_GRACE_SECONDS`, `MCP_KEY_MAX_STALE_SECONDS`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut settings = Self::default();
        let seconds = |name: &str, max: u64| {
            Ok::<_, String>(seconds_from_env(&var, name, max)?.map(Duration::from_secs))
        };
        if let Some(ttl) = seconds("MCP_KEY_CACHE_TTL_SECONDS", 86_400)? {
            settings.ttl = ttl;
        }
        if let Some(grace) = seconds("MCP_KEY_PREVIOUS_GRACE_SECONDS", 30 * 86_400)? {
            settings.previous_grace = grace;
        }
        if let Some(stale) = seconds("MCP_KEY_MAX_STALE_SECONDS", 86_400)? {
            settings.max_stale = stale;
        }
        Ok(settings)
    }
}

/// The keys of one fetch.
#[derive(Debug)]
struct KeySet {
    current: Vec<AcceptedKey>,
    /// Previous values of keys that still exist in `current`.
    previous: Vec<AcceptedKey>,
    /// The previous values are accepted until then.
    previous_until: Option<SystemTime>,
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    fetched_at: Option<SystemTime>,
    /// Set while fetches fail: when the last attempt failed.
    failed_at: Option<SystemTime>,
}

pub struct CachedVerifier<S> {
    source: S,
    settings: CacheSettings,
    clock: Arc<dyn Clock>,
    state: RwLock<State>,
    refresh: tokio::sync::Mutex<()>,
}

fn elapsed(since: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(since).unwrap_or_default()
}

impl<S: SecretSource> CachedVerifier<S> {
    pub fn new(source: S, settings: CacheSettings) -> Self {
        Self::with_clock(source, settings, Arc::new(SystemClock))
    }

    pub fn with_clock(source: S, settings: CacheSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            source,
            settings,
            clock,
            state: RwLock::new(State::default()),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// The cached keys if still fresh, without waiting.
    fn fresh_keys(&self, now: SystemTime) -> Option<Arc<KeySet>> {
        let state = self.state.read().expect("key cache lock");
        match (&state.keys, state.fetched_at) {
            (Some(keys), Some(at)) if elapsed(at, now) < self.settings.ttl => Some(keys.clone()),
            _ => None,
        }
    }

    /// Stale keys that may still serve during an outage.
    fn stale_keys(&self, now: SystemTime) -> Option<Arc<KeySet>> {
        let state = self.state.read().expect("key cache lock");
        match (&state.keys, state.fetched_at) {
            (Some(keys), Some(at))
                if elapsed(at, now) < self.settings.ttl + self.settings.max_stale =>
            {
                Some(keys.clone())
            }
            _ => None,
        }
    }

    async fn keys(&self) -> Option<Arc<KeySet>> {
        let now = self.clock.now();
        if let Some(keys) = self.fresh_keys(now) {
            return Some(keys);
        }
        let _refreshing = self.refresh.lock().await;
        let now = self.clock.now();
        if let Some(keys) = self.fresh_keys(now) {
            return Some(keys); // another request refreshed while this one waited
        }
        let recently_failed = self
            .state
            .read()
            .expect("key cache lock")
            .failed_at
            .is_some_and(|at| elapsed(at, now) < self.settings.retry_after_error);
        if recently_failed {
            return self.stale_keys(now);
        }
        match self.load(now).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                let mut state = self.state.write().expect("key cache lock");
                if state.failed_at.take().is_some() {
                    tracing::info!("API keys loaded again; Secrets Manager is reachable");
                }
                state.keys = Some(keys.clone());
                state.fetched_at = Some(now);
                Some(keys)
            }
            Err(error) => {
                let stale = self.stale_keys(now);
                // The retry interval counts from the failure, not the attempt's start: a fetch
                // that failed slowly must not be retried by the very next request.
                let first_failure = self
                    .state
                    .write()
                    .expect("key cache lock")
                    .failed_at
                    .replace(self.clock.now())
                    .is_none();
                if first_failure {
                    if stale.is_some() {
                        tracing::error!(%error, "could not refresh the API keys; serving the cached keys meanwhile");
                    } else {
                        tracing::error!(%error, "could not load the API keys; denying every request until they load");
                    }
                }
                stale
            }
        }
    }

    async fn load(&self, now: SystemTime) -> Result<KeySet, String> {
        let current = self
            .source
            .fetch(Stage::Current)
            .await
            .map_err(|e| e.0)?
            .ok_or("the secret has no AWSCURRENT version")?;
        let current_keys = parse_secret(&current.value).map_err(|e| {
            format!(
                "the AWSCURRENT value (version {}) is malformed: {e}",
                current.version_id
            )
        })?;
        let previous_until = current
            .created
            .map(|created| created + self.settings.previous_grace);
        let in_grace = !self.settings.previous_grace.is_zero()
            && previous_until.is_some_and(|until| now < until);
        let mut previous = Vec::new();
        if in_grace
            && let Some(version) = self.source.fetch(Stage::Previous).await.map_err(|e| e.0)?
        {
            match parse_secret(&version.value) {
                Ok(keys) => {
                    previous = keys
                        .into_iter()
                        .filter(|k| current_keys.iter().any(|c| c.id() == k.id()))
                        .collect();
                }
                Err(e) => {
                    tracing::warn!(version = %version.version_id, error = %e, "ignoring a malformed AWSPREVIOUS value")
                }
            }
        }
        Ok(KeySet {
            current: current_keys,
            previous,
            previous_until,
        })
    }

    /// The decision for a presented key.
    pub async fn decide(&self, presented: &str) -> KeyDecision {
        let Some(keys) = self.keys().await else {
            return KeyDecision::Denied;
        };
        if let Some(id) = match_key(presented, &keys.current) {
            return KeyDecision::Allowed {
                key_id: id.to_owned(),
            };
        }
        let in_grace = keys
            .previous_until
            .is_some_and(|until| self.clock.now() < until);
        match match_key(presented, &keys.previous) {
            Some(id) if in_grace => KeyDecision::Allowed {
                key_id: id.to_owned(),
            },
            _ => KeyDecision::Denied,
        }
    }
}

impl<S: SecretSource> KeyVerifier for CachedVerifier<S> {
    fn verify<'a>(&'a self, presented: &'a str) -> VerifyFuture<'a> {
        Box::pin(self.decide(presented))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;
    use crate::source::{FetchFuture, SecretVersion, SourceError};

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

    /// A scripted secret: current/previous values, a switch to fail, and a call counter.
    #[derive(Default)]
    struct FakeSecret {
        current: Mutex<Option<(String, SystemTime)>>,
        previous: Mutex<Option<String>>,
        failing: Mutex<bool>,
        calls: AtomicUsize,
        delay: Duration,
    }

    impl FakeSecret {
        fn rotate(&self, new_value: &str, at: SystemTime) {
            let old = self
                .current
                .lock()
                .unwrap()
                .replace((new_value.to_owned(), at));
            *self.previous.lock().unwrap() = old.map(|(v, _)| v);
        }
    }

    impl SecretSource for Arc<FakeSecret> {
        fn fetch(&self, stage: Stage) -> FetchFuture<'_> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                if !self.delay.is_zero() {
                    tokio::time::sleep(self.delay).await;
                }
                if *self.failing.lock().unwrap() {
                    return Err(SourceError("Secrets Manager is unreachable".into()));
                }
                Ok(match stage {
                    Stage::Current => {
                        self.current
                            .lock()
                            .unwrap()
                            .clone()
                            .map(|(value, created)| SecretVersion {
                                value,
                                version_id: "v-current".into(),
                                created: Some(created),
                            })
                    }
                    Stage::Previous => {
                        self.previous
                            .lock()
                            .unwrap()
                            .clone()
                            .map(|value| SecretVersion {
                                value,
                                version_id: "v-previous".into(),
                                created: None,
                            })
                    }
                })
            })
        }
    }

    const T0: Duration = Duration::from_secs(1_800_000_000);

    fn setup(
        settings: CacheSettings,
    ) -> (
        Arc<FakeSecret>,
        Arc<ManualClock>,
        CachedVerifier<Arc<FakeSecret>>,
    ) {
        let start = SystemTime::UNIX_EPOCH + T0;
        let secret = Arc::new(FakeSecret::default());
        secret.rotate("key-1", start - Duration::from_secs(7 * 86_400));
        *secret.previous.lock().unwrap() = None;
        let clock = Arc::new(ManualClock(Mutex::new(start)));
        let verifier = CachedVerifier::with_clock(secret.clone(), settings, clock.clone());
        (secret, clock, verifier)
    }

    fn allowed(id: &str) -> KeyDecision {
        KeyDecision::Allowed { key_id: id.into() }
    }

    #[tokio::test]
    async fn right_key_allowed_wrong_and_empty_denied() {
        let (_, _, v) = setup(CacheSettings::default());
        assert_eq!(v.decide("key-1").await, allowed("default"));
        assert_eq!(v.decide("key-2").await, KeyDecision::Denied);
        assert_eq!(v.decide("").await, KeyDecision::Denied);
    }

    #[tokio::test]
    async fn one_fetch_per_ttl_whatever_the_request_count() {
        let (secret, clock, v) = setup(CacheSettings::default());
        for _ in 0..100 {
            v.decide("key-1").await;
        }
        assert_eq!(
            secret.calls.load(Ordering::SeqCst),
            1,
            "rotation is old: AWSCURRENT only"
        );
        clock.advance(Duration::from_secs(299));
        v.decide("key-1").await;
        assert_eq!(secret.calls.load(Ordering::SeqCst), 1);
        clock.advance(Duration::from_secs(2));
        v.decide("key-1").await;
        assert_eq!(secret.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn concurrent_cold_requests_share_one_fetch() {
        let secret = Arc::new(FakeSecret {
            delay: Duration::from_millis(50),
            ..Default::default()
        });
        secret.rotate("key-1", SystemTime::UNIX_EPOCH);
        let v = Arc::new(CachedVerifier::new(
            secret.clone(),
            CacheSettings::default(),
        ));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                tokio::spawn({
                    let v = v.clone();
                    async move { v.decide("key-1").await }
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), allowed("default"));
        }
        assert_eq!(secret.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn previous_key_accepted_inside_grace_only() {
        let grace = Duration::from_secs(3600);
        let (secret, clock, v) = setup(CacheSettings {
            previous_grace: grace,
            ..Default::default()
        });
        assert_eq!(v.decide("key-1").await, allowed("default"));
        secret.rotate("key-2", clock.now());
        clock.advance(Duration::from_secs(301)); // past the TTL: the rotation is seen
        assert_eq!(v.decide("key-2").await, allowed("default"));
        assert_eq!(
            v.decide("key-1").await,
            allowed("default"),
            "inside the grace window"
        );
        clock.advance(grace); // window over (the cache was refreshed in between)
        assert_eq!(
            v.decide("key-1").await,
            KeyDecision::Denied,
            "outside the grace window"
        );
        assert_eq!(v.decide("key-2").await, allowed("default"));
    }

    #[tokio::test]
    async fn grace_ends_even_while_the_cache_is_fresh() {
        let (secret, clock, v) = setup(CacheSettings {
            previous_grace: Duration::from_secs(100),
            ..Default::default()
        });
        secret.rotate("key-2", clock.now());
        assert_eq!(v.decide("key-1").await, allowed("default"));
        clock.advance(Duration::from_secs(101)); // TTL (300 s) not over, grace is
        assert_eq!(v.decide("key-1").await, KeyDecision::Denied);
    }

    #[tokio::test]
    async fn zero_grace_never_accepts_the_previous_value() {
        let (secret, clock, v) = setup(CacheSettings {
            previous_grace: Duration::ZERO,
            ..Default::default()
        });
        secret.rotate("key-2", clock.now());
        assert_eq!(v.decide("key-1").await, KeyDecision::Denied);
        assert_eq!(
            secret.calls.load(Ordering::SeqCst),
            1,
            "AWSPREVIOUS is not even read"
        );
    }

    #[tokio::test]
    async fn a_removed_key_id_is_revoked_at_once_even_in_grace() {
        let (secret, clock, v) = setup(CacheSettings::default());
        secret.rotate(
            r#"{"keys": [{"id": "laptop", "key": "k-laptop"}, {"id": "ci", "key": "k-ci"}]}"#,
            clock.now(),
        );
        clock.advance(Duration::from_secs(301));
        assert_eq!(v.decide("k-ci").await, allowed("ci"));
        // Revoke "ci": the new version lists only "laptop".
        secret.rotate(
            r#"{"keys": [{"id": "laptop", "key": "k-laptop"}]}"#,
            clock.now(),
        );
        clock.advance(Duration::from_secs(301));
        assert_eq!(v.decide("k-laptop").await, allowed("laptop"));
        assert_eq!(
            v.decide("k-ci").await,
            KeyDecision::Denied,
            "revoked despite the grace window"
        );
    }

    #[tokio::test]
    async fn a_malformed_secret_denies_everything() {
        let (secret, clock, v) = setup(CacheSettings::default());
        secret.rotate(r#"{"keys": []}"#, clock.now());
        assert_eq!(v.decide("key-1").await, KeyDecision::Denied);
        assert_eq!(v.decide(r#"{"keys": []}"#).await, KeyDecision::Denied);
    }

    #[tokio::test]
    async fn a_missing_secret_denies_everything() {
        let secret = Arc::new(FakeSecret::default());
        let v = CachedVerifier::new(secret, CacheSettings::default());
        assert_eq!(v.decide("anything").await, KeyDecision::Denied);
    }

    #[tokio::test]
    async fn outage_without_cache_fails_closed_and_retries_sparingly() {
        let (secret, clock, v) = setup(CacheSettings::default());
        *secret.failing.lock().unwrap() = true;
        for _ in 0..50 {
            assert_eq!(v.decide("key-1").await, KeyDecision::Denied);
        }
        assert_eq!(secret.calls.load(Ordering::SeqCst), 1, "no retry storm");
        clock.advance(Duration::from_secs(11));
        *secret.failing.lock().unwrap() = false;
        assert_eq!(
            v.decide("key-1").await,
            allowed("default"),
            "recovers after the retry interval"
        );
    }

    #[tokio::test]
    async fn outage_with_cache_serves_stale_keys_for_a_bounded_time() {
        let (secret, clock, v) = setup(CacheSettings::default());
        assert_eq!(v.decide("key-1").await, allowed("default"));
        *secret.failing.lock().unwrap() = true;
        clock.advance(Duration::from_secs(301));
        assert_eq!(
            v.decide("key-1").await,
            allowed("default"),
            "stale-while-error"
        );
        assert_eq!(v.decide("wrong").await, KeyDecision::Denied);
        clock.advance(Duration::from_secs(900));
        assert_eq!(
            v.decide("key-1").await,
            KeyDecision::Denied,
            "stale limit reached"
        );
    }

    /// Fails after moving the clock on by `takes`: a fetch slower than the retry interval.
    struct SlowFailure {
        clock: Arc<ManualClock>,
        takes: Duration,
        calls: AtomicUsize,
    }

    impl SecretSource for Arc<SlowFailure> {
        fn fetch(&self, _stage: Stage) -> FetchFuture<'_> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.clock.advance(self.takes);
            Box::pin(async { Err(SourceError("no answer".into())) })
        }
    }

    #[tokio::test]
    async fn the_retry_interval_counts_from_the_failure_not_the_attempt() {
        let clock = Arc::new(ManualClock(Mutex::new(SystemTime::UNIX_EPOCH + T0)));
        let source = Arc::new(SlowFailure {
            clock: clock.clone(),
            takes: Duration::from_secs(15), // longer than the 10 s retry interval
            calls: AtomicUsize::new(0),
        });
        let v = CachedVerifier::with_clock(source.clone(), CacheSettings::default(), clock.clone());
        assert_eq!(v.decide("key-1").await, KeyDecision::Denied);
        assert_eq!(v.decide("key-1").await, KeyDecision::Denied);
        assert_eq!(
            source.calls.load(Ordering::SeqCst),
            1,
            "no back-to-back fetch"
        );
        clock.advance(Duration::from_secs(11));
        assert_eq!(v.decide("key-1").await, KeyDecision::Denied);
        assert_eq!(source.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn settings_from_env() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            CacheSettings::from_env(env(&[])).unwrap(),
            CacheSettings::default()
        );
        let s = CacheSettings::from_env(env(&[
            ("MCP_KEY_CACHE_TTL_SECONDS", "60"),
            ("MCP_KEY_PREVIOUS_GRACE_SECONDS", "0"),
        ]))
        .unwrap();
        assert_eq!(s.ttl, Duration::from_secs(60));
        assert_eq!(s.previous_grace, Duration::ZERO);
        let err =
            CacheSettings::from_env(env(&[("MCP_KEY_CACHE_TTL_SECONDS", "soon")])).unwrap_err();
        assert!(err.contains("MCP_KEY_CACHE_TTL_SECONDS"), "{err}");
    }
}
