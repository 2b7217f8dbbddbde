//! The Redis tier on a real Redis Cluster (3 masters, 3 replicas): entries
//! spread over the shards, invalidations exact across instances, and a master
//! failing over.

mod common;

use std::time::{Duration, Instant};

use common::shared::{
    instances, read_before_a_write_stays_out, warm, write_invalidates_every_instance,
};
use common::{eventually_within, get, send};
use edge_test_support::harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_instance_invalidates_the_others() {
    let c = instances(&harness::shared_redis_cluster().url(), 3);
    write_invalidates_every_instance(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_read_before_a_write_never_reaches_other_instances() {
    // On a cluster the late store is written, and never served.
    let c = instances(&harness::shared_redis_cluster().url(), 3);
    read_before_a_write_stays_out(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_spread_over_the_masters() {
    let cluster = harness::shared_redis_cluster();
    let c = instances(&cluster.url(), 1);
    warm(&c).await;
    for i in 0..100 {
        get(&c.services[0], &format!("/items/{i}")).await;
    }
    let counts = cluster.keys_per_master(&format!("{}*", c.prefix)).unwrap();
    let holding = counts.iter().filter(|(_, keys)| *keys > 0).count();
    assert!(
        holding >= 2,
        "100 entries sit on {holding} master(s): {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_master_is_replaced_and_invalidation_works_again_without_a_restart() {
    let mut cluster = harness::redis_cluster();
    let c = instances(&cluster.url(), 2);
    warm(&c).await;
    let (a, b) = (&c.services[0], &c.services[1]);
    get(a, "/items/1").await;
    assert_eq!(get(b, "/items/1").await.x_cache(), "HIT");

    // Stop the master that carries the invalidation channel: every
    // subscription drops with it.
    let bus = format!("{{{}:bus}}:invalidate", c.prefix);
    let victim = cluster.master_of(&bus).unwrap();
    cluster.node(victim).unwrap().kill().unwrap();
    let stopped = Instant::now();

    // A write during the failover: its invalidation cannot be published yet.
    send(a, "PUT", "/items/1", &[]).await;
    // B keeps answering (from the backend while it stands aside) and, once the
    // replica has taken over, caches again — the write's version: the
    // invalidation was published as soon as the cluster answered.
    eventually_within("caching resumes", Duration::from_secs(20), async || {
        let answer = get(b, "/items/1").await;
        assert_eq!(answer.status, 200);
        answer.x_cache() == "HIT" && answer.text().contains("\"version\":1")
    })
    .await;
    eprintln!(
        "caching resumed {:?} after the master stopped",
        stopped.elapsed()
    );
    cluster.wait_until_healthy(Duration::from_secs(20)).unwrap();
    assert_ne!(cluster.master_of(&bus).unwrap(), victim);
    eventually_within("A caches again", Duration::from_secs(5), async || {
        get(a, "/items/1").await.x_cache() == "HIT"
    })
    .await;
    assert!(get(a, "/items/1").await.text().contains("\"version\":1"));

    // And a write through A reaches B's in-process copy again.
    send(a, "PUT", "/items/1", &[]).await;
    assert_eq!(
        c.caches[0].stats().unconfirmed,
        0,
        "B confirmed the invalidation"
    );
    let after = get(b, "/items/1").await;
    assert!(after.text().contains("\"version\":2"), "{}", after.text());
}
