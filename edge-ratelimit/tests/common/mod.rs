//! What several test binaries share.
#![allow(dead_code)]

use edge_ratelimit::{
    Acquisition, Hit, KeyKind, Policy, RateLimitStore, RateLimiter, RequestInfo, StoreError,
    Verdict,
};

/// A policy from its quota's text.
pub(crate) fn policy(name: &str, quota: &str, key: KeyKind) -> Policy {
    Policy::new(name, quota.parse().unwrap(), key).unwrap()
}

/// How many of `n` checks of `info`, one after the other, were allowed.
pub(crate) async fn allowed(limiter: &RateLimiter, info: &RequestInfo<'_>, n: usize) -> usize {
    let mut count = 0;
    for _ in 0..n {
        if matches!(limiter.check(info).await, Verdict::Allowed(_)) {
            count += 1;
        }
    }
    count
}

/// A shared store that is down.
#[derive(Debug)]
pub(crate) struct Down;

impl RateLimitStore for Down {
    fn acquire<'a>(&'a self, _: &'a [Hit<'a>], _: u64) -> Acquisition<'a> {
        Acquisition::Later(Box::pin(async { Err(StoreError("down".to_owned())) }))
    }

    fn answers_at_once(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        "down"
    }
}
