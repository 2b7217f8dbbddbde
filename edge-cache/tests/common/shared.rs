//! Several cache instances sharing a Redis (or a Redis Cluster).

use std::sync::Arc;

use edge_cache::{Cache, RedisTier, Route};
use edge_test_support::harness;

use std::time::Duration;

use super::{Backend, Svc, eventually, get, routes, send, service_with};

/// One instance: the common routes and `/race`, on Redis under `prefix`.
pub fn instance(url: &str, prefix: &str) -> Cache {
    routes()
        .route(Route::new("/race"))
        .redis(RedisTier::new(url).unwrap().prefix(prefix))
        .build()
        .unwrap()
}

/// Cache instances sharing one store prefix and one backend.
pub struct Instances {
    pub prefix: String,
    pub caches: Vec<Cache>,
    pub services: Vec<Svc>,
    pub backend: Arc<Backend>,
}

/// Wait until every instance uses the tiers (each has heard from Redis; on a
/// loaded machine the first subscription can take longer than a lookup waits,
/// and such a lookup is a BYPASS). Returns the backend calls the warm-up made.
pub async fn warm(c: &Instances) -> usize {
    for service in &c.services {
        eventually("the instance subscribes to invalidations", async || {
            get(service, "/warm-up").await.x_cache() != "BYPASS"
        })
        .await;
    }
    c.backend.calls()
}

/// `instances` caches on the Redis (or Redis Cluster) at `url`.
pub fn instances(url: &str, instances: usize) -> Instances {
    let prefix = harness::unique_name("cache");
    let backend = Arc::new(Backend::default());
    let caches: Vec<Cache> = (0..instances).map(|_| instance(url, &prefix)).collect();
    let services = caches
        .iter()
        .map(|c| service_with(c.clone(), Arc::clone(&backend)))
        .collect();
    Instances {
        prefix,
        caches,
        services,
        backend,
    }
}

/// A write through one of three instances: the others drop their in-process
/// copies before it answers, and the shared tier serves the new version.
pub async fn write_invalidates_every_instance(c: &Instances) {
    warm(c).await;
    let (a, b, fresh) = (&c.services[0], &c.services[1], &c.services[2]);
    for svc in [a, b] {
        get(svc, "/items/1").await;
        get(svc, "/items?limit=5").await;
        assert_eq!(get(svc, "/items/1").await.x_cache(), "HIT");
    }
    let before = c.caches[1].stats().invalidations;
    send(a, "PUT", "/items/1", &[]).await;
    // The write's answer waited until B confirmed it dropped its in-memory copies.
    assert_eq!(c.caches[1].stats().invalidations, before + 2);
    assert_eq!(c.caches[0].stats().unconfirmed, 0);
    // Redis knows at once: an instance without the entry in memory sees the new version.
    let now = get(fresh, "/items/1").await;
    assert_eq!(now.x_cache(), "MISS");
    assert!(now.text().contains("\"version\":1"), "{}", now.text());
    // The writer never serves the old entry.
    assert!(get(a, "/items/1").await.text().contains("\"version\":1"));
    assert!(get(b, "/items/1").await.text().contains("\"version\":1"));
    assert_eq!(get(b, "/items?limit=5").await.x_cache(), "MISS");
}

/// A response read before a write (whose store lands after the write's
/// invalidation) is never served by another instance.
pub async fn read_before_a_write_stays_out(c: &Instances) {
    warm(c).await;
    let (a, b, fresh) = (
        c.services[0].clone(),
        c.services[1].clone(),
        c.services[2].clone(),
    );
    let reader = tokio::spawn(async move { get(&a, "/race").await });
    tokio::time::sleep(Duration::from_millis(40)).await;
    send(&b, "PUT", "/race", &[]).await;
    assert_eq!(reader.await.unwrap().text(), "{\"version\":0}");
    let after = get(&fresh, "/race").await;
    assert_eq!(after.x_cache(), "MISS", "the stale answer was served");
    assert_eq!(after.text(), "{\"version\":1}");
    assert_eq!(get(&fresh, "/race").await.x_cache(), "HIT");
}
