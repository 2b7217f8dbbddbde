//! [`Shared`]: pool connections kept aside and used by many callers at once.
//!
//! tokio-postgres pipelines the statements of concurrent callers on one client:
//! they go out together and PostgreSQL answers them in order. For short statements
//! that is far cheaper than one checked-out connection per caller (fewer round
//! trips, system calls and server wake-ups), at the price of head-of-line blocking
//! behind a slow statement — so it suits quick reads, and transactions keep using
//! [`Db::conn`](crate::Db::conn).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use deadpool_postgres::Object;

use crate::query::Handle;

/// A connection shared with other callers (see [`Db::shared`](crate::Db::shared)).
/// Cheap to clone; it stays open while the [`Db`](crate::Db) keeps it.
#[derive(Debug, Clone)]
pub struct Shared {
    inner: Arc<Object>,
}

impl Shared {
    pub(crate) fn new(inner: Arc<Object>) -> Self {
        Shared { inner }
    }

    pub(crate) fn handle(&self) -> Handle<'_> {
        Handle::Client(&self.inner)
    }

    crate::query::query_methods!();
}

/// The connections a [`Db`](crate::Db) keeps for [`Shared`] use, filled on demand
/// and replaced once closed (e.g. after a database restart).
#[derive(Debug)]
pub(crate) struct SharedSlots {
    slots: Box<[Mutex<Option<Arc<Object>>>]>,
    next: AtomicUsize,
}

impl SharedSlots {
    pub(crate) fn new(count: usize) -> Self {
        SharedSlots {
            slots: (0..count).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The next slot in turn and its connection if that one is open; `None` when no
    /// connection is kept for sharing.
    pub(crate) fn pick(&self) -> Option<(usize, Option<Arc<Object>>)> {
        if self.slots.is_empty() {
            return None;
        }
        let slot = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let kept = self.lock(slot).clone().filter(|c| !c.is_closed());
        Some((slot, kept))
    }

    /// Keep `fresh` in `slot` unless another caller already put an open
    /// connection there; returns the connection to use.
    pub(crate) fn install(&self, slot: usize, fresh: Arc<Object>) -> Arc<Object> {
        let mut kept = self.lock(slot);
        match &*kept {
            Some(current) if !current.is_closed() => Arc::clone(current),
            _ => {
                *kept = Some(Arc::clone(&fresh));
                fresh
            }
        }
    }

    /// Let go of every kept connection (they return to the pool once unused).
    pub(crate) fn clear(&self) {
        for slot in 0..self.slots.len() {
            *self.lock(slot) = None;
        }
    }

    fn lock(&self, slot: usize) -> std::sync::MutexGuard<'_, Option<Arc<Object>>> {
        self.slots[slot]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
