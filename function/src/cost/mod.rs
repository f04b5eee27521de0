//! AWS Cost Explorer behind the MCP tools: validated requests, one lazily built SDK client in
//! us-east-1 (where Cost Explorer is served), an answer cache (each API request costs $0.01),
//! pagination with progress, a deadline, and actionable errors.

pub mod errors;
pub mod input;
pub mod output;
pub mod paging;
pub mod sdk;

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use aws_sdk_costexplorer::Client;
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::OnceCell;

pub use errors::{CostError, CostErrorKind};
pub use input::InputError;
pub use paging::{PageProgress, Silent};

/// Cost Explorer's only endpoint region.
pub const COST_EXPLORER_REGION: &str = "us-east-1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostSettings {
    /// Identical queries inside this window are answered from memory.
    pub cache_ttl: Duration,
    /// A tool call gives up after this long (API Gateway stops waiting at 30 s).
    pub deadline: Duration,
    /// At most this many pages are fetched for one query; an answer with more is an error that
    /// says how to narrow the query (see [`paging`]).
    pub max_pages: u32,
}

impl Default for CostSettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(3600),
            deadline: Duration::from_secs(25),
            max_pages: 20,
        }
    }
}

impl CostSettings {
    /// `MCP_COST_CACHE_TTL_SECONDS` (0 disables the cache) and `MCP_COST_DEADLINE_SECONDS`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut settings = Self::default();
        let read = |name: &str, max: u64| authorizer::seconds_from_env(&var, name, max);
        if let Some(ttl) = read("MCP_COST_CACHE_TTL_SECONDS", 7 * 86_400)? {
            settings.cache_ttl = Duration::from_secs(ttl);
        }
        if let Some(deadline) = read("MCP_COST_DEADLINE_SECONDS", 900)? {
            if deadline == 0 {
                return Err("MCP_COST_DEADLINE_SECONDS must be at least 1".into());
            }
            settings.deadline = Duration::from_secs(deadline);
        }
        Ok(settings)
    }
}

/// Answers by normalized request, for `cache_ttl`.
#[derive(Default)]
struct AnswerCache {
    entries: Mutex<HashMap<String, (Instant, serde_json::Value)>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

const CACHE_CAPACITY: usize = 512;

impl AnswerCache {
    fn get(&self, key: &str, ttl: Duration) -> Option<serde_json::Value> {
        let entries = self.entries.lock().expect("cost cache lock");
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, key: String, value: serde_json::Value, ttl: Duration) {
        let mut entries = self.entries.lock().expect("cost cache lock");
        entries.retain(|_, (at, _)| at.elapsed() < ttl);
        if entries.len() >= CACHE_CAPACITY {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (Instant::now(), value));
    }
}

pub struct CostExplorer {
    client: OnceCell<Client>,
    settings: CostSettings,
    cache: AnswerCache,
}

/// Outputs carry a `cached` flag the cache sets on hits.
pub trait Cacheable: Serialize + DeserializeOwned {
    fn set_cached(&mut self, cached: bool);
}

impl CostExplorer {
    /// The SDK client is built on the first call: no AWS configuration is loaded at start-up,
    /// and a machine without credentials still runs every other tool.
    pub fn new(settings: CostSettings) -> Self {
        Self {
            client: OnceCell::new(),
            settings,
            cache: AnswerCache::default(),
        }
    }

    pub fn with_client(client: Client, settings: CostSettings) -> Self {
        Self {
            client: OnceCell::new_with(Some(client)),
            settings,
            cache: AnswerCache::default(),
        }
    }

    pub fn settings(&self) -> &CostSettings {
        &self.settings
    }

    pub fn cache_stats(&self) -> (u64, u64) {
        (
            self.cache.hits.load(Ordering::Relaxed),
            self.cache.misses.load(Ordering::Relaxed),
        )
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let config = authorizer::aws_config_loader()
                    .region(aws_config::Region::new(COST_EXPLORER_REGION))
                    .load()
                    .await;
                Client::new(&config)
            })
            .await
    }

    /// Runs `query` unless an identical request (`key`) was answered within the TTL; applies
    /// the deadline; logs cache hits and misses.
    async fn cached<T, F, Fut>(
        &self,
        operation: &str,
        key: &impl Serialize,
        query: F,
    ) -> Result<T, CostError>
    where
        T: Cacheable,
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<T, CostError>>,
    {
        let key = format!(
            "{operation}:{}",
            serde_json::to_string(key).unwrap_or_default()
        );
        let ttl = self.settings.cache_ttl;
        if !ttl.is_zero()
            && let Some(value) = self.cache.get(&key, ttl)
            && let Ok(mut answer) = serde_json::from_value::<T>(value)
        {
            let hits = self.cache.hits.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::info!(
                operation,
                cache = "hit",
                hits,
                misses = self.cache.misses.load(Ordering::Relaxed),
                "cost explorer"
            );
            answer.set_cached(true);
            return Ok(answer);
        }
        let misses = self.cache.misses.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::info!(
            operation,
            cache = "miss",
            hits = self.cache.hits.load(Ordering::Relaxed),
            misses,
            "cost explorer"
        );
        let deadline = self.settings.deadline;
        let client = self.client().await.clone();
        let answer = tokio::time::timeout(deadline, query(client))
            .await
            .map_err(|_| CostError::deadline(deadline.as_secs()))??;
        if !ttl.is_zero()
            && let Ok(value) = serde_json::to_value(&answer)
        {
            self.cache.put(key, value, ttl);
        }
        Ok(answer)
    }
}
