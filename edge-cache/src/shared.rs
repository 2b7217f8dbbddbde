//! Keeping the in-process tier honest when several instances share a
//! [`CacheStore`] (Redis): every
//! invalidation is published, every instance's subscriber applies the others'
//! and confirms it on the sender's acknowledgement channel. The write that caused
//! it waits (up to the Redis timeout) for every confirmation, so once its response
//! is sent no instance answers from an entry it invalidated.
//! While the subscription is down the cache stands aside (requests go to the
//! backend) and the in-process tier is emptied, since invalidations may be lost;
//! an invalidation that could not be published also makes the instance stand
//! aside, and is published before it comes back.
//! The store only keeps bytes and carries messages: the entry encoding and the
//! messages are written here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;

use crate::TierError;
use crate::cache::Inner;
use crate::core::entry::Entry;
use crate::stats::Counters;
use crate::store::{CacheStore, Epoch, Message};

/// Invalidations kept for retry while Redis is unreachable; beyond it, all is.
const MAX_PENDING: usize = 10_000;

/// The longest wait between attempts while an invalidation is unpublished.
const URGENT_RETRY: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub(crate) struct Shared {
    store: Arc<dyn CacheStore>,
    instance: String,
    /// How long a tag's epoch outlives its last change, in ms: past the
    /// longest TTL there has been.
    epoch_keep_ms: AtomicU64,
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
    /// Moved when an invalidation could not be published: the subscriber
    /// stands aside and subscribes again, publishing it first.
    failed_publish: watch::Sender<u64>,
}

impl Shared {
    pub(crate) fn new(store: Arc<dyn CacheStore>, max_ttl: Duration) -> Self {
        Shared {
            store,
            instance: instance_id(),
            epoch_keep_ms: AtomicU64::new(keep_ms(max_ttl)),
            subscribed: watch::channel(false).0,
            settled: AtomicBool::new(false),
            started: AtomicBool::new(false),
            pending: Mutex::new(Vec::new()),
            next_seq: AtomicU64::new(0),
            confirmations: Mutex::new(HashMap::new()),
            closing: watch::channel(()).0,
            failed_publish: watch::channel(0).0,
        }
    }

    /// Keep epochs past `ttl` (entries stored under a TTL raised live must
    /// never outlive their tags' epochs); never shortened.
    pub(crate) fn keep_epochs_past(&self, ttl: Duration) {
        self.epoch_keep_ms
            .fetch_max(keep_ms(ttl), Ordering::Relaxed);
    }

