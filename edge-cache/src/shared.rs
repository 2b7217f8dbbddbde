//! Keeping the in-process tier honest when several instances share Redis: every
//! invalidation is published, every instance's subscriber applies the others'
//! and confirms it on the sender's acknowledgement channel. The write that caused
//! it waits (up to the Redis timeout) for every confirmation, so once its response
//! is sent no instance answers from an entry it invalidated.
//! While the subscription is down the cache stands aside (requests go to the
//! backend) and the in-process tier is emptied, since invalidations may be lost;
//! invalidations that could not be published are retried before it comes back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;

use crate::cache::Inner;
use crate::redis::RedisTier;
use crate::stats::Counters;

/// Invalidations kept for retry while Redis is unreachable; beyond it, all is.
const MAX_PENDING: usize = 10_000;

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) tier: RedisTier,
    instance: String,
    epoch_ttl_ms: u64,
    subscribed: watch::Sender<bool>,
    /// The subscriber's first attempt ended (well or not): lookups stop waiting for it.
    settled: AtomicBool,
    started: AtomicBool,
    pending: Mutex<Vec<String>>,
    /// The sequence number of this instance's next invalidation message.
    next_seq: AtomicU64,
    /// Confirmations received so far, per published invalidation awaiting them.
    confirmations: Mutex<HashMap<u64, watch::Sender<usize>>>,
    /// Dropped with the cache: ends the subscriber.
    closing: watch::Sender<()>,
}

impl Shared {
    pub(crate) fn new(tier: RedisTier, max_ttl: Duration) -> Self {
        let epoch_ttl = max_ttl.saturating_add(Duration::from_secs(60));
        Shared {
            tier,
            instance: instance_id(),
            epoch_ttl_ms: u64::try_from(epoch_ttl.as_millis()).unwrap_or(u64::MAX),
            subscribed: watch::channel(false).0,
            settled: AtomicBool::new(false),
            started: AtomicBool::new(false),
            pending: Mutex::new(Vec::new()),
            next_seq: AtomicU64::new(0),
            confirmations: Mutex::new(HashMap::new()),
            closing: watch::channel(()).0,
        }
    }

    pub(crate) fn is_subscribed(&self) -> bool {
        *self.subscribed.borrow()
    }

    /// Whether lookups may use the tiers; the first lookups wait (bounded) for
    /// the subscriber's first connection.
    pub(crate) async fn ready(&self, inner: &Arc<Inner>) -> bool {
        if self.is_subscribed() {
            return true;
        }
        start(inner);
        if self.settled.load(Ordering::Acquire) {
            return false;
        }
        let mut receiver = self.subscribed.subscribe();
        let wait = receiver.wait_for(|up| *up);
        matches!(
            tokio::time::timeout(self.tier.timeout * 4, wait).await,
            Ok(Ok(_))
        )
    }

    /// `<instance>\n<seq>\n<tag>\n<tag>...`
    fn message(&self, seq: u64, tags: &[&str]) -> String {
        let mut message = format!("{}\n{seq}", self.instance);
        for tag in tags {
            message.push('\n');
            message.push_str(tag);
        }
        message
    }

    /// Publish an invalidation to every instance and wait until each subscriber
    /// (this one included) confirmed it, or the Redis timeout passed; kept for
    /// retry if Redis fails.
    pub(crate) async fn publish(&self, inner: &Inner, tags: &[&str]) {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let message = self.message(seq, tags);
        // Confirmations can only arrive while subscribed.
        let waiting = self.is_subscribed().then(|| Awaiting::register(self, seq));
        match self
            .tier
            .invalidate(tags, self.epoch_ttl_ms, message.as_bytes())
            .await
        {
            Ok(listeners) => {
                let Some(mut waiting) = waiting else { return };
                let confirmed = waiting.counts.wait_for(|count| *count >= listeners);
                if !matches!(
                    tokio::time::timeout(self.tier.timeout, confirmed).await,
                    Ok(Ok(_))
                ) {
                    Counters::add(&inner.counters.unconfirmed, 1);
                    tracing::warn!(
                        listeners,
                        confirmed = *waiting.counts.borrow(),
                        "cache: not every instance confirmed an invalidation in time"
                    );
                }
            }
            Err(error) => self.keep_for_retry(inner, tags, &error),
        }
    }

    /// Count a confirmation of this instance's invalidation `seq`.
    fn confirmed(&self, seq: u64) {
        let confirmations = self
            .confirmations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(counts) = confirmations.get(&seq) {
            counts.send_modify(|count| *count += 1);
        }
    }

    fn keep_for_retry(&self, inner: &Inner, tags: &[&str], error: &crate::TierError) {
        Counters::add(&inner.counters.tier_errors, 1);
        tracing::warn!(%error, "cache: could not publish an invalidation; retrying when Redis is back");
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.extend(tags.iter().map(|t| (*t).to_owned()));
        if pending.len() > MAX_PENDING {
            pending.clear();
            pending.push("*".to_owned());
        }
    }

