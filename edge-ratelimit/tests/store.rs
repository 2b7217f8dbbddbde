//! An application's own store behind `RateLimitStore`: the limiter hands it each
//! request's hits and turns its outcomes into verdicts, and a store that fails
//! meets the limiter's fail mode like Redis does.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;

use common::Down;
use edge_ratelimit::{
    Acquired, Acquisition, FailMode, Hit, KeyKind, ManualClock, Outcome, Policy, RateLimitStore,
    RateLimiter, RequestInfo, Verdict,
};

/// A fixed-window store over a map: the simplest store an application could
/// write (a database, a different cache...).
#[derive(Debug, Default)]
struct Counting {
    counts: Mutex<HashMap<String, u32>>,
}

impl RateLimitStore for Counting {
    fn acquire<'a>(&'a self, hits: &'a [Hit<'a>], _now_ms: u64) -> Acquisition<'a> {
        let mut counts = self.counts.lock().unwrap();
        let keys: Vec<String> = hits
            .iter()
            .map(|h| format!("{}:{}", h.name, h.key))
            .collect();
        let admitted = hits
            .iter()
            .zip(&keys)
            .all(|(hit, key)| counts.get(key).copied().unwrap_or(0) < hit.limit);
        let mut acquired = Acquired::new();
        for (hit, key) in hits.iter().zip(&keys) {
            let count = counts.entry(key.clone()).or_default();
            if admitted {
                *count += 1;
            }
            acquired.push(
                hit.policy,
                Outcome {
                    allowed: admitted || *count < hit.limit,
                    remaining: hit.limit.saturating_sub(*count),
                    reset_ms: hit.period_ms,
                },
            );
        }
        Acquisition::Now(acquired)
    }

    fn answers_at_once(&self) -> bool {
        true
    }

    fn tracked_keys(&self) -> usize {
        self.counts.lock().unwrap().len()
    }
}

fn request(peer: &str) -> RequestInfo<'_> {
    RequestInfo {
        method: "GET",
        path: "/items",
        peer: Some(peer.parse().unwrap()),
        ..RequestInfo::default()
    }
}

fn limiter(store: impl RateLimitStore, fail_mode: FailMode) -> RateLimiter {
    RateLimiter::builder()
        .policy(Policy::new("ip", "3/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .store(store)
        .fail_mode(fail_mode)
        .clock(ManualClock::new(1_800_000_000_000))
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_applications_store_counts_and_the_limiter_decides() {
    let limiter = limiter(Counting::default(), FailMode::Local);
    let client = request("192.0.2.1");
    let mut verdicts = Vec::new();
    for _ in 0..4 {
        // It answers at once: the middlewares' synchronous path is taken.
        verdicts.push(limiter.check_local(&client).expect("answers at once"));
    }
    let remaining: Vec<_> = verdicts[..3]
        .iter()
        .map(|v| v.state().unwrap().remaining)
        .collect();
    assert_eq!(remaining, [2, 1, 0]);
    assert!(matches!(verdicts[3], Verdict::Limited { .. }));
    // Another client has its own key in the store.
    assert!(matches!(
        limiter.check(&request("192.0.2.2")).await,
        Verdict::Allowed(_)
    ));
    assert_eq!(limiter.tracked_keys(), 2);
}

#[tokio::test]
async fn a_store_that_fails_meets_the_fail_mode() {
    let client = request("192.0.2.1");
    let closed = limiter(Down, FailMode::Closed);
    assert!(
        closed.check_local(&client).is_none(),
        "a shared store is awaited"
    );
    assert_eq!(closed.check(&client).await, Verdict::Unavailable);
    assert_eq!(
        limiter(Down, FailMode::Open).check(&client).await,
        Verdict::Unlimited
    );
    // Local: the in-process window takes over, with the full quota.
    let local = limiter(Down, FailMode::Local);
    let mut allowed = 0;
    for _ in 0..5 {
        if matches!(local.check(&client).await, Verdict::Allowed(_)) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 3);
}
