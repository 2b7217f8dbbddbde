//! Rate limiting's metrics, read back through a debugging recorder: each
//! counter moves exactly as the decisions it counts.

mod common;

use common::Down;
use edge_ratelimit::metrics::{MISSING_CLIENTS_TOTAL, REQUESTS_TOTAL, STORE_ERRORS_TOTAL};
use edge_ratelimit::{FailMode, KeyKind, ManualClock, Policy, RateLimiter, RequestInfo};
use edge_test_support::metrics::Recorded;

fn policies() -> edge_ratelimit::RateLimiterBuilder {
    RateLimiter::builder()
        .policy(Policy::new("ip", "3/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .policy(Policy::new("all", "100/1m".parse().unwrap(), KeyKind::Global).unwrap())
        .clock(ManualClock::new(1_800_000_000_000))
}

fn request(peer: Option<&str>) -> RequestInfo<'_> {
    RequestInfo {
        method: "GET",
        path: "/items",
        peer: peer.map(|p| p.parse().unwrap()),
        ..RequestInfo::default()
    }
}

#[tokio::test]
async fn decisions_store_failures_and_missing_clients_are_counted() {
    let recorded = Recorded::install();
    edge_ratelimit::metrics::describe();
    let limiter = policies().build().unwrap();
    let client = request(Some("192.0.2.1"));
    for _ in 0..5 {
        limiter.check(&client).await;
    }
    let seen = recorded.changes();
    let count =
        |policy, result| seen.counter(REQUESTS_TOTAL, &[("policy", policy), ("result", result)]);
    // Three admitted: counted by both policies. Two refused by `ip`: `all`
    // counted neither.
    assert_eq!(count("ip", "allowed"), 3);
    assert_eq!(count("all", "allowed"), 3);
    assert_eq!(count("ip", "limited"), 2);
    assert_eq!(count("all", "limited"), 0);

    // A store that is down: each check is an error and the fail mode's decision.
    let local = policies()
        .store(Down)
        .fail_mode(FailMode::Local)
        .build()
        .unwrap();
    let closed = policies()
        .store(Down)
        .fail_mode(FailMode::Closed)
        .build()
        .unwrap();
    for _ in 0..2 {
        local.check(&client).await;
    }
    closed.check(&client).await;
    let seen = recorded.changes();
    assert_eq!(
        seen.counter(
            STORE_ERRORS_TOTAL,
            &[("store", "down"), ("fail_mode", "local")]
        ),
        2
    );
    assert_eq!(
        seen.counter(
            STORE_ERRORS_TOTAL,
            &[("store", "down"), ("fail_mode", "closed")]
        ),
        1
    );
    // The local fallback decided, and was counted as any decision.
    assert_eq!(
        seen.counter(REQUESTS_TOTAL, &[("policy", "ip"), ("result", "allowed")]),
        2
    );

    // No client address for a per-client policy.
    limiter.check(&request(None)).await;
    let seen = recorded.changes();
    assert_eq!(seen.counter(MISSING_CLIENTS_TOTAL, &[]), 1);
    assert_eq!(limiter.missing_clients(), 1);
}
