//! The shared tier behind the public [`CacheStore`] trait: an application's own
//! store (here one in this process, standing in for any other service) gets the
//! same cross-instance behaviour as Redis — shared entries, invalidations that
//! reach every instance before the write answers, and standing aside while the
//! store cannot carry messages.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Backend, Svc, eventually, get, routes, send, service_with};
use edge_cache::{Cache, CacheStore, Epoch, Found, Message, Messages, StoreFuture, TierError};
use tokio::sync::broadcast;

/// A value and the epochs of its tags when it was stored.
type Stored = (Vec<u8>, Vec<Epoch>);

/// Entries, epochs and a message bus kept in this process, shared by clones.
#[derive(Debug, Clone)]
struct LocalStore {
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    entries: Mutex<HashMap<Vec<u8>, Stored>>,
    epochs: Mutex<HashMap<String, u64>>,
    /// (recipient, payload): `None` is a broadcast.
    bus: broadcast::Sender<(Option<String>, Vec<u8>)>,
    down: AtomicBool,
}

impl LocalStore {
    fn new() -> LocalStore {
        LocalStore {
            state: Arc::new(State {
                entries: Mutex::default(),
                epochs: Mutex::default(),
                bus: broadcast::channel(1024).0,
                down: AtomicBool::new(false),
            }),
        }
    }

    fn epochs_of(&self, tags: &[&str]) -> Vec<Epoch> {
        let epochs = self.state.epochs.lock().unwrap();
        tags.iter()
            .map(|tag| {
                epochs
                    .get(*tag)
                    .copied()
                    .unwrap_or(0)
                    .to_string()
                    .into_bytes()
            })
            .collect()
    }

    fn check(&self) -> Result<(), TierError> {
        if self.state.down.load(Ordering::SeqCst) {
            return Err(TierError("the store is down".into()));
        }
        Ok(())
    }

    /// Take the store away: operations fail, subscriptions end.
    fn go_down(&self) {
        self.state.down.store(true, Ordering::SeqCst);
        let _ = self.state.bus.send((Some("\0closing".into()), Vec::new()));
    }

    fn come_back(&self) {
        self.state.down.store(false, Ordering::SeqCst);
    }
}

impl CacheStore for LocalStore {
    fn timeout(&self) -> Duration {
        Duration::from_millis(200)
    }

    fn lookup<'a>(&'a self, key: &'a [u8], tags: &'a [&'a str]) -> StoreFuture<'a, Found> {
        Box::pin(async move {
            self.check()?;
            let epochs = self.epochs_of(tags);
            let value = self
                .state
                .entries
                .lock()
                .unwrap()
                .get(key)
                .filter(|(_, stored)| *stored == epochs)
                .map(|(value, _)| value.clone());
            Ok(Found { value, epochs })
        })
    }

    fn store<'a>(
        &'a self,
        key: &'a [u8],
        tags: &'a [&'a str],
        epochs: &'a [Epoch],
        value: &'a [u8],
        _ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.check()?;
            // The epoch check and the insert under one lock: atomic.
            let current = self.state.epochs.lock().unwrap();
            let unchanged = tags.iter().zip(epochs).all(|(tag, epoch)| {
                current
                    .get(*tag)
                    .copied()
                    .unwrap_or(0)
                    .to_string()
                    .as_bytes()
                    == epoch
            });
            if unchanged {
                let entry = (value.to_vec(), epochs.to_vec());
                self.state
                    .entries
                    .lock()
                    .unwrap()
                    .insert(key.to_vec(), entry);
            }
            Ok(unchanged)
        })
    }

    fn invalidate<'a>(
        &'a self,
        tags: &'a [&'a str],
        _keep: Duration,
        message: &'a [u8],
    ) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            self.check()?;
            let mut epochs = self.state.epochs.lock().unwrap();
            for tag in tags {
                *epochs.entry((*tag).to_owned()).or_default() += 1;
            }
            Ok(self.state.bus.send((None, message.to_vec())).unwrap_or(0))
        })
    }

    fn send_to<'a>(&'a self, instance: &'a str, message: &'a [u8]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            let _ = self
                .state
                .bus
                .send((Some(instance.to_owned()), message.to_vec()));
            Ok(())
        })
    }

    fn subscribe<'a>(&'a self, instance: &'a str) -> StoreFuture<'a, Messages> {
        Box::pin(async move {
            self.check()?;
            let receiver = self.state.bus.subscribe();
            let me = instance.to_owned();
            let messages = futures_util::stream::unfold(receiver, move |mut receiver| {
                let me = me.clone();
                async move {
                    loop {
                        let (to, payload) = receiver.recv().await.ok()?;
                        match to {
                            None => return Some((Message::Broadcast(payload), receiver)),
                            Some(to) if to == me => {
                                return Some((Message::Direct(payload), receiver));
                            }
                            Some(to) if to == "\0closing" => return None,
                            Some(_) => {}
                        }
                    }
                }
            });
            Ok(Box::pin(messages) as Messages)
        })
    }
}

