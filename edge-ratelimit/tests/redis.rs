//! The Redis backend against a real server: shared limits, fail modes, recovery.

use std::time::{Duration, Instant};

use edge_ratelimit::{FailMode, KeyKind, Policy, RateLimiter, RedisStore, RequestInfo, Verdict};
use edge_test_support::harness;

fn limiter(url: &str, prefix: &str, quota: &str, fail_mode: FailMode) -> RateLimiter {
    RateLimiter::builder()
        .policy(Policy::new("ip", quota.parse().unwrap(), KeyKind::ClientIp).unwrap())
        .redis(RedisStore::new(url).unwrap().prefix(prefix))
        .fail_mode(fail_mode)
        .build()
        .unwrap()
}

fn info(peer: &str) -> RequestInfo<'static> {
    RequestInfo {
        method: "GET",
        path: "/",
        peer: Some(peer.parse().unwrap()),
        ..RequestInfo::default()
    }
}

#[tokio::test]
async fn two_instances_on_one_redis_share_the_limit() {
    let url = harness::redis_url();
    let prefix = harness::unique_name("rl");
    let a = limiter(&url, &prefix, "7/1m", FailMode::Closed);
    let b = limiter(&url, &prefix, "7/1m", FailMode::Closed);
    let mut allowed = 0;
    for i in 0..20 {
        let instance = if i % 2 == 0 { &a } else { &b };
        match instance.check(&info("192.0.2.1")).await {
            Verdict::Allowed(_) => allowed += 1,
            Verdict::Limited {
                retry_after_secs, ..
            } => assert!(retry_after_secs >= 1),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        allowed, 7,
        "two instances together allowed {allowed} of a limit of 7"
    );
    // Another client has its own count.
    assert!(matches!(
        a.check(&info("192.0.2.2")).await,
        Verdict::Allowed(_)
    ));
}

#[tokio::test]
async fn a_redis_limiter_has_no_local_check_and_counts_nothing_for_it() {
    let url = harness::redis_url();
    let prefix = harness::unique_name("rl");
    let limiter = limiter(&url, &prefix, "2/1m", FailMode::Closed);
    for _ in 0..5 {
        assert!(limiter.check_local(&info("192.0.2.1")).is_none());
    }
    // The five local attempts took nothing from the quota.
    for _ in 0..2 {
        assert!(matches!(
            limiter.check(&info("192.0.2.1")).await,
            Verdict::Allowed(_)
        ));
    }
    assert!(matches!(
        limiter.check(&info("192.0.2.1")).await,
        Verdict::Limited { .. }
    ));
}

#[tokio::test]
async fn concurrent_checks_never_exceed_the_limit() {
    let url = harness::redis_url();
    let limiter = limiter(&url, &harness::unique_name("rl"), "25/1m", FailMode::Closed);
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                matches!(limiter.check(&info("192.0.2.3")).await, Verdict::Allowed(_))
            })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        allowed += usize::from(task.await.unwrap());
    }
    assert_eq!(allowed, 25);
}

