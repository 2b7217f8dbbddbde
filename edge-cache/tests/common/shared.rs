//! Several cache instances sharing a Redis (or a Redis Cluster).

use std::sync::Arc;

use edge_cache::{Cache, RedisTier, Route};
use edge_test_support::harness;

use super::{Backend, Svc, eventually, get, routes, service_with};

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
