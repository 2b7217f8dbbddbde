//! Invalidation by epochs: every tag hashes to a counter; an entry remembers the
//! counters of its tags when its backend call began and is valid only while they
//! are unchanged. Invalidating a tag is one increment, needs no index of the
//! entries that carry it, and wins every race with a concurrent store: a response
//! read from the backend before a write committed carries the older epoch.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use foldhash::fast::FixedState;
use smallvec::SmallVec;

/// Counter slots: tags sharing a slot only invalidate a little more than needed.
const SLOTS: usize = 1 << 14;

/// The epochs of an entry's tags when its backend call began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamps {
    generation: u64,
    slots: SmallVec<[(u32, u64); 3]>,
}

#[derive(Debug)]
pub(crate) struct Epochs {
    slots: Box<[AtomicU64]>,
    generation: AtomicU64,
    hasher: FixedState,
}

impl Epochs {
    pub(crate) fn new() -> Self {
        Epochs {
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            generation: AtomicU64::new(0),
            hasher: FixedState::with_seed(0x6564_6765_6361_6368),
        }
    }

    fn slot(&self, tag: &str) -> u32 {
        // SLOTS is a power of two below 2^32.
        (self.hasher.hash_one(tag) as u32) & (SLOTS as u32 - 1)
    }

    pub(crate) fn snapshot<'a>(&self, tags: impl Iterator<Item = &'a str>) -> Stamps {
        let generation = self.generation.load(Ordering::SeqCst);
        let slots = tags
            .map(|tag| {
                let slot = self.slot(tag);
                (slot, self.slots[slot as usize].load(Ordering::SeqCst))
            })
            .collect();
        Stamps { generation, slots }
    }

    pub(crate) fn is_current(&self, stamps: &Stamps) -> bool {
        stamps.generation == self.generation.load(Ordering::SeqCst)
            && stamps
                .slots
                .iter()
                .all(|(slot, epoch)| self.slots[*slot as usize].load(Ordering::SeqCst) == *epoch)
    }

    pub(crate) fn bump(&self, tag: &str) {
        self.slots[self.slot(tag) as usize].fetch_add(1, Ordering::SeqCst);
    }

    /// Invalidate everything.
    pub(crate) fn bump_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bump_of_any_tag_or_of_all_ends_a_snapshot() {
        let epochs = Epochs::new();
        let stamps = epochs.snapshot(["/a", "list"].into_iter());
        assert!(epochs.is_current(&stamps));
        epochs.bump("/b");
        let other_slot =
            epochs.slot("/b") != epochs.slot("/a") && epochs.slot("/b") != epochs.slot("list");
        assert_eq!(epochs.is_current(&stamps), other_slot);
        let stamps = epochs.snapshot(["/a", "list"].into_iter());
        epochs.bump("list");
        assert!(!epochs.is_current(&stamps));
        let stamps = epochs.snapshot(["/a"].into_iter());
        epochs.bump_all();
        assert!(!epochs.is_current(&stamps));
    }
}
