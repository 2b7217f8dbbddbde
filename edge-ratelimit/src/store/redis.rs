//! The Redis store: one atomic round trip per check (a Lua script over the
//! request's keys), keys expiring by themselves, timing from the Redis clock so
//! instances with skewed clocks agree.
//!
//! Keys are `<prefix>:{<subject>}:<policy>` (`edge:rl:{ip:192.0.2.1}:ip`): the
//! `{hash tag}` is what the request is counted by, so on a Redis Cluster
//! different clients land on different shards while one subject's policies
//! share a slot. A request whose policies count different subjects (its IP and
//! its user) touches one slot per subject: one script call per slot, all at
//! once. Each call is all or nothing for its keys; when one refuses, the
//! calls that counted the request take it back. Between the two a concurrent
//! request may see one request too many — never one too few — so no policy
//! ever admits more than its limit, on one server or on a cluster.

use std::time::Duration;

use edge_core::redis::Connection;
use futures_util::future::join_all;
use redis::cluster_routing::Slot;

use super::{Acquired, Acquisition, Hit, RateLimitStore, window_outcome};
use crate::core::window::Observed;
use crate::{ConfigError, StoreError};

/// Check every key; count in all of them only if all admit. Returns the allowed
/// flag and, per key, `prev, curr, elapsed_ms, window index` after the check.
const CHECK: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local states = {}
local allowed = 1
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local index = math.floor(now / period)
  local h = redis.call('HMGET', KEYS[i], 'w', 'p', 'c', 'P')
  local w = tonumber(h[1]) or index
  local p = tonumber(h[2]) or 0
  local c = tonumber(h[3]) or 0
  if (tonumber(h[4]) or period) ~= period then
    -- A new window length: the old counts stay counted in the new window.
    c = p + c
    p = 0
  elseif w ~= index then
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
  redis.call('HSET', KEYS[i], 'w', s[1], 'p', s[2], 'c', s[3], 'P', s[5])
  redis.call('PEXPIRE', KEYS[i], s[5] * 2)
  table.insert(out, s[2])
  table.insert(out, s[3])
  table.insert(out, s[4])
  table.insert(out, s[1])
end
return out
";

/// Take back a request counted in window `ARGV[i]` of each key: from the
/// current count, or the previous one if the window has moved on since.
const RELEASE: &str = r"
for i = 1, #KEYS do
  local counted = tonumber(ARGV[i])
  local w = tonumber(redis.call('HGET', KEYS[i], 'w'))
  local field = nil
  if w == counted then field = 'c' elseif w == counted + 1 then field = 'p' end
  if field and (tonumber(redis.call('HGET', KEYS[i], field)) or 0) > 0 then
    redis.call('HINCRBY', KEYS[i], field, -1)
  end
end
return 0
";

/// Values per key in a [`CHECK`] reply.
const PER_KEY: usize = 4;

/// A connection to the Redis server (or Redis Cluster) that holds the shared
/// counters.
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    check: redis::Script,
    release: redis::Script,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("cluster", &self.connection.is_cluster())
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The hits of one check that share a hash slot, with their keys.
struct SlotGroup<'h> {
    hits: Vec<(usize, &'h Hit<'h>, String)>,
}

/// What one slot's script call said: whether it counted the request, and each
/// key's observed state and window.
struct SlotReply {
    counted: bool,
    states: Vec<(Observed, u64)>,
}

impl RedisStore {
    /// A store on `url`: one server (`redis://host:port/db`, `rediss://` for
    /// TLS) or the comma-separated seed nodes of a Redis Cluster
    /// (`redis://h1:7000,redis://h2:7000`). It connects lazily and reconnects by
    /// itself (on a cluster, to the replica promoted after a failover); each
    /// check is bounded by [`RedisStore::timeout`] (default 250 ms). Must be
    /// called within a Tokio runtime.
    pub fn new(url: &str) -> Result<RedisStore, ConfigError> {
        let timeout = Duration::from_millis(250);
        let (_, connection) = edge_core::redis::lazy_connection(url, timeout)
            .map_err(|e| ConfigError::InvalidRedisUrl(e.to_string()))?;
        Ok(RedisStore {
            connection,
            check: redis::Script::new(CHECK),
            release: redis::Script::new(RELEASE),
            prefix: "edge:rl".to_owned(),
            timeout,
        })
    }

    /// The prefix of every key (default `edge:rl`). A prefix with a hash tag
    /// of its own (`{rl}`) would put every key in one slot, on one shard.
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