    /// Publish what failed earlier; `false` if Redis still fails.
    async fn flush_pending(&self) -> bool {
        let tags = std::mem::take(
            &mut *self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if tags.is_empty() {
            return true;
        }
        let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        let message = self.message(self.next_seq.fetch_add(1, Ordering::Relaxed), &refs);
        match self
            .tier
            .invalidate(&refs, self.epoch_ttl_ms, message.as_bytes())
            .await
        {
            Ok(_) => true,
            Err(_) => {
                self.pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend(tags);
                false
            }
        }
    }

    fn set_subscribed(&self, inner: &Inner, up: bool) {
        // Entries kept before a gap may have missed invalidations: drop them all.
        inner.epochs.bump_all();
        inner.memory.clear();
        self.subscribed.send_replace(up);
    }
}

/// A published invalidation's confirmation count, unregistered when dropped.
struct Awaiting<'a> {
    shared: &'a Shared,
    seq: u64,
    counts: watch::Receiver<usize>,
}

impl<'a> Awaiting<'a> {
    fn register(shared: &'a Shared, seq: u64) -> Self {
        let (sender, counts) = watch::channel(0);
        shared
            .confirmations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(seq, sender);
        Awaiting {
            shared,
            seq,
            counts,
        }
    }
}

impl Drop for Awaiting<'_> {
    fn drop(&mut self) {
        self.shared
            .confirmations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.seq);
    }
}

/// Start the subscriber once, on the current Tokio runtime (if any).
pub(crate) fn start(inner: &Arc<Inner>) {
    let Some(shared) = &inner.shared else { return };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if shared.started.swap(true, Ordering::AcqRel) {
        return;
    }
    let mut closing = shared.closing.subscribe();
    let cache = Arc::downgrade(inner);
    let (client, channel, timeout) = (
        shared.tier.client.clone(),
        shared.tier.channel(),
        shared.tier.timeout,
    );
    let acks = shared.tier.ack_channel(&shared.instance);
    runtime.spawn(async move {
        tokio::select! {
            _ = subscribe(cache, client, [channel, acks], timeout) => {}
            _ = closing.changed() => {}
        }
    });
}

/// Subscribe to the invalidations and this instance's confirmations, apply
/// messages, resubscribe after failures; `None` once the cache is gone. Holds
/// the cache only briefly, never while waiting for messages.
async fn subscribe(
    cache: Weak<Inner>,
    client: redis::Client,
    [channel, acks]: [String; 2],
    timeout: Duration,
) -> Option<()> {
    let mut backoff = Duration::from_millis(50);
    loop {
        let connected = tokio::time::timeout(timeout * 4, async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&[&channel, &acks]).await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        let inner = cache.upgrade()?;
        let shared = inner.shared.as_ref()?;
        let pubsub = match connected {
            Ok(Ok(pubsub)) if shared.flush_pending().await => pubsub,
            _ => {
                shared.settled.store(true, Ordering::Release);
                drop(inner);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        shared.set_subscribed(&inner, true);
        shared.settled.store(true, Ordering::Release);
        drop(inner);
        backoff = Duration::from_millis(50);
        tracing::debug!(%channel, "cache: listening for invalidations");
        let mut messages = pubsub.into_on_message();
        while let Some(message) = messages.next().await {
            let inner = cache.upgrade()?;
            let payload = message.get_payload_bytes();
            if message.get_channel_name() == acks {
                let seq = std::str::from_utf8(payload)
                    .ok()
                    .and_then(|s| s.parse().ok());
                if let (Some(seq), Some(shared)) = (seq, &inner.shared) {
                    shared.confirmed(seq);
                }
            } else {
                apply(&inner, payload);
            }
        }
        tracing::warn!("cache: lost the invalidation channel; bypassing until it is back");
        let inner = cache.upgrade()?;
        inner.shared.as_ref()?.set_subscribed(&inner, false);
    }
}

/// Apply an invalidation message, `<instance>\n<seq>\n<tag>\n<tag>...`, and
/// confirm it to its sender (its own: at once, it is applied already).
fn apply(inner: &Inner, payload: &[u8]) {
    let Some(shared) = &inner.shared else { return };
    let Ok(text) = std::str::from_utf8(payload) else {
        return;
    };
    let mut lines = text.split('\n');
    let (Some(origin), Some(seq)) = (lines.next(), lines.next()) else {
        return;
    };
    if origin == shared.instance {
        if let Ok(seq) = seq.parse() {
            shared.confirmed(seq);
        }
        return;
    }
    let mut count = 0;
    for tag in lines {
        if tag == "*" {
            inner.epochs.bump_all();
        } else {
            inner.epochs.bump(tag);
        }
        count += 1;
    }
    Counters::add(&inner.counters.invalidations, count);
    let (tier, channel, seq) = (
        shared.tier.clone(),
        shared.tier.ack_channel(origin),
        seq.to_owned(),
    );
    tokio::spawn(async move {
        if let Err(error) = tier.acknowledge(channel, &seq).await {
            tracing::debug!(%error, "cache: could not confirm an invalidation");
        }
    });
}

/// A name for this instance, so it can skip its own messages.
fn instance_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:016x}", hasher.finish())
}
