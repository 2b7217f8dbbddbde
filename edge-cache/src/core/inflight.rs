//! Request coalescing: the first miss for a key leads (calls the backend), later
//! misses for the same key follow (wait for the leader's entry). A leader that
//! stops without an entry releases its followers, who then call the backend
//! themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::entry::Entry;

/// `None` while the leader works; then `Some(entry)` or `Some(None)` (nothing stored).
type Outcome = Option<Option<Arc<Entry>>>;

#[derive(Debug, Default)]
pub(crate) struct InFlight {
    map: Mutex<HashMap<Box<[u8]>, watch::Receiver<Outcome>>>,
}

pub(crate) enum Join {
    Leader(Leading),
    Follower(watch::Receiver<Outcome>),
}

impl InFlight {
    pub(crate) fn join(self: &Arc<Self>, key: &[u8]) -> Join {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(receiver) = map.get(key) {
            return Join::Follower(receiver.clone());
        }
        let (sender, receiver) = watch::channel(None);
        map.insert(key.into(), receiver);
        Join::Leader(Leading {
            key: key.into(),
            sender,
            flights: Arc::clone(self),
        })
    }
}

/// Wait for the leader: its entry, or `None` when it stored nothing or vanished.
pub(crate) async fn follow(mut receiver: watch::Receiver<Outcome>) -> Option<Arc<Entry>> {
    match receiver.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().flatten(),
        Err(_) => None,
    }
}

/// The leader's duty: tell the followers how it went, exactly once (on drop at the latest).
#[derive(Debug)]
pub(crate) struct Leading {
    key: Box<[u8]>,
    sender: watch::Sender<Outcome>,
    flights: Arc<InFlight>,
}

impl Leading {
    pub(crate) fn finish(self, entry: Option<Arc<Entry>>) {
        self.release(entry);
    }

    fn release(&self, entry: Option<Arc<Entry>>) {
        if self.sender.borrow().is_some() {
            return;
        }
        self.flights
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.key);
        self.sender.send_replace(Some(entry));
    }
}

impl Drop for Leading {
    fn drop(&mut self) {
        self.release(None);
    }
}