    fn epoch_keep(&self) -> Duration {
        Duration::from_millis(self.epoch_keep_ms.load(Ordering::Relaxed))
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
            tokio::time::timeout(self.store.timeout() * 4, wait).await,
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
            .store
            .invalidate(tags, self.epoch_keep(), message.as_bytes())
            .await
        {
            Ok(listeners) => {
                let Some(mut waiting) = waiting else { return };
                let confirmed = waiting.counts.wait_for(|count| *count >= listeners);
                if !matches!(
                    tokio::time::timeout(self.store.timeout(), confirmed).await,
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

    fn keep_for_retry(&self, inner: &Inner, tags: &[&str], error: &TierError) {
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
        // Other instances may still be listening (on a cluster, a tag's shard
        // can fail alone): this one stops answering from memory until the
        // invalidation is out.
        self.failed_publish.send_modify(|n| *n += 1);
    }

    fn pending_is_empty(&self) -> bool {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty()
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
            .store
            .invalidate(&refs, self.epoch_keep(), message.as_bytes())
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

    /// The valid shared entry under `key` (an undecodable one, another
    /// version's layout, is a miss) and the current epochs of `tags` and `*`.
    pub(crate) async fn lookup(
        &self,
        key: &[u8],
        tags: &[String],
    ) -> Result<(Option<Entry>, Vec<Epoch>), TierError> {
        let tags = with_everything(tags);
        let found = self.store.lookup(key, &tags).await?;
        if found.epochs.len() != tags.len() {
            return Err(TierError(format!(
                "the store gave {} epochs for {} tags",
                found.epochs.len(),
                tags.len()
            )));
        }
        let entry = found.value.as_deref().and_then(Entry::decode);
        Ok((entry, found.epochs))
    }

    /// Share `entry` unless one of its tags was invalidated since `epochs` were read.
    pub(crate) async fn store(
        &self,
        key: &[u8],
        tags: &[String],
        epochs: &[Epoch],
        entry: &Entry,
        ttl: Duration,
    ) -> Result<bool, TierError> {
        let tags = with_everything(tags);
        self.store
            .store(key, &tags, epochs, &entry.encode(), ttl)
            .await
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
    let (store, instance) = (Arc::clone(&shared.store), shared.instance.clone());
    runtime.spawn(async move {
        tokio::select! {
            _ = subscribe(cache, store, instance) => {}
            _ = closing.changed() => {}
        }
    });
}

/// `tags` and `*`, the tag of everything.
fn with_everything(tags: &[String]) -> smallvec::SmallVec<[&str; 4]> {
    tags.iter().map(String::as_str).chain(["*"]).collect()
}

/// Subscribe to the invalidations and this instance's confirmations, apply
/// messages, resubscribe after failures; `None` once the cache is gone. Holds
/// the cache only briefly, never while waiting for messages.
async fn subscribe(cache: Weak<Inner>, store: Arc<dyn CacheStore>, instance: String) -> Option<()> {
    let mut backoff = Duration::from_millis(50);
    let mut failed_publish = cache.upgrade()?.shared.as_ref()?.failed_publish.subscribe();
    loop {
        let connected = tokio::time::timeout(store.timeout() * 4, store.subscribe(&instance)).await;
        let inner = cache.upgrade()?;
        let shared = inner.shared.as_ref()?;
        // Failures from here on are flushed now, or end the subscription.
        failed_publish.mark_unchanged();
        let flushed = matches!(connected, Ok(Ok(_))) && shared.flush_pending().await;
        let mut messages = match connected {
            Ok(Ok(messages)) if flushed => messages,
            _ => {
                shared.settled.store(true, Ordering::Release);
                // An unpublished invalidation is retried soon: until it is
                // out, other instances may still serve what it replaced.
                let urgent = !shared.pending_is_empty();
                drop(inner);
                tokio::time::sleep(if urgent {
                    backoff.min(URGENT_RETRY)
                } else {
                    backoff
                })
                .await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        shared.set_subscribed(&inner, true);
        shared.settled.store(true, Ordering::Release);
        drop(inner);
        backoff = Duration::from_millis(50);
        tracing::debug!(%instance, "cache: listening for invalidations");
        loop {
            let message = tokio::select! {
                message = messages.next() => message,
                _ = failed_publish.changed() => None,
            };
            let Some(message) = message else { break };
            let inner = cache.upgrade()?;
            match message {
                Message::Direct(seq) => {
                    let seq = std::str::from_utf8(&seq).ok().and_then(|s| s.parse().ok());
                    if let (Some(seq), Some(shared)) = (seq, &inner.shared) {
                        shared.confirmed(seq);
                    }
                }
                Message::Broadcast(payload) => apply(&inner, &payload),
            }
        }
        tracing::warn!(
            "cache: lost the invalidation channel (or could not publish on it); bypassing until it is back"
        );
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
    crate::metrics::invalidated(count, true);
    let (store, origin, seq) = (Arc::clone(&shared.store), origin.to_owned(), seq.to_owned());
    tokio::spawn(async move {
        if let Err(error) = store.send_to(&origin, seq.as_bytes()).await {
            tracing::debug!(%error, "cache: could not confirm an invalidation");
        }
    });
}

/// How long epochs outlive their last change for a longest TTL of `ttl`.
fn keep_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.saturating_add(Duration::from_secs(60)).as_millis()).unwrap_or(u64::MAX)
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