    /// The key of one hit: `<prefix>:{<subject>}:<policy>`.
    fn key(&self, hit: &Hit<'_>) -> String {
        format!("{}:{{{}}}:{}", self.prefix, hit.key, hit.name)
    }

    /// The hits grouped by hash slot (one group on a single server).
    fn groups<'h>(&self, hits: &'h [Hit<'h>]) -> Vec<SlotGroup<'h>> {
        let mut groups: Vec<(Option<Slot>, SlotGroup<'h>)> = Vec::new();
        for (position, hit) in hits.iter().enumerate() {
            let key = self.key(hit);
            let slot = self
                .connection
                .is_cluster()
                .then(|| Slot::for_key(key.as_bytes()));
            let entry = (position, hit, key);
            match groups.iter_mut().find(|(s, _)| *s == slot) {
                Some((_, group)) => group.hits.push(entry),
                None => groups.push((slot, SlotGroup { hits: vec![entry] })),
            }
        }
        groups.into_iter().map(|(_, group)| group).collect()
    }

    /// One slot's check: all or nothing for its keys.
    async fn check_slot(&self, group: &SlotGroup<'_>) -> Result<SlotReply, StoreError> {
        let mut invocation = self.check.prepare_invoke();
        for (_, hit, key) in &group.hits {
            invocation.key(key).arg(hit.limit).arg(hit.period_ms);
        }
        let mut connection = self.connection.clone();
        let reply: Vec<i64> = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(|e| StoreError(e.to_string()))?;
        if reply.len() != 1 + PER_KEY * group.hits.len() {
            return Err(StoreError(format!(
                "unexpected script reply of {} values",
                reply.len()
            )));
        }
        let number = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        let states = reply[1..]
            .chunks_exact(PER_KEY)
            .map(|state| {
                let observed = Observed {
                    prev: number(state[0]),
                    curr: number(state[1]),
                    elapsed_ms: u64::try_from(state[2]).unwrap_or(0),
                };
                (observed, u64::try_from(state[3]).unwrap_or(0))
            })
            .collect();
        Ok(SlotReply {
            counted: reply[0] == 1,
            states,
        })
    }

    /// Take back the request a slot counted.
    async fn release_slot(
        &self,
        group: &SlotGroup<'_>,
        reply: &SlotReply,
    ) -> Result<(), StoreError> {
        let mut invocation = self.release.prepare_invoke();
        for ((_, _, key), (_, window)) in group.hits.iter().zip(&reply.states) {
            invocation.key(key).arg(*window);
        }
        let mut connection = self.connection.clone();
        invocation
            .invoke_async::<i64>(&mut connection)
            .await
            .map(drop)
            .map_err(|e| StoreError(e.to_string()))
    }

    async fn acquire_shared(&self, hits: &[Hit<'_>]) -> Result<Acquired, StoreError> {
        let work = async {
            let groups = self.groups(hits);
            let replies = join_all(groups.iter().map(|group| self.check_slot(group))).await;
            let counted_everywhere = replies
                .iter()
                .all(|reply| matches!(reply, Ok(r) if r.counted));
            if !counted_everywhere {
                // One slot refused (or failed): the others take the request back.
                let releases =
                    groups
                        .iter()
                        .zip(&replies)
                        .filter_map(|(group, reply)| match reply {
                            Ok(reply) if reply.counted => Some(self.release_slot(group, reply)),
                            _ => None,
                        });
                for released in join_all(releases).await {
                    released?;
                }
            }
            let mut outcomes = vec![None; hits.len()];
            for (group, reply) in groups.iter().zip(replies) {
                let reply = reply?;
                for ((position, hit, _), (mut observed, _)) in group.hits.iter().zip(reply.states) {
                    // A refused request was counted nowhere: a policy refused it
                    // exactly when one more request does not fit its state.
                    let admitted = if counted_everywhere {
                        true
                    } else {
                        if reply.counted {
                            observed.curr = observed.curr.saturating_sub(1);
                        }
                        observed.wait_ms(hit.limit, hit.period_ms) == 0
                    };
                    outcomes[*position] =
                        Some((hit.policy, window_outcome(admitted, observed, hit)));
                }
            }
            Ok(Acquired {
                outcomes: outcomes.into_iter().flatten().collect(),
            })
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError(format!("no answer within {:?}", self.timeout))),
        }
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
