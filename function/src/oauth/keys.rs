//! The stage's OAuth secrets (signing key, Cognito client credentials): fixed, or from Secrets
//! Manager, cached like the API keys: fetched on first use, refreshed after the TTL, the
//! AWSPREVIOUS signing key kept for the grace period after a rotation, stale values served
//! during an outage up to `max_stale`, failing closed after that, each outage logged once.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use authorizer::{CacheSettings, SecretSource, Stage};
use oauth::{Key, Keyring};
use serde::Deserialize;

use super::settings::{StageSecretValues, decode_signing_key};

/// What the facade needs from the secret.
pub struct StageSecrets {
    pub keyring: Keyring,
    pub cognito_client_id: String,
    pub cognito_client_secret: String,
}

impl StageSecrets {
    pub fn fixed(values: &StageSecretValues) -> Result<Self, oauth::ShortKey> {
        Ok(Self {
            keyring: Keyring::from_signing_key(&values.signing_key)?,
            cognito_client_id: values.cognito_client_id.clone(),
            cognito_client_secret: values.cognito_client_secret.clone(),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretJson {
    signing_key: String,
    #[serde(default)]
    cognito_client_id: String,
    #[serde(default)]
    cognito_client_secret: String,
}

/// Parses the secret's JSON. Errors never quote the value.
pub fn parse_secret(value: &str) -> Result<StageSecretValues, String> {
    let json: SecretJson = serde_json::from_str(value).map_err(|_| {
        "the OAuth secret must be JSON: {\"signingKey\", \"cognitoClientId\", \"cognitoClientSecret\"}".to_owned()
    })?;
    if json.cognito_client_id.is_empty() || json.cognito_client_secret.is_empty() {
        return Err("the OAuth secret lacks cognitoClientId or cognitoClientSecret".into());
    }
    Ok(StageSecretValues {
        signing_key: decode_signing_key(&json.signing_key, "the OAuth secret's signingKey")?,
        cognito_client_id: json.cognito_client_id,
        cognito_client_secret: json.cognito_client_secret,
    })
}

pub enum SecretProvider {
    Fixed(Arc<StageSecrets>),
    Cached(Box<SecretCache>),
}

impl SecretProvider {
    /// The secrets, or `None` when they cannot be had (fail closed).
    pub async fn get(&self) -> Option<Arc<StageSecrets>> {
        match self {
            SecretProvider::Fixed(secrets) => Some(secrets.clone()),
            SecretProvider::Cached(cache) => cache.get().await,
        }
    }
}

#[derive(Default)]
struct State {
    value: Option<Arc<StageSecrets>>,
    fetched_at: Option<Instant>,
    failed_at: Option<Instant>,
}

pub struct SecretCache {
    source: Box<dyn SecretSource>,
    settings: CacheSettings,
    // One lock: a refresh holds it, so concurrent cold requests wait for a single fetch.
    state: tokio::sync::Mutex<State>,
}

impl SecretCache {
    pub fn new(source: Box<dyn SecretSource>, settings: CacheSettings) -> Self {
        Self {
            source,
            settings,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    async fn get(&self) -> Option<Arc<StageSecrets>> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let age = state.fetched_at.map(|at| now - at);
        let fresh = age.is_some_and(|a| a < self.settings.ttl);
        if fresh {
            return state.value.clone();
        }
        let stale = || {
            age.filter(|a| *a < self.settings.ttl + self.settings.max_stale)
                .and(state.value.clone())
        };
        if state
            .failed_at
            .is_some_and(|at| now - at < self.settings.retry_after_error)
        {
            return stale();
        }
        match self.load().await {
            Ok(secrets) => {
                if state.failed_at.take().is_some() {
                    tracing::info!("OAuth secret loaded again; Secrets Manager is reachable");
                }
                let secrets = Arc::new(secrets);
                state.value = Some(secrets.clone());
                state.fetched_at = Some(now);
                Some(secrets)
            }
            Err(reason) => {
                if state.failed_at.is_none() {
                    tracing::error!(%reason, "cannot load the OAuth secret; OAuth fails closed until it loads");
                }
                // Counted from the failure: a slow failure is not retried by the next request.
                state.failed_at = Some(Instant::now());
                age.filter(|a| *a < self.settings.ttl + self.settings.max_stale)
                    .and(state.value.clone())
            }
        }
    }

    async fn load(&self) -> Result<StageSecrets, String> {
        let current = self
            .source
            .fetch(Stage::Current)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the OAuth secret has no AWSCURRENT version")?;
        let values = parse_secret(&current.value)?;
        let in_grace = current.created.is_some_and(|created| {
            SystemTime::now()
                .duration_since(created)
                .unwrap_or(Duration::ZERO)
                < self.settings.previous_grace
        });
        // A broken previous version only loses the grace period, never the current key.
        let previous = if in_grace {
            match self.source.fetch(Stage::Previous).await {
                Ok(Some(v)) => parse_secret(&v.value)
                    .ok()
                    .and_then(|p| Key::derive(&p.signing_key).ok()),
                _ => None,
            }
        } else {
            None
        };
        let current_key = Key::derive(&values.signing_key).map_err(|e| e.to_string())?;
        Ok(StageSecrets {
            keyring: Keyring::new(current_key, previous),
            cognito_client_id: values.cognito_client_id,
            cognito_client_secret: values.cognito_client_secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use authorizer::source::{FetchFuture, SecretVersion, SourceError};

    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY_B: &str = "HxseHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

    fn secret(key: &str) -> String {
        format!(r#"{{"signingKey":"{key}","cognitoClientId":"cid","cognitoClientSecret":"cs"}}"#)
    }

    /// Secrets Manager as a list of (stage, value) answers; `None` value = unreachable.
    struct Fake {
        current: Mutex<Option<String>>,
        previous: Option<String>,
        created: SystemTime,
        calls: Mutex<u32>,
    }

    impl SecretSource for Fake {
        fn fetch(&self, stage: Stage) -> FetchFuture<'_> {
            *self.calls.lock().unwrap() += 1;
            let value = match stage {
                Stage::Current => self.current.lock().unwrap().clone(),
                Stage::Previous => self.previous.clone(),
            };
            let created = self.created;
            Box::pin(async move {
                match value {
                    Some(value) => Ok(Some(SecretVersion {
                        value,
                        version_id: "v".into(),
                        created: Some(created),
                    })),
                    None => Err(SourceError("unreachable".into())),
                }
            })
        }
    }

    #[test]
    fn secret_json_is_checked_without_quoting_it() {
        assert!(parse_secret(&secret(KEY_A)).is_ok());
        for bad in [
            "",
            "{}",
            "not json with s3cr3t",
            r#"{"signingKey":"c2hvcnQ=","cognitoClientId":"a","cognitoClientSecret":"s3cr3t"}"#,
        ] {
            let Err(err) = parse_secret(bad) else {
                panic!("{bad} parsed")
            };
            assert!(!err.contains("s3cr3t"), "{err}");
        }
    }

    #[tokio::test]
    async fn rotation_keeps_the_previous_key_in_grace() {
        let fake = Fake {
            current: Mutex::new(Some(secret(KEY_B))),
            previous: Some(secret(KEY_A)),
            created: SystemTime::now(),
            calls: Mutex::new(0),
        };
        let cache = SecretCache::new(Box::new(fake), CacheSettings::default());
        let secrets = cache.get().await.unwrap();
        let old = Keyring::from_signing_key(&decode_signing_key(KEY_A, "k").unwrap()).unwrap();
        let blob = old.seal(oauth::Purpose::Refresh, &1, i64::MAX);
        assert_eq!(
            secrets
                .keyring
                .open::<i32>(oauth::Purpose::Refresh, &blob, 0),
            Ok(1)
        );
    }

    #[tokio::test]
    async fn after_grace_only_the_current_key_opens() {
        let created = SystemTime::now() - Duration::from_secs(2 * 86_400);
        let fake = Fake {
            current: Mutex::new(Some(secret(KEY_B))),
            previous: Some(secret(KEY_A)),
            created,
            calls: Mutex::new(0),
        };
        let cache = SecretCache::new(Box::new(fake), CacheSettings::default());
        let secrets = cache.get().await.unwrap();
        let old = Keyring::from_signing_key(&decode_signing_key(KEY_A, "k").unwrap()).unwrap();
        let blob = old.seal(oauth::Purpose::Refresh, &1, i64::MAX);
        assert!(
            secrets
                .keyring
                .open::<i32>(oauth::Purpose::Refresh, &blob, 0)
                .is_err()
        );
    }

    #[tokio::test]
    async fn fails_closed_when_unreachable_and_serves_fresh_values_when_back() {
        let fake = Arc::new(Fake {
            current: Mutex::new(None),
            previous: None,
            created: SystemTime::now(),
            calls: Mutex::new(0),
        });
        struct Shared(Arc<Fake>);
        impl SecretSource for Shared {
            fn fetch(&self, stage: Stage) -> FetchFuture<'_> {
                self.0.fetch(stage)
            }
        }
        let settings = CacheSettings {
            retry_after_error: Duration::ZERO,
            ..CacheSettings::default()
        };
        let cache = SecretCache::new(Box::new(Shared(fake.clone())), settings);
        assert!(cache.get().await.is_none());
        *fake.current.lock().unwrap() = Some(secret(KEY_A));
        assert!(cache.get().await.is_some());
        let calls = *fake.calls.lock().unwrap();
        assert!(cache.get().await.is_some());
        assert_eq!(
            *fake.calls.lock().unwrap(),
            calls,
            "a fresh value is served from the cache"
        );
    }
}
