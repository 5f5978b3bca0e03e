//! Shared rate limits: the same GCRA, its state in Redis, one round trip per decision (an
//! atomic Lua script that reads Redis's own clock, so every gateway agrees on time). Keys
//! expire when their bucket is full again, so Redis holds only active keys.

use super::{Decision, Gcra};
use crate::throttle::LogThrottle;
use prometheus_client::metrics::counter::Counter;
use redis::aio::ConnectionManager;
use std::time::Duration;
use switchyard_config::RedisStore;
use tokio::sync::OnceCell;

/// The script: KEYS[1] the key; ARGV interval and tolerance in microseconds. Returns
/// `{allowed, remaining (or retry-after µs when refused), reset µs}`.
const GCRA_LUA: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local ahead = tat + interval - now
if ahead > tolerance then
  return {0, ahead - tolerance, tat - now}
end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(ahead / 1000))
return {1, math.floor((tolerance - ahead) / interval), ahead}
";

pub(crate) struct Shared {
    client: Option<redis::Client>,
    connection: OnceCell<ConnectionManager>,
    script: redis::Script,
    timeout: Duration,
    pub(crate) fail_open: bool,
    /// Decisions Redis could not make (errors and timeouts).
    pub(crate) failures: Counter,
    pub(crate) log: LogThrottle,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never printed.
        f.debug_struct("Shared")
            .field("timeout", &self.timeout)
            .field("fail_open", &self.fail_open)
            .finish()
    }
}

/// Why Redis gave no decision.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("the Redis URL cannot be used")]
    BadUrl,
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("Redis failed: {0}")]
    Redis(#[from] redis::RedisError),
}

impl Shared {
    pub(crate) fn new(store: &RedisStore, failures: Counter) -> Self {
        Self {
            client: redis::Client::open(store.url.as_str()).ok(),
            connection: OnceCell::new(),
            script: redis::Script::new(GCRA_LUA),
            timeout: store.timeout,
            fail_open: store.fail_open,
            failures,
            log: LogThrottle::default(),
        }
    }

    /// The decision for `key`, bounded by the timeout.
    pub(crate) async fn decide(&self, key: &[u8], gcra: &Gcra) -> Result<Decision, StoreError> {
        match tokio::time::timeout(self.timeout, self.ask(key, gcra)).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        }
        .inspect_err(|_| {
            self.failures.inc();
        })
    }

    async fn ask(&self, key: &[u8], gcra: &Gcra) -> Result<Decision, StoreError> {
        let mut connection = self.connection().await?;
        let interval = (gcra.interval_ns / 1000).max(1);
        let tolerance = (gcra.tolerance_ns / 1000).max(interval);
        let (allowed, second, reset): (u64, u64, u64) = self
            .script
            .key(key)
            .arg(interval)
            .arg(tolerance)
            .invoke_async(&mut connection)
            .await?;
        Ok(Decision {
            allowed: allowed == 1,
            remaining: if allowed == 1 { second } else { 0 },
            retry_after_ns: if allowed == 1 { 0 } else { second * 1000 },
            reset_ns: reset * 1000,
        })
    }

    /// One multiplexed connection, made on first use and re-made by the manager after a
    /// failure; a failed first connect is tried again by the next decision.
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let client = self.client.clone().ok_or(StoreError::BadUrl)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        let manager = self
            .connection
            .get_or_try_init(|| ConnectionManager::new_with_config(client, config))
            .await?;
        Ok(manager.clone())
    }
}
