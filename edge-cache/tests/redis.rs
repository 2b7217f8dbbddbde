//! The Redis tier against a real server: entries shared between instances,
//! invalidations across them, stores that lose their race with a write, and
//! what happens while Redis is away.

mod common;

use common::shared::{
    instances, read_before_a_write_stays_out, warm, write_invalidates_every_instance,
};
use common::{eventually, get, send};
use edge_test_support::harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_entries_through_redis() {
    let url = harness::redis_url();
    let c = instances(&url, 2);
    let warm_up = warm(&c).await;
    let (a, b) = (&c.services[0], &c.services[1]);
    let first = get(a, "/items/1").await;
    assert_eq!(first.x_cache(), "MISS");
    let from_redis = get(b, "/items/1").await;
    assert_eq!(from_redis.x_cache(), "HIT", "B found A's entry in Redis");
    assert_eq!(from_redis.body, first.body);
    assert_eq!(from_redis.header("etag"), first.header("etag"));
    assert_eq!(get(b, "/items/1").await.x_cache(), "HIT");
    assert_eq!(c.backend.calls() - warm_up, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_instance_invalidates_the_others() {
    let c = instances(&harness::redis_url(), 3);
    write_invalidates_every_instance(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_read_before_a_write_never_reaches_other_instances() {
    let c = instances(&harness::redis_url(), 3);
    read_before_a_write_stays_out(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_cache_stands_aside_and_comes_back() {
    let mut server = harness::private_redis();
    let c = instances(&server.url(), 2);
    warm(&c).await;
    let (a, b) = (&c.services[0], &c.services[1]);
    get(a, "/items/1").await;
    assert_eq!(get(b, "/items/1").await.x_cache(), "HIT");

    server.stop();
    // No stale entries, no errors: the backend answers every request.
    eventually("the instances notice", async || {
        get(b, "/items/1").await.x_cache() == "BYPASS"
    })
    .await;
    let calls = c.backend.calls();
    send(a, "PUT", "/items/1", &[]).await;
    let answered = get(a, "/items/1").await;
    assert_eq!(answered.x_cache(), "BYPASS");
    assert!(answered.text().contains("\"version\":1"));
    assert_eq!(c.backend.calls(), calls + 2);
    assert!(c.caches[0].stats().tier_errors > 0);

    server.restart().unwrap();
    eventually("caching resumes", async || {
        get(b, "/items/1").await.x_cache() == "MISS"
    })
    .await;
    let hit = get(b, "/items/1").await;
    assert_eq!(hit.x_cache(), "HIT");
    assert!(hit.text().contains("\"version\":1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_entries_and_invalidations_through_a_tls_redis() {
    let server = harness::tls_redis();
    // Self-signed by the harness: `#insecure` skips checking the certificate.
    let c = instances(&format!("{}/#insecure", server.url()), 2);
    let warm_up = warm(&c).await;
    let (a, b) = (&c.services[0], &c.services[1]);
    assert_eq!(get(a, "/items/1").await.x_cache(), "MISS");
    assert_eq!(
        get(b, "/items/1").await.x_cache(),
        "HIT",
        "through rediss://"
    );
    send(a, "PUT", "/items/1", &[]).await;
    assert_eq!(
        c.caches[0].stats().unconfirmed,
        0,
        "B confirmed over TLS pub/sub"
    );
    assert_eq!(get(b, "/items/1").await.x_cache(), "MISS");
    assert_eq!(c.backend.calls() - warm_up, 3);
}
