//! The in-process sliding-window store: sharded LRU maps, bounded in keys, idle
//! keys evicted first.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use lru::LruCache;

use super::{Acquired, Hit, window_outcome};
use crate::core::window::{Observed, Window};

const SHARDS: usize = 64;

/// Sliding-window counters for up to `max_keys` keys (policy × client).
#[derive(Debug)]
pub(crate) struct MemoryStore {
    shards: Vec<Mutex<LruCache<u64, Window>>>,
    hasher: RandomState,
}

impl MemoryStore {
    pub(crate) fn new(max_keys: NonZeroUsize) -> MemoryStore {
        let per_shard =
            NonZeroUsize::new(max_keys.get().div_ceil(SHARDS)).unwrap_or(NonZeroUsize::MIN);
        MemoryStore {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(LruCache::new(per_shard)))
                .collect(),
            hasher: RandomState::default(),
        }
    }

    /// A hit's counters, found by its policy's name (`name_keys`, by policy
    /// index: a reconfiguration keeps a policy's counts) and its key.
    fn locate(&self, hit: &Hit<'_>, name_keys: &[u64]) -> (&Mutex<LruCache<u64, Window>>, u64) {
        let name = name_keys.get(hit.policy).copied().unwrap_or_default();
        let key = self.hasher.hash_one((name, hit.key));
        let shard = usize::try_from(key % SHARDS as u64).unwrap_or(0);
        (&self.shards[shard], key)
    }

    /// Count the request against every hit, or against none if any rejects.
    pub(crate) fn acquire(&self, hits: &[Hit<'_>], name_keys: &[u64], now_ms: u64) -> Acquired {
        let mut outcomes = super::Outcomes::new();
        let mut taken: smallvec::SmallVec<[_; 4]> = smallvec::SmallVec::new();
        for hit in hits {
            let (shard, key) = self.locate(hit, name_keys);
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let window = shard.get_or_insert_mut(key, Window::default);
            let elapsed_ms = window.roll(now_ms, hit.period_ms);
            let allowed = window.admits(elapsed_ms, hit.limit, hit.period_ms);
            if allowed {
                window.curr += 1;
                taken.push((hit, key, window.index));
            }
            let observed = Observed {
                prev: window.prev,
                curr: window.curr,
                elapsed_ms,
            };
            outcomes.push((hit.policy, window_outcome(allowed, observed, hit)));
            if !allowed {
                break;
            }
        }
        if outcomes.len() < hits.len() || outcomes.iter().any(|(_, o)| !o.allowed) {
            // Rejected: take back what the earlier policies counted.
            for (hit, key, index) in taken {
                let (shard, _) = self.locate(hit, name_keys);
                let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(window) = shard.peek_mut(&key).filter(|w| w.index == index) {
                    window.curr = window.curr.saturating_sub(1);
                }
            }
        }
        Acquired { outcomes }
    }

    /// How many keys are held now.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }
}
