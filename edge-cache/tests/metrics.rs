//! The cache's metrics, read back through a debugging recorder: each request
//! counted once by result, the in-process tier's size, and invalidations made
//! here and heard from another instance (over a real Redis).

mod common;

use std::sync::Arc;

use common::{Backend, eventually, get, routes, send, service, service_with};
use edge_cache::metrics::{BYTES, ENTRIES, INVALIDATIONS_TOTAL, REQUESTS_TOTAL};
use edge_cache::{RedisTier, Route};
use edge_test_support::harness;
use edge_test_support::metrics::Recorded;
use metrics_util::debugging::DebugValue;

fn gauge(value: Option<&DebugValue>) -> f64 {
    match value {
        Some(DebugValue::Gauge(value)) => value.0,
        None => 0.0,
        other => panic!("not a gauge: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_the_tier_and_invalidations_are_counted() {
    let recorded = Recorded::install();
    edge_cache::metrics::describe();
    let cache = routes().build().unwrap();
    let (svc, _) = service(cache.clone());

    assert_eq!(get(&svc, "/items/1").await.x_cache(), "MISS");
    let hit = get(&svc, "/items/1").await;
    assert_eq!(hit.x_cache(), "HIT");
    let etag = hit.header("etag").unwrap().to_owned();
    let revalidated = send(&svc, "GET", "/items/1", &[("if-none-match", &etag)]).await;
    assert_eq!(revalidated.status, 304);
    // Two concurrent misses of one key: one asks the backend, one waits for it.
    let (a, b) = tokio::join!(get(&svc, "/slow"), get(&svc, "/slow"));
    assert_eq!(a.body, b.body);
    let seen = recorded.changes();
    let requests = |result| seen.counter(REQUESTS_TOTAL, &[("result", result)]);
    assert_eq!(requests("miss"), 2);
    assert_eq!(requests("hit"), 1);
    assert_eq!(requests("revalidated"), 1);
    assert_eq!(requests("coalesced"), 1);
    assert_eq!(requests("bypass"), 0);
    // The gauges moved by what the tier holds now.
    let stats = cache.stats();
    assert_eq!(stats.entries, 2);
    assert_eq!(gauge(seen.find(ENTRIES, &[])), 2.0);
    assert_eq!(gauge(seen.find(BYTES, &[])), stats.bytes as f64);

    // A write passes the cache by and invalidates its path and the list.
    assert_eq!(send(&svc, "PUT", "/items/1", &[]).await.status, 200);
    let seen = recorded.changes();
    assert_eq!(seen.counter(REQUESTS_TOTAL, &[("result", "bypass")]), 1);
    assert_eq!(seen.counter(INVALIDATIONS_TOTAL, &[("source", "local")]), 2);
    assert_eq!(
        seen.counter(INVALIDATIONS_TOTAL, &[("source", "remote")]),
        0
    );

    // Two instances on Redis: a write on one is a remote invalidation on the other.
    let url = harness::redis_url();
    let prefix = harness::unique_name("cache-metrics");
    let backend = Arc::new(Backend::default());
    let instances: Vec<_> = (0..2)
        .map(|_| {
            let cache = routes()
                .route(Route::new("/race"))
                .redis(RedisTier::new(&url).unwrap().prefix(&prefix))
                .build()
                .unwrap();
            service_with(cache, Arc::clone(&backend))
        })
        .collect();
    for service in &instances {
        eventually("the instance subscribes to invalidations", async || {
            get(service, "/warm-up").await.x_cache() != "BYPASS"
        })
        .await;
    }
    recorded.changes();
    assert_eq!(
        send(&instances[0], "DELETE", "/items/9", &[]).await.status,
        200
    );
    let mut remote = 0;
    eventually("the other instance hears the invalidation", async || {
        remote += recorded
            .changes()
            .counter(INVALIDATIONS_TOTAL, &[("source", "remote")]);
        remote >= 2
    })
    .await;
    assert_eq!(
        remote, 2,
        "each of the two tags, once, on the other instance"
    );
}
