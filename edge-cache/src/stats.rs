//! [`CacheStats`]: counters of what the cache did.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a [`Cache`](crate::Cache) has done since it was built, and what it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Requests answered from the cache.
    pub hits: u64,
    /// Lookups that found nothing usable.
    pub misses: u64,
    /// Requests the cache did not handle (writes, opted-out routes, credentials,
    /// `no-store`, tier unavailable).
    pub bypasses: u64,
    /// Misses that waited for another request's backend call instead of making one.
    pub coalesced: u64,
    /// Responses stored.
    pub stores: u64,
    /// Tags invalidated (by writes here, by other instances, by hand).
    pub invalidations: u64,
    /// Redis tier failures (each fell back to the backend).
    pub tier_errors: u64,
    /// Invalidations that some instance did not confirm within the Redis timeout
    /// (until it applied them, its in-process tier could answer with old data).
    pub unconfirmed: u64,
    /// Entries in the in-process tier now.
    pub entries: usize,
    /// Bytes in the in-process tier now.
    pub bytes: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) bypasses: AtomicU64,
    pub(crate) coalesced: AtomicU64,
    pub(crate) stores: AtomicU64,
    pub(crate) invalidations: AtomicU64,
    pub(crate) tier_errors: AtomicU64,
    pub(crate) unconfirmed: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, entries: usize, bytes: usize) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: get(&self.hits),
            misses: get(&self.misses),
            bypasses: get(&self.bypasses),
            coalesced: get(&self.coalesced),
            stores: get(&self.stores),
            invalidations: get(&self.invalidations),
            tier_errors: get(&self.tier_errors),
            unconfirmed: get(&self.unconfirmed),
            entries,
            bytes,
        }
    }
}
