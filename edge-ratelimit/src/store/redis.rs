//! The Redis store: one atomic round trip per check (a Lua script over every key
//! of the request), keys expiring by themselves, timing from the Redis clock so
//! instances with skewed clocks agree.
//!
//! Cluster note: a request's keys (per IP, per user, ...) are different keys in
//! one script, so in Redis Cluster they must share a hash slot; give the store a
//! prefix with a hash tag (`{rl}`) — which puts all limits on one shard — or run a
//! limiter per policy.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::{Acquired, Acquisition, Hit, RateLimitStore, window_outcome};
use crate::core::window::Observed;
use crate::{ConfigError, StoreError};

/// Check every key; count in all of them only if all admit. Returns the allowed
/// flag and, per key, `prev, curr, elapsed_ms` after the check.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local states = {}
local allowed = 1
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local index = math.floor(now / period)
  local h = redis.call('HMGET', KEYS[i], 'w', 'p', 'c')
  local w = tonumber(h[1]) or index
  local p = tonumber(h[2]) or 0
  local c = tonumber(h[3]) or 0
  if w ~= index then
    if w == index - 1 then p = c else p = 0 end
    c = 0
  end
  local e = now - index * period
  if p * (period - e) + (c + 1) * period > limit * period then allowed = 0 end
  states[i] = {index, p, c, e, period}
end
local out = {allowed}
for i = 1, #KEYS do
  local s = states[i]
  if allowed == 1 then s[3] = s[3] + 1 end
  redis.call('HSET', KEYS[i], 'w', s[1], 'p', s[2], 'c', s[3])
  redis.call('PEXPIRE', KEYS[i], s[5] * 2)
  table.insert(out, s[2])
  table.insert(out, s[3])
  table.insert(out, s[4])
end
return out
";

/// A connection to the Redis server that holds the shared counters.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    script: redis::Script,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on `url` (`redis://host:port/db`). It connects lazily and reconnects
    /// by itself; each check is bounded by [`RedisStore::timeout`] (default 250 ms).
    /// Must be called within a Tokio runtime.
    pub fn new(url: &str) -> Result<RedisStore, ConfigError> {
        let timeout = Duration::from_millis(250);
        let (_, connection) = edge_core::redis::lazy_connection(url, timeout)
            .map_err(|e| ConfigError::InvalidRedisUrl(e.to_string()))?;
        Ok(RedisStore {
            connection,
            script: redis::Script::new(SCRIPT),
            prefix: "edge:rl".to_owned(),
            timeout,
        })
    }

    /// The prefix of every key (default `edge:rl`).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most a check may take before it counts as a failure (default 250 ms).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn acquire_shared(&self, hits: &[Hit<'_>]) -> Result<Acquired, StoreError> {
        let mut invocation = self.script.prepare_invoke();
        for hit in hits {
            invocation.key(format!("{}:{}:{}", self.prefix, hit.name, hit.key));
            invocation.arg(hit.limit).arg(hit.period_ms);
        }
        let mut connection = self.connection.clone();
        let call = invocation.invoke_async::<Vec<i64>>(&mut connection);
        let reply = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return Err(StoreError(e.to_string())),
            Err(_) => return Err(StoreError(format!("no answer within {:?}", self.timeout))),
        };
        if reply.len() != 1 + 3 * hits.len() {
            return Err(StoreError(format!(
                "unexpected script reply of {} values",
                reply.len()
            )));
        }
        let allowed = reply[0] == 1;
        let number = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        let outcomes = hits
            .iter()
            .zip(reply[1..].chunks_exact(3))
            .map(|(hit, state)| {
                let observed = Observed {
                    prev: number(state[0]),
                    curr: number(state[1]),
                    elapsed_ms: u64::try_from(state[2]).unwrap_or(0),
                };
                // When the script rejected, nothing was counted: a policy rejected
                // exactly when one more request does not fit its state.
                let admitted = allowed || observed.wait_ms(hit.limit, hit.period_ms) == 0;
                (hit.policy, window_outcome(admitted, observed, hit))
            })
            .collect();
        Ok(Acquired { outcomes })
    }
}

impl RateLimitStore for RedisStore {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn acquire<'a>(&'a self, hits: &'a [Hit<'a>], _now_ms: u64) -> Acquisition<'a> {
        // Windows run on Redis's clock, so instances with skewed clocks agree.
        Acquisition::Later(Box::pin(self.acquire_shared(hits)))
    }

    fn answers_at_once(&self) -> bool {
        false
    }
}
