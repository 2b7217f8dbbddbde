//! The Redis tier: entries shared by every instance, tag epochs kept in Redis so
//! that a store racing an invalidation can never win, and invalidations published
//! to every instance's in-process tier.
//!
//! Layout under the prefix (default `edge:cache`):
//! - `<prefix>:e:<key>` — a hash: `v` the encoded entry, `e1..eN` the epochs of its
//!   tags when its backend call began; expires with the entry.
//! - `<prefix>:t:<tag>` — a tag's epoch, incremented by each invalidation; expires
//!   a minute after the longest TTL following its last change.
//! - `<prefix>:invalidate` — the pub/sub channel of invalidations
//!   (`{<prefix>:bus}:invalidate`, sharded, on a cluster).
//! - `<prefix>:ack:<instance>` — the channel of messages to one instance
//!   (`{<prefix>:bus}:ack:<instance>` on a cluster).
//!
//! Every operation is one script (atomic, one round trip) bounded by
//! [`RedisTier::timeout`].
//!
//! On a Redis Cluster (a comma-separated list of seed URLs) entries and tag
//! epochs spread over the shards by key, and the operations touch several
//! slots: see [`cluster`] for how they stay exact.

mod cluster;

use std::future::Future;
use std::time::Duration;

use edge_core::redis::{Connection, Target};
use futures_util::StreamExt;

use crate::store::{CacheStore, Epoch, Found, Message, Messages, StoreFuture};
use crate::{ConfigError, TierError};

/// The entry if its tags' epochs are those it was stored under, and the tags'
/// current epochs (for a store after a miss).
const LOOKUP: &str = r"
local out = {''}
local fields = {'v'}
for i = 2, #KEYS do
  out[i] = redis.call('GET', KEYS[i]) or '0'
  fields[i] = 'e' .. (i - 1)
end
local h = redis.call('HMGET', KEYS[1], unpack(fields))
if h[1] then
  local valid = true
  for i = 2, #KEYS do
    if h[i] ~= out[i] then valid = false end
  end
  if valid then out[1] = h[1] end
end
return out
";

/// Store only if no tag was invalidated since the miss read the epochs.
const STORE: &str = r"
local args = {'v', ARGV[2]}
for i = 2, #KEYS do
  if (redis.call('GET', KEYS[i]) or '0') ~= ARGV[i + 1] then return 0 end
  table.insert(args, 'e' .. (i - 1))
  table.insert(args, ARGV[i + 1])
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(args))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
";

/// Bump the tags' epochs and tell every instance; returns how many listened.
const INVALIDATE: &str = r"
for i = 1, #KEYS do
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return redis.call('PUBLISH', ARGV[2], ARGV[3])
";

/// The [`CacheStore`] on a Redis server: entries, tag epochs, and
/// invalidations over pub/sub.
#[derive(Clone)]
pub struct RedisTier {
    target: Target,
    connection: Connection,
    prefix: String,
    timeout: Duration,
    lookup: redis::Script,
    store: redis::Script,
    invalidate: redis::Script,
    bump: redis::Script,
    put: redis::Script,
}

