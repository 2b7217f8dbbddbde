//! The Redis tier on a real Redis Cluster (3 masters, 3 replicas): entries
//! spread over the shards, invalidations exact across instances, and a master
//! failing over.

mod common;

use std::time::{Duration, Instant};

use common::shared::{instances, warm};
use common::{eventually_within, get, send};
use edge_test_support::harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_spread_over_the_shards_and_a_write_invalidates_every_instance() {
    let cluster = harness::shared_redis_cluster();
    let c = instances(&cluster.url(), 3);
    let warm_up = warm(&c).await;
    let (a, b, fresh) = (&c.services[0], &c.services[1], &c.services[2]);

    for svc in [a, b] {
        get(svc, "/items/1").await;
        get(svc, "/items?limit=5").await;
        assert_eq!(get(svc, "/items/1").await.x_cache(), "HIT");
    }
    // B found A's entries in the cluster: two backend calls, not four.
    assert_eq!(c.backend.calls() - warm_up, 2);

    let before = c.caches[1].stats().invalidations;
    send(a, "PUT", "/items/1", &[]).await;
    // The write's answer waited until B confirmed it dropped its copies.
    assert_eq!(c.caches[1].stats().invalidations, before + 2);
    assert_eq!(c.caches[0].stats().unconfirmed, 0);
    let now = get(fresh, "/items/1").await;
    assert_eq!(now.x_cache(), "MISS");
    assert!(now.text().contains("\"version\":1"), "{}", now.text());
    assert!(get(b, "/items/1").await.text().contains("\"version\":1"));
    assert_eq!(get(b, "/items?limit=5").await.x_cache(), "MISS");

    // Many entries: they sit on more than one master.
    for i in 0..100 {
        get(a, &format!("/items/{i}")).await;
    }
    let counts = cluster.keys_per_master().unwrap();
    let holding = counts.iter().filter(|(_, keys)| *keys > 0).count();
    assert!(
        holding >= 2,
        "100 entries sit on {holding} master(s): {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_read_before_a_write_never_reaches_other_instances() {
    let url = harness::shared_redis_cluster().url();
    let c = instances(&url, 3);
    warm(&c).await;
    let (a, b, fresh) = (
        c.services[0].clone(),
        c.services[1].clone(),
        c.services[2].clone(),
    );
    // The reader's store lands after the write's invalidation: on a cluster
    // it is written, and never served.
    let reader = tokio::spawn(async move { get(&a, "/race").await });
    tokio::time::sleep(Duration::from_millis(40)).await;
    send(&b, "PUT", "/race", &[]).await;
    assert_eq!(reader.await.unwrap().text(), "{\"version\":0}");
    let after = get(&fresh, "/race").await;
    assert_eq!(after.x_cache(), "MISS", "the stale answer was served");
    assert_eq!(after.text(), "{\"version\":1}");
    assert_eq!(get(&fresh, "/race").await.x_cache(), "HIT");
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
    cluster.node(victim).unwrap().stop();
    let stopped = Instant::now();
    eprintln!("{:?} STOPPED", std::time::SystemTime::now());

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
