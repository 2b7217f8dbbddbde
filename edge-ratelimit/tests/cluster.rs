//! The Redis backend on a real Redis Cluster (3 masters, 3 replicas): one
//! global limit across instances when a request's policies live on different
//! shards, keys spread over the masters, and a master failing over.

use std::time::{Duration, Instant};

use edge_ratelimit::{FailMode, KeyKind, Policy, RateLimiter, RedisStore, RequestInfo, Verdict};
use edge_test_support::harness;
use redis::cluster_routing::Slot;

/// Per client IP and per user, on `url` under `prefix`.
fn limiter(url: &str, prefix: &str, fail_mode: FailMode) -> RateLimiter {
    RateLimiter::builder()
        .policy(Policy::new("ip", "10/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .policy(Policy::new("user", "6/1m".parse().unwrap(), KeyKind::Subject).unwrap())
        .redis(RedisStore::new(url).unwrap().prefix(prefix))
        .fail_mode(fail_mode)
        .build()
        .unwrap()
}

fn info(peer: &str, user: &'static str) -> RequestInfo<'static> {
    RequestInfo {
        method: "GET",
        path: "/",
        peer: Some(peer.parse().unwrap()),
        subject: Some(user),
        ..RequestInfo::default()
    }
}

/// How many of `n` concurrent checks, alternating between `a` and `b`, were allowed.
async fn allowed_of(
    n: usize,
    a: &RateLimiter,
    b: &RateLimiter,
    request: RequestInfo<'static>,
) -> usize {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let limiter = if i % 2 == 0 { a.clone() } else { b.clone() };
            let request = request.clone();
            tokio::spawn(async move {
                match limiter.check(&request).await {
                    Verdict::Allowed(_) => true,
                    Verdict::Limited { .. } => false,
                    other => panic!("the cluster answered {other:?}"),
                }
            })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        allowed += usize::from(task.await.unwrap());
    }
    allowed
}

/// How many of `n` checks one after the other, alternating between `a` and `b`, were allowed.
async fn allowed_of_sequential(
    n: usize,
    a: &RateLimiter,
    b: &RateLimiter,
    request: &RequestInfo<'static>,
) -> usize {
    let mut allowed = 0;
    for i in 0..n {
        let limiter = if i % 2 == 0 { a } else { b };
        match limiter.check(request).await {
            Verdict::Allowed(_) => allowed += 1,
            Verdict::Limited { .. } => {}
            other => panic!("the cluster answered {other:?}"),
        }
    }
    allowed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_limit_is_exact_across_two_limiters_when_policies_live_on_different_shards() {
    let url = harness::shared_redis_cluster().url();
    let prefix = harness::unique_name("rl");
    // The IP's and the user's counters are in different slots: each check is
    // two script calls, and a refusal by one is taken back by the other.
    assert_ne!(
        Slot::for_key(format!("{prefix}:{{ip:192.0.2.1}}:ip")),
        Slot::for_key(format!("{prefix}:{{sub:alice}}:user"))
    );
    let a = limiter(&url, &prefix, FailMode::Closed);
    let b = limiter(&url, &prefix, FailMode::Closed);

    // Concurrent checks never admit more than a limit (a refusal's count is
    // taken back a moment later, so a burst may admit fewer); once they are
    // done the counts are exact: sequential checks admit exactly the rest.
    let exactly = async |quota: usize, request: RequestInfo<'static>| {
        let burst = allowed_of(40, &a, &b, request.clone()).await;
        assert!(burst <= quota, "{burst} admitted by a limit of {quota}");
        let rest = allowed_of_sequential(20, &a, &b, &request).await;
        assert_eq!(burst + rest, quota, "{burst} in the burst, {rest} after");
    };
    // alice's 6 per minute across both instances.
    exactly(6, info("192.0.2.1", "alice")).await;
    // The IP counted only what it admitted: 4 of its 10 are left for bob.
    exactly(4, info("192.0.2.1", "bob")).await;
    // And none for carol; elsewhere carol has her own 6.
    exactly(0, info("192.0.2.1", "carol")).await;
    exactly(6, info("198.51.100.1", "carol")).await;

    // A refused request reports the policy that refused it.
    let Verdict::Limited { state, .. } = a.check(&info("192.0.2.1", "dave")).await else {
        panic!("the IP's quota is spent");
    };
    assert_eq!(&*state.policy, "ip");
    let Verdict::Limited { state, .. } = b.check(&info("198.51.100.1", "carol")).await else {
        panic!("carol's quota is spent");
    };
    assert_eq!(&*state.policy, "user");
}

#[tokio::test]
async fn the_keys_of_many_clients_spread_over_the_masters() {
    let cluster = harness::shared_redis_cluster();
    let prefix = harness::unique_name("spread");
    let limiter = limiter(&cluster.url(), &prefix, FailMode::Closed);
    for i in 0..200u32 {
        let peer = format!("203.0.113.{}", i % 250);
        let request = RequestInfo {
            method: "GET",
            path: "/",
            peer: Some(peer.parse().unwrap()),
            ..RequestInfo::default()
        };
        assert!(matches!(limiter.check(&request).await, Verdict::Allowed(_)));
    }
    let counts = cluster.keys_per_master(&format!("{prefix}*")).unwrap();
    let holding = counts.iter().filter(|(_, keys)| *keys > 0).count();
    assert!(
        holding >= 2,
        "the keys of 200 clients sit on {holding} master(s): {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_master_is_replaced_without_restarting_and_fail_modes_hold_meanwhile() {
    let mut cluster = harness::redis_cluster();
    let url = cluster.url();
    let closed = limiter(&url, "closed", FailMode::Closed);
    let open = limiter(&url, "open", FailMode::Open);
    let alice = info("192.0.2.1", "alice");
    assert!(matches!(closed.check(&alice).await, Verdict::Allowed(_)));
    assert!(matches!(open.check(&alice).await, Verdict::Allowed(_)));

    // Stop the master of alice's user counter.
    let victim = cluster.master_of("closed:{sub:alice}:user").unwrap();
    cluster.node(victim).unwrap().kill().unwrap();
    let stopped = Instant::now();

    // Until a replica takes over: fail closed refuses with 503, fail open lets
    // through, and no check hangs. Then the same limiters count again.
    let (mut saw_unavailable, mut saw_unlimited) = (false, false);
    loop {
        let asked = Instant::now();
        let (verdict, open_verdict) = tokio::join!(closed.check(&alice), open.check(&alice));
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "a check took {:?} during the failover",
            asked.elapsed()
        );
        match open_verdict {
            Verdict::Unlimited => saw_unlimited = true,
            Verdict::Allowed(_) => {}
            other => panic!("fail open answered {other:?}"),
        }
        match verdict {
            Verdict::Unavailable => saw_unavailable = true,
            Verdict::Allowed(_) if saw_unavailable => break,
            Verdict::Allowed(_) => {}
            other => panic!("fail closed answered {other:?}"),
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(15),
            "no recovery {:?} after the master stopped (node timeout 1 s)",
            stopped.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        saw_unlimited,
        "fail open never let a request through unlimited"
    );
    let recovered = stopped.elapsed();
    assert!(matches!(open.check(&alice).await, Verdict::Allowed(_)));
    assert_ne!(
        cluster.master_of("closed:{sub:alice}:user").unwrap(),
        victim
    );
    eprintln!("recovered {recovered:?} after the master stopped");
}
