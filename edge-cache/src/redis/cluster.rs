//! The tier on a Redis Cluster: entries and tag epochs are keys of their own,
//! spread over the shards by key; a lookup reads an entry and its tags'
//! epochs from their slots at once, and invalidations travel on sharded
//! pub/sub.
//!
//! Why it stays exact without one atomic script:
//! - An entry keeps the epochs its tags had when its backend call began, and a
//!   lookup serves it only if they equal the epochs it reads now. An
//!   invalidation moves the epochs before it is published, so once a write's
//!   invalidation is done no lookup reads the old epochs again, and no entry
//!   stored under them is served — however its store raced the invalidation.
//!   (On one server the store also refuses such an entry; here it is written
//!   and never read.)
//! - A lookup running while an invalidation runs may serve the entry from
//!   before it: the request overlaps the write.
//! - The cache's channels share one hash tag (`{<prefix>:bus}`), so one shard
//!   carries every message and `SPUBLISH` counts every instance listening:
//!   a write waits for all of their confirmations, as on one server. A
//!   subscription is taken only on that shard's master (checked by a message
//!   to itself), and ends when any node's connection drops (a failover) or the
//!   shard moves; the cache then stands aside and subscribes again.
//! - When a tag's shard cannot be reached, the invalidation is still published
//!   (every in-process copy drops) and reported failed: the cache retries it.
//!
//! Like any write Redis Cluster acknowledges, an epoch moved just before its
//! master fails may not reach the replica that takes over; the retry of a
//! failed invalidation bounds what that costs, not the replication itself.

use std::time::Duration;

use futures_util::future::{try_join, try_join_all};
use futures_util::stream;
use redis::{PushKind, RedisResult, Value};

use super::{RedisTier, millis};
use crate::store::{Epoch, Found, Message, Messages};

/// Move one tag's epoch and keep it `ARGV[1]` ms.
pub(super) const BUMP: &str = r"
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 0
";

/// Replace an entry: `ARGV[1]` its TTL in ms, then its fields and values.
pub(super) const PUT: &str = r"
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
";

/// The epoch of a tag never invalidated (or forgotten): as on one server.
const NEVER: &[u8] = b"0";

/// The entry, valid if stored under the tags' current epochs, and those epochs:
/// one read per slot, all at once.
pub(super) async fn lookup(tier: &RedisTier, key: &[u8], tags: &[&str]) -> RedisResult<Found> {
    let mut entry = redis::cmd("HMGET");
    entry.arg(tier.entry_key(key)).arg("v");
    for i in 1..=tags.len() {
        entry.arg(format!("e{i}"));
    }
    let mut connection = tier.connection.clone();
    let entry = entry.query_async::<Vec<Option<Vec<u8>>>>(&mut connection);
    let epochs = try_join_all(tags.iter().map(|tag| {
        let mut connection = tier.connection.clone();
        let mut get = redis::cmd("GET");
        get.arg(tier.tag_key(tag));
        async move { get.query_async::<Option<Vec<u8>>>(&mut connection).await }
    }));
    let (fields, epochs) = try_join(entry, epochs).await?;
    let epochs: Vec<Epoch> = epochs
        .into_iter()
        .map(|epoch| epoch.unwrap_or_else(|| NEVER.to_vec()))
        .collect();
    let mut fields = fields.into_iter();
    let value = fields.next().flatten();
    let stored: Vec<Option<Vec<u8>>> = fields.collect();
    let valid = stored.len() == epochs.len()
        && stored
            .iter()
            .zip(&epochs)
            .all(|(stored, current)| stored.as_deref() == Some(current.as_slice()));
    Ok(Found {
        value: value.filter(|_| valid),
        epochs,
    })
}