impl std::fmt::Debug for RedisTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTier")
            .field("cluster", &self.target.is_cluster())
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisTier {
    /// A tier on `url`: one server (`redis://host:port/db`, `rediss://` for
    /// TLS) or the comma-separated seed nodes of a Redis Cluster
    /// (`redis://h1:7000,redis://h2:7000`). It connects lazily and reconnects
    /// by itself (on a cluster, to the replica promoted after a failover); each
    /// operation is bounded by [`RedisTier::timeout`] (default 250 ms). Must be
    /// called within a Tokio runtime.
    pub fn new(url: &str) -> Result<RedisTier, ConfigError> {
        let timeout = Duration::from_millis(250);
        let (target, connection) = edge_core::redis::lazy_connection(url, timeout)
            .map_err(|e| ConfigError::InvalidRedisUrl(e.to_string()))?;
        Ok(RedisTier {
            target,
            connection,
            prefix: "edge:cache".to_owned(),
            timeout,
            lookup: redis::Script::new(LOOKUP),
            store: redis::Script::new(STORE),
            invalidate: redis::Script::new(INVALIDATE),
            bump: redis::Script::new(cluster::BUMP),
            put: redis::Script::new(cluster::PUT),
        })
    }

    /// The prefix of every key and of the channel (default `edge:cache`). Caches
    /// that must not share entries use different prefixes.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most an operation may take before it counts as a failure (default 250 ms).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn channel(&self) -> String {
        if self.target.is_cluster() {
            // Sharded pub/sub: every channel of the cache in one slot, so one
            // node carries them all and counts every subscriber.
            format!("{{{}:bus}}:invalidate", self.prefix)
        } else {
            format!("{}:invalidate", self.prefix)
        }
    }

    /// The channel on which `instance` hears messages sent to it alone.
    fn direct_channel(&self, instance: &str) -> String {
        if self.target.is_cluster() {
            format!("{{{}:bus}}:ack:{instance}", self.prefix)
        } else {
            format!("{}:ack:{instance}", self.prefix)
        }
    }

    fn entry_key(&self, key: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.prefix.len() + 3 + key.len());
        out.extend_from_slice(self.prefix.as_bytes());
        out.extend_from_slice(b":e:");
        out.extend_from_slice(key);
        out
    }

    fn tag_key(&self, tag: &str) -> String {
        format!("{}:t:{tag}", self.prefix)
    }

    /// `work`, failed when it takes longer than the timeout.
    async fn bounded<T>(
        &self,
        work: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, TierError> {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(TierError(e.to_string())),
            Err(_) => Err(TierError(format!("no answer within {:?}", self.timeout))),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl CacheStore for RedisTier {
    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn lookup<'a>(&'a self, key: &'a [u8], tags: &'a [&'a str]) -> StoreFuture<'a, Found> {
        if self.target.is_cluster() {
            return Box::pin(self.bounded(cluster::lookup(self, key, tags)));
        }
        Box::pin(async move {
            let mut invocation = self.lookup.prepare_invoke();
            invocation.key(self.entry_key(key));
            for tag in tags {
                invocation.key(self.tag_key(tag));
            }
            let mut connection = self.connection.clone();
            let mut reply: Vec<Vec<u8>> = self
                .bounded(invocation.invoke_async(&mut connection))
                .await?;
            if reply.len() != tags.len() + 1 {
                return Err(TierError(format!(
                    "unexpected lookup reply of {} values",
                    reply.len()
                )));
            }
            let epochs = reply.split_off(1);
            let value = reply.pop().filter(|value| !value.is_empty());
            Ok(Found { value, epochs })
        })
    }

    fn store<'a>(
        &'a self,
        key: &'a [u8],
        tags: &'a [&'a str],
        epochs: &'a [Epoch],
        value: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        if self.target.is_cluster() {
            return Box::pin(self.bounded(cluster::store(self, key, tags, epochs, value, ttl)));
        }
        Box::pin(async move {
            let mut invocation = self.store.prepare_invoke();
            invocation.key(self.entry_key(key));
            for tag in tags {
                invocation.key(self.tag_key(tag));
            }
            invocation.arg(millis(ttl)).arg(value);
            for epoch in epochs {
                invocation.arg(epoch.as_slice());
            }
            let mut connection = self.connection.clone();
            let stored: i64 = self
                .bounded(invocation.invoke_async(&mut connection))
                .await?;
            Ok(stored == 1)
        })
    }

    fn invalidate<'a>(
        &'a self,
        tags: &'a [&'a str],
        keep: Duration,
        message: &'a [u8],
    ) -> StoreFuture<'a, usize> {
        if self.target.is_cluster() {
            return Box::pin(self.bounded(cluster::invalidate(self, tags, keep, message)));
        }
        Box::pin(async move {
            let mut invocation = self.invalidate.prepare_invoke();
            for tag in tags {
                invocation.key(self.tag_key(tag));
            }
            invocation
                .arg(millis(keep))
                .arg(self.channel())
                .arg(message);
            let mut connection = self.connection.clone();
            let listeners: i64 = self
                .bounded(invocation.invoke_async(&mut connection))
                .await?;
            Ok(usize::try_from(listeners).unwrap_or(0))
        })
    }

    fn send_to<'a>(&'a self, instance: &'a str, message: &'a [u8]) -> StoreFuture<'a, ()> {
        let publish = if self.target.is_cluster() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        };
        Box::pin(async move {
            let mut command = redis::cmd(publish);
            command.arg(self.direct_channel(instance)).arg(message);
            let mut connection = self.connection.clone();
            self.bounded(command.query_async::<i64>(&mut connection))
                .await
                .map(drop)
        })
    }

    fn subscribe<'a>(&'a self, instance: &'a str) -> StoreFuture<'a, Messages> {
        let (channel, direct) = (self.channel(), self.direct_channel(instance));
        let client = match &self.target {
            Target::Server(client) => client,
            Target::Cluster(_) => {
                return Box::pin(self.bounded(cluster::subscribe(self, channel, direct)));
            }
        };
        Box::pin(async move {
            let subscribed = async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(&[&channel, &direct]).await?;
                Ok(pubsub)
            };
            let pubsub = self.bounded(subscribed).await?;
            let messages = pubsub.into_on_message().map(move |message| {
                let payload = message.get_payload_bytes().to_vec();
                if message.get_channel_name() == direct {
                    Message::Direct(payload)
                } else {
                    Message::Broadcast(payload)
                }
            });
            Ok(Box::pin(messages) as Messages)
        })
    }
}
