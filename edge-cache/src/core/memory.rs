//! The in-process tier: LRU shards behind short mutexes, bounded by entry count
//! and by bytes; least recently used entries leave first.

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};

use foldhash::fast::FixedState;
use lru::LruCache;

use super::entry::Entry;
use super::epochs::Stamps;

/// An entry as the memory tier keeps it: the response and its tag epochs.
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) entry: Arc<Entry>,
    pub(crate) stamps: Stamps,
    size: usize,
}

impl Stored {
    pub(crate) fn new(entry: Arc<Entry>, stamps: Stamps, key_len: usize) -> Self {
        let size = entry.size() + key_len;
        Stored {
            entry,
            stamps,
            size,
        }
    }
}

struct Shard {
    lru: LruCache<Box<[u8]>, Arc<Stored>, FixedState>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

impl Shard {
    fn evict_to_fit(&mut self) {
        while self.lru.len() > self.max_entries || self.bytes > self.max_bytes {
            match self.lru.pop_lru() {
                Some((_, gone)) => {
                    self.bytes -= gone.size;
                    crate::metrics::tier_changed(-1.0, -(gone.size as f64));
                }
                None => break,
            }
        }
    }
}

pub(crate) struct MemoryTier {
    shards: Box<[Mutex<Shard>]>,
    hasher: FixedState,
    max_entry_bytes: usize,
}

impl std::fmt::Debug for MemoryTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTier")
            .field("shards", &self.shards.len())
            .field("max_entry_bytes", &self.max_entry_bytes)
            .finish_non_exhaustive()
    }
}

impl MemoryTier {
    /// At most `max_entries` entries and `max_bytes` bytes, split over shards
    /// (fewer shards for small limits so each keeps room).
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        let shards = (max_entries / 64).clamp(1, 16).next_power_of_two().min(16);
        let per_entries = (max_entries / shards).max(1);
        let per_bytes = (max_bytes / shards).max(1);
        MemoryTier {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        lru: LruCache::unbounded_with_hasher(FixedState::with_seed(17)),
                        bytes: 0,
                        max_entries: per_entries,
                        max_bytes: per_bytes,
                    })
                })
                .collect(),
            hasher: FixedState::with_seed(0x5348_4152_4453),
            max_entry_bytes: per_bytes,
        }
    }

    fn shard(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        let index = (self.hasher.hash_one(key) as usize) & (self.shards.len() - 1);
        // A poisoned shard only means another thread panicked mid-update of plain
        // counters; the LRU itself stays consistent.
        self.shards[index]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<Arc<Stored>> {
        self.shard(key).lru.get(key).cloned()
    }

    /// Whether an entry of `size` bytes can be kept at all.
    pub(crate) fn fits(&self, size: usize) -> bool {
        size <= self.max_entry_bytes
    }

    pub(crate) fn insert(&self, key: Box<[u8]>, stored: Stored) {
        if !self.fits(stored.size) {
            return;
        }
        let mut shard = self.shard(&key);
        shard.bytes += stored.size;
        crate::metrics::tier_changed(1.0, stored.size as f64);
        if let Some(old) = shard.lru.put(key, Arc::new(stored)) {
            shard.bytes -= old.size;
            crate::metrics::tier_changed(-1.0, -(old.size as f64));
        }
        shard.evict_to_fit();
    }

    pub(crate) fn remove(&self, key: &[u8]) {
        let mut shard = self.shard(key);
        if let Some(gone) = shard.lru.pop(key) {
            shard.bytes -= gone.size;
            crate::metrics::tier_changed(-1.0, -(gone.size as f64));
        }
    }

    /// `(entries, bytes)` held now.
    pub(crate) fn usage(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(n, b), shard| {
            let shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (n + shard.lru.len(), b + shard.bytes)
        })
    }

    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            let mut shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            crate::metrics::tier_changed(-(shard.lru.len() as f64), -(shard.bytes as f64));
            shard.lru.clear();
            shard.bytes = 0;
        }
    }
}
