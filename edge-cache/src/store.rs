//! [`CacheStore`]: the shared tier behind one trait — entries every instance
//! reads, tag epochs that make a store racing an invalidation lose, and the
//! channel that carries invalidations and their confirmations between instances.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;

use crate::TierError;

/// A [`CacheStore`] operation in progress.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, TierError>> + Send + 'a>>;

/// The messages an instance receives while subscribed; the stream ends when
/// the subscription is lost (the cache then stands aside and subscribes again).
pub type Messages = Pin<Box<dyn Stream<Item = Message> + Send>>;

/// A tag's epoch as the store keeps it: opaque to the cache, compared for equality.
pub type Epoch = Vec<u8>;

/// Where a cache keeps what its instances share (the second tier, behind the
/// in-process one). [`RedisTier`](crate::RedisTier) is one; implement it to
/// share through something else. The cache owns the protocol: it encodes
/// entries, writes the invalidation and confirmation messages, and decides
/// when to stand aside; a store only keeps bytes and carries messages.
///
/// The contract, which the cache's correctness across instances rests on:
/// - a tag's epoch changes with every [`invalidate`](Self::invalidate) of it
///   (and `*`'s with every invalidation of everything) and is the same for
///   every instance;
/// - a value stored after one of its tags' epochs moved past the `epochs` its
///   lookup read is never found: [`store`](Self::store) refuses it atomically
///   with its epoch check, or keeps it with those epochs and
///   [`lookup`](Self::lookup) refuses it (as [`RedisTier`](crate::RedisTier)
///   does on a Redis Cluster);
/// - a broadcast reaches every subscriber, the sender's own subscription
///   included, and [`invalidate`](Self::invalidate) says how many it reached.
///
/// ```
/// use edge_cache::{CacheStore, Epoch, Found, Messages, StoreFuture, TierError};
/// use std::time::Duration;
///
/// /// Shares nothing: every lookup misses and no instance can listen, so a
/// /// cache given this store always stands aside (a stand-in for a real store).
/// #[derive(Debug)]
/// struct Nowhere;
///
/// impl CacheStore for Nowhere {
///     fn timeout(&self) -> Duration {
///         Duration::from_millis(100)
///     }
///     fn lookup<'a>(&'a self, _key: &'a [u8], tags: &'a [&'a str]) -> StoreFuture<'a, Found> {
///         let epochs = vec![Epoch::new(); tags.len()];
///         Box::pin(async move { Ok(Found { value: None, epochs }) })
///     }
///     fn store<'a>(
///         &'a self,
///         _key: &'a [u8],
///         _tags: &'a [&'a str],
///         _epochs: &'a [Epoch],
///         _value: &'a [u8],
///         _ttl: Duration,
///     ) -> StoreFuture<'a, bool> {
///         Box::pin(async { Ok(false) })
///     }
///     fn invalidate<'a>(
///         &'a self,
///         _tags: &'a [&'a str],
///         _keep: Duration,
///         _message: &'a [u8],
///     ) -> StoreFuture<'a, usize> {
///         Box::pin(async { Ok(0) })
///     }
///     fn send_to<'a>(&'a self, _instance: &'a str, _message: &'a [u8]) -> StoreFuture<'a, ()> {
///         Box::pin(async { Ok(()) })
///     }
///     fn subscribe<'a>(&'a self, _instance: &'a str) -> StoreFuture<'a, Messages> {
///         Box::pin(async { Err(TierError("nowhere to listen".into())) })
///     }
/// }
///
/// let cache = edge_cache::Cache::builder().shared(Nowhere).build().unwrap();
/// # let _ = cache;
/// ```
pub trait CacheStore: Send + Sync + std::fmt::Debug + 'static {
    /// How long one operation may take before the cache counts it as failed;
    /// also how long a write waits for the other instances' confirmations.
    fn timeout(&self) -> Duration;

    /// The value under `key` if it was stored under the current epochs of
    /// `tags`, and those epochs (in `tags`' order, for a later
    /// [`store`](Self::store)). The last tag is always `*`.
    fn lookup<'a>(&'a self, key: &'a [u8], tags: &'a [&'a str]) -> StoreFuture<'a, Found>;

    /// Keep `value` under `key` for `ttl`, unless the epoch of one of `tags`
    /// is no longer the one in `epochs` (see the contract above); whether it
    /// was stored.
    fn store<'a>(
        &'a self,
        key: &'a [u8],
        tags: &'a [&'a str],
        epochs: &'a [Epoch],
        value: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;

    /// Move the epochs of `tags` (each kept at least `keep` after this change)
    /// and broadcast `message` to every subscriber, atomically; how many
    /// subscribers it reached.
    fn invalidate<'a>(
        &'a self,
        tags: &'a [&'a str],
        keep: Duration,
        message: &'a [u8],
    ) -> StoreFuture<'a, usize>;

    /// Send `message` to the subscriber named `instance` only.
    fn send_to<'a>(&'a self, instance: &'a str, message: &'a [u8]) -> StoreFuture<'a, ()>;

    /// Listen, as `instance`, to broadcasts and to messages sent to it;
    /// resolves once listening.
    fn subscribe<'a>(&'a self, instance: &'a str) -> StoreFuture<'a, Messages>;
}

/// What [`CacheStore::lookup`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The value, when stored under the tags' current epochs.
    pub value: Option<Vec<u8>>,
    /// The tags' current epochs, in the order asked.
    pub epochs: Vec<Epoch>,
}

/// A message received while subscribed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Broadcast by [`CacheStore::invalidate`].
    Broadcast(Vec<u8>),
    /// Sent to this instance by [`CacheStore::send_to`].
    Direct(Vec<u8>),
}
