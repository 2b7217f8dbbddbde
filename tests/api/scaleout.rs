//! Scale-out without containers: two reference-api processes on one PostgreSQL
//! and one Redis (or a Redis Cluster) behave as one service — one rate limit
//! across both, and a write on either is seen at once by reads on the other;
//! on a cluster, a master failing over is survived without a restart.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::Api;

const WRITE_LIMIT: [&str; 2] = ["--rate-limit-write", "10/1m"];

#[tokio::test]
async fn two_instances_share_one_rate_limit_and_one_invalidation_stream() {
    let (a, b, _redis) = Api::pair_on_redis(&WRITE_LIMIT).await;
    behave_as_one_service(&a, &b).await;
}

#[tokio::test]
async fn two_instances_on_a_redis_cluster_share_one_rate_limit_and_one_invalidation_stream() {
    let (a, b, _cluster) = Api::pair_on_redis_cluster(&WRITE_LIMIT).await;
    behave_as_one_service(&a, &b).await;
}

/// One write limit of 10 a minute for a user across both instances, and each
/// write seen at once by a read on the other instance.
async fn behave_as_one_service(a: &Api, b: &Api) {
    let (on_a, on_b) = (a.client(), b.client());
    // A token issued by A is valid on B (one secret, one user table).
    let alice = on_a.user("alice").await;
    let created = on_b.create(&alice, "v1").await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/resources/{id}");

    // Writes alternate between the instances: a PUT on one, then at once a GET on
    // the other (cached there before the write) sees the new version.
    let mut allowed = 1; // the create
    let mut refused = 0;
    for round in 0..14 {
        let (writer, reader) = if round % 2 == 0 {
            (&on_a, &on_b)
        } else {
            (&on_b, &on_a)
        };
        let cached = reader
            .request(Method::GET, &path, Some(&alice.token))
            .send()
            .await
            .unwrap();
        assert_eq!(cached.status(), 200);
        let name = format!("round {round}");
        let put = writer
            .request(Method::PUT, &path, Some(&alice.token))
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        match put.status().as_u16() {
            200 => allowed += 1,
            429 => {
                refused += 1;
                continue;
            }
            other => panic!("PUT answered {other}"),
        }
        let seen: Value = reader
            .request(Method::GET, &path, Some(&alice.token))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            seen["name"],
            name.as_str(),
            "round {round}: the other instance served a stale version"
        );
    }
    // One write limit of 10 a minute for alice across both instances.
    assert_eq!(
        allowed, 10,
        "{allowed} writes allowed across two instances with one limit of 10"
    );
    assert_eq!(refused, 5);
    for api in [a, b] {
        let health: Value = reqwest::get(api.url("/healthz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            health,
            json!({"status": "ok", "database": "ok", "redis": "ok"})
        );
    }
}

#[tokio::test]
async fn a_cluster_master_failing_over_is_survived_without_a_restart() {
    let (a, b, mut cluster) = Api::pair_on_redis_cluster(&["--cache-status-header"]).await;
    let (on_a, on_b) = (a.client(), b.client());
    let alice = on_a.user("alice").await;
    let id = on_a.create(&alice, "v1").await["id"].as_i64().unwrap();
    let path = format!("/api/resources/{id}");
    let get = async |client: &crate::support::Client| {
        let response = client
            .request(Method::GET, &path, Some(&alice.token))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let cache = response
            .headers()
            .get("x-cache")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, cache, body)
    };
    assert_eq!(get(&on_b).await.0, 200);

    // Kill the master that carries the cache's invalidation channel, as a
    // crash would (a graceful stop may hand its slots over at once).
    let victim = cluster.master_of("{edge:cache:bus}:invalidate").unwrap();
    cluster.node(victim).unwrap().kill().unwrap();
    let stopped = Instant::now();

    // Requests go on (rate limits fall back to in-process ones, the cache
    // stands aside) while the replica takes over; then the cluster is whole
    // again and /healthz says so — the same processes, no restart. (The
    // outage /healthz can see lasts well under a second here: it is checked
    // below on a cluster that stays broken.)
    let redis_health = async || {
        let health: Value = reqwest::get(b.url("/healthz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        health["redis"].as_str().unwrap_or_default().to_owned()
    };
    loop {
        assert_eq!(get(&on_a).await.0, 200, "a read failed during the failover");
        if cluster
            .master_of("{edge:cache:bus}:invalidate")
            .is_ok_and(|m| m != victim)
            && redis_health().await == "ok"
        {
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "Redis not healthy again {:?} after a master stopped",
            stopped.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Invalidation works again: a write on A is seen at once on B, which
    // caches the resource again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&on_b).await.1 != "HIT" {
        assert!(Instant::now() < deadline, "B does not cache again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let put = on_a
        .request(Method::PUT, &path, Some(&alice.token))
        .json(&json!({"name": "after the failover"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let (status, _, seen) = get(&on_b).await;
    assert_eq!(status, 200);
    assert_eq!(
        seen["name"], "after the failover",
        "B served a stale version"
    );

    // Kill the promoted master too: it has no replica left, its slots stay
    // uncovered, and /healthz reports Redis unavailable (reads still answer).
    let promoted = cluster.master_of("{edge:cache:bus}:invalidate").unwrap();
    cluster.node(promoted).unwrap().kill().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while redis_health().await != "unavailable" {
        assert!(
            Instant::now() < deadline,
            "/healthz did not see the broken cluster"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let degraded = reqwest::get(b.url("/healthz")).await.unwrap();
    assert_eq!(degraded.status(), 503);
    assert_eq!(
        get(&on_b).await.0,
        200,
        "a read failed with the cluster down"
    );
}