/// Keep the entry with the epochs its lookup read (checked when it is read).
pub(super) async fn store(
    tier: &RedisTier,
    key: &[u8],
    _tags: &[&str],
    epochs: &[Epoch],
    value: &[u8],
    ttl: Duration,
) -> RedisResult<bool> {
    let mut invocation = tier.put.prepare_invoke();
    invocation
        .key(tier.entry_key(key))
        .arg(millis(ttl))
        .arg("v")
        .arg(value);
    for (i, epoch) in epochs.iter().enumerate() {
        invocation.arg(format!("e{}", i + 1)).arg(epoch.as_slice());
    }
    let mut connection = tier.connection.clone();
    let stored: i64 = invocation.invoke_async(&mut connection).await?;
    Ok(stored == 1)
}

/// Move every tag's epoch (each in its slot, at once), then publish: how many
/// instances heard it.
pub(super) async fn invalidate(
    tier: &RedisTier,
    tags: &[&str],
    keep: Duration,
    message: &[u8],
) -> RedisResult<usize> {
    let bumped = try_join_all(tags.iter().map(|tag| {
        let mut invocation = tier.bump.prepare_invoke();
        invocation.key(tier.tag_key(tag)).arg(millis(keep));
        let mut connection = tier.connection.clone();
        async move { invocation.invoke_async::<i64>(&mut connection).await }
    }))
    .await;
    // Published even when a tag's shard failed: the other instances drop their
    // in-process copies all the same (the failed bump is the caller's to retry).
    let mut connection = tier.connection.clone();
    let listeners: i64 = redis::cmd("SPUBLISH")
        .arg(tier.channel())
        .arg(message)
        .query_async(&mut connection)
        .await?;
    bumped?;
    Ok(usize::try_from(listeners).unwrap_or(0))
}

/// Listen on the cache's channel and this instance's own, on the shard that
/// carries them (sharded pub/sub over RESP3).
pub(super) async fn subscribe(
    tier: &RedisTier,
    channel: String,
    direct: String,
) -> RedisResult<Messages> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let client = tier
        .target
        .cluster_builder(tier.timeout)
        .ok_or_else(|| redis::RedisError::from((redis::ErrorKind::Client, "not a cluster")))?
        .use_protocol(redis::ProtocolVersion::RESP3)
        .push_sender(sender)
        .build()?;
    let mut connection = client.get_async_connection().await?;
    connection.ssubscribe(&[&channel, &direct]).await?;
    // Subscribed where this instance's publishes land and are counted — the
    // shard's master, not a replica (a master down mid-failover): else a
    // write's wait for confirmations would miss this instance. Sent on the
    // connection that publishes, which so learns the shard's master too.
    let mut publishing = tier.connection.clone();
    let heard: i64 = redis::cmd("SPUBLISH")
        .arg(&direct)
        .arg("subscribed")
        .query_async(&mut publishing)
        .await?;
    if heard != 1 {
        return Err(redis::RedisError::from((
            redis::ErrorKind::Client,
            "subscribed, but not on the master of the channel's shard",
        )));
    }
    // The connection lives as long as the stream: dropping it unsubscribes.
    let messages = stream::unfold((receiver, connection), move |(mut receiver, connection)| {
        let direct = direct.clone();
        async move {
            loop {
                let push = receiver.recv().await?;
                match push.kind {
                    PushKind::SMessage => {
                        if let Some(message) = message(&push.data, &direct) {
                            return Some((message, (receiver, connection)));
                        }
                    }
                    // A node dropped (a failover?) or the shard moved: the
                    // messages in between may be lost.
                    PushKind::Disconnection | PushKind::SUnsubscribe => return None,
                    _ => {}
                }
            }
        }
    });
    Ok(Box::pin(messages) as Messages)
}

/// A sharded message's `[channel, payload]` as a [`Message`].
fn message(data: &[Value], direct: &str) -> Option<Message> {
    let [Value::BulkString(channel), Value::BulkString(payload)] = data else {
        return None;
    };
    Some(if channel.as_slice() == direct.as_bytes() {
        Message::Direct(payload.clone())
    } else {
        Message::Broadcast(payload.clone())
    })
}