#[tokio::test]
async fn redis_down_fails_closed_local_or_open_and_recovers() {
    let mut server = harness::private_redis();
    let url = server.url();
    let closed = limiter(&url, "closed", "3/1m", FailMode::Closed);
    let local = limiter(&url, "local", "3/1m", FailMode::Local);
    let open = limiter(&url, "open", "3/1m", FailMode::Open);
    // A login policy that fails closed beside reads that fall back to local limits.
    let mixed = RateLimiter::builder()
        .policy(Policy::new("ip", "100/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .policy(
            Policy::new("login", "100/1m".parse().unwrap(), KeyKind::ClientIp)
                .unwrap()
                .method("POST")
                .fail_mode(FailMode::Closed),
        )
        .redis(RedisStore::new(&url).unwrap().prefix("mixed"))
        .build()
        .unwrap();
    for limiter in [&closed, &local, &open] {
        assert!(matches!(
            limiter.check(&info("192.0.2.1")).await,
            Verdict::Allowed(_)
        ));
    }

    server.stop();
    let started = Instant::now();
    assert_eq!(closed.check(&info("192.0.2.1")).await, Verdict::Unavailable);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a check hung for {:?}",
        started.elapsed()
    );
    // Failing locally still limits, in-process.
    let mut allowed = 0;
    for _ in 0..10 {
        if matches!(local.check(&info("192.0.2.1")).await, Verdict::Allowed(_)) {
            allowed += 1;
        }
    }
    assert_eq!(
        allowed, 3,
        "fail-local must fall back to in-process limits, not to none"
    );
    // Failing open lets everything through, unlabelled.
    for _ in 0..10 {
        assert_eq!(open.check(&info("192.0.2.1")).await, Verdict::Unlimited);
    }
    // The strictest mode among the policies a request meets applies.
    assert!(matches!(
        mixed.check(&info("192.0.2.1")).await,
        Verdict::Allowed(_)
    ));
    let login = RequestInfo {
        method: "POST",
        ..info("192.0.2.1")
    };
    assert_eq!(mixed.check(&login).await, Verdict::Unavailable);

    server.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match closed.check(&info("192.0.2.50")).await {
            Verdict::Allowed(_) => break,
            Verdict::Unavailable if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("did not recover: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_tower_layer_checks_through_redis() {
    use edge_ratelimit::tower::RateLimitingLayer;
    use tower::{ServiceBuilder, ServiceExt};

    let url = harness::redis_url();
    let prefix = harness::unique_name("rl");
    let service = ServiceBuilder::new()
        .layer(RateLimitingLayer::new(limiter(
            &url,
            &prefix,
            "1/1m",
            FailMode::Closed,
        )))
        .service_fn(|_: http::Request<String>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::from("ok")))
        });
    let request = || {
        let mut request = http::Request::get("/").body(String::new()).unwrap();
        request
            .extensions_mut()
            .insert("192.0.2.9:1000".parse::<std::net::SocketAddr>().unwrap());
        request
    };
    let ok = service.clone().oneshot(request()).await.unwrap();
    assert_eq!(ok.status(), http::StatusCode::OK);
    assert_eq!(ok.headers()["x-ratelimit-remaining"], "0");
    let limited = service.oneshot(request()).await.unwrap();
    assert_eq!(limited.status(), http::StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn two_instances_share_a_limit_on_a_tls_redis() {
    let server = harness::tls_redis();
    // The harness's certificate is self-signed: `#insecure` skips checking it
    // (a managed Redis presents one the platform's roots trust).
    let url = format!("{}/#insecure", server.url());
    assert!(url.starts_with("rediss://"));
    let a = limiter(&url, "tls", "2/1m", FailMode::Closed);
    let b = limiter(&url, "tls", "2/1m", FailMode::Closed);
    // Closed: a failing connection would answer Unavailable, never Allowed.
    assert!(matches!(
        a.check(&info("192.0.2.7")).await,
        Verdict::Allowed(_)
    ));
    assert!(matches!(
        b.check(&info("192.0.2.7")).await,
        Verdict::Allowed(_)
    ));
    assert!(matches!(
        a.check(&info("192.0.2.7")).await,
        Verdict::Limited { .. }
    ));
}

#[tokio::test]
async fn a_reconfigured_limit_applies_at_once_to_the_counts_in_redis() {
    let url = harness::redis_url();
    let prefix = harness::unique_name("rl");
    let a = limiter(&url, &prefix, "10/1m", FailMode::Closed);
    let b = limiter(&url, &prefix, "10/1m", FailMode::Closed);
    for _ in 0..5 {
        assert!(matches!(
            a.check(&info("192.0.2.1")).await,
            Verdict::Allowed(_)
        ));
    }
    // Both instances tighten the policy (as a settings change does).
    let tighter = || Policy::new("ip", "6/1m".parse().unwrap(), KeyKind::ClientIp).unwrap();
    a.reconfigure([tighter()]).unwrap();
    b.reconfigure([tighter()]).unwrap();
    assert!(matches!(
        b.check(&info("192.0.2.1")).await,
        Verdict::Allowed(_)
    ));
    assert!(matches!(
        a.check(&info("192.0.2.1")).await,
        Verdict::Limited { .. }
    ));
    // A longer window keeps the 6 counted in its current window.
    let longer = Policy::new("ip", "7/1h".parse().unwrap(), KeyKind::ClientIp).unwrap();
    a.reconfigure([longer]).unwrap();
    assert!(matches!(
        a.check(&info("192.0.2.1")).await,
        Verdict::Allowed(_)
    ));
    assert!(matches!(
        a.check(&info("192.0.2.1")).await,
        Verdict::Limited { .. }
    ));
}