struct Instances {
    caches: Vec<Cache>,
    services: Vec<Svc>,
    backend: Arc<Backend>,
}

async fn instances(store: &LocalStore, count: usize) -> Instances {
    let backend = Arc::new(Backend::default());
    let caches: Vec<Cache> = (0..count)
        .map(|_| routes().shared(store.clone()).build().unwrap())
        .collect();
    let services: Vec<Svc> = caches
        .iter()
        .map(|c| service_with(c.clone(), Arc::clone(&backend)))
        .collect();
    for service in &services {
        eventually("the instance subscribes", async || {
            get(service, "/warm-up").await.x_cache() != "BYPASS"
        })
        .await;
    }
    Instances {
        caches,
        services,
        backend,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_entries_through_an_applications_own_store() {
    let store = LocalStore::new();
    let i = instances(&store, 2).await;
    let calls = i.backend.calls();
    let (a, b) = (&i.services[0], &i.services[1]);
    let first = get(a, "/items/1").await;
    assert_eq!(first.x_cache(), "MISS");
    let shared = get(b, "/items/1").await;
    assert_eq!(shared.x_cache(), "HIT", "B found A's entry in the store");
    assert_eq!(shared.body, first.body);
    assert_eq!(shared.header("etag"), first.header("etag"));
    assert_eq!(i.backend.calls() - calls, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_instance_is_confirmed_by_the_others_before_it_answers() {
    let store = LocalStore::new();
    let i = instances(&store, 2).await;
    let (a, b) = (&i.services[0], &i.services[1]);
    get(b, "/items/1").await;
    assert_eq!(get(b, "/items/1").await.x_cache(), "HIT");
    let before = i.caches[1].stats().invalidations;
    send(a, "PUT", "/items/1", &[]).await;
    assert!(
        i.caches[1].stats().invalidations > before,
        "B applied it before A answered"
    );
    assert_eq!(
        i.caches[0].stats().unconfirmed,
        0,
        "every instance confirmed"
    );
    let after = get(b, "/items/1").await;
    assert_eq!(after.x_cache(), "MISS");
    assert!(after.text().contains("\"version\":1"), "{}", after.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_store_is_down_the_cache_stands_aside_and_comes_back() {
    let store = LocalStore::new();
    let i = instances(&store, 2).await;
    let (a, b) = (&i.services[0], &i.services[1]);
    get(a, "/items/1").await;
    assert_eq!(get(b, "/items/1").await.x_cache(), "HIT");

    store.go_down();
    eventually("the instances notice", async || {
        get(b, "/items/1").await.x_cache() == "BYPASS"
    })
    .await;
    send(a, "PUT", "/items/1", &[]).await;
    assert!(
        i.caches[0].stats().tier_errors > 0,
        "the failed publish is counted"
    );

    store.come_back();
    eventually("caching resumes", async || {
        get(b, "/items/1").await.x_cache() == "MISS"
    })
    .await;
    let hit = get(b, "/items/1").await;
    assert_eq!(hit.x_cache(), "HIT");
    assert!(
        hit.text().contains("\"version\":1"),
        "the write made while down is not lost"
    );
}
