//! GCRA through `governor`, an in-process alternative to the sliding window: a
//! smooth rate (one request per `period / limit`) with bursts up to `limit`.
//!
//! Limits: governor cannot take back a counted request, so with several policies
//! a request rejected by a later policy still used a cell of the earlier ones;
//! and its key map is trimmed (`retain_recent`) only when it outgrows `max_keys`,
//! so the bound is kept for idle keys but not against that many active ones.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;

use super::{Acquired, Acquisition, Hit, Outcome, RateLimitStore};
use crate::Policy;

type Keyed = governor::RateLimiter<
    u64,
    DefaultKeyedStateStore<u64>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One governor keyed limiter per policy.
#[derive(Debug)]
pub(crate) struct GcraStore {
    limiters: Vec<Keyed>,
    hasher: RandomState,
    max_keys: usize,
    checks: AtomicU64,
}

impl GcraStore {
    pub(crate) fn new(policies: &[Policy], max_keys: usize) -> GcraStore {
        let limiters = policies
            .iter()
            .map(|policy| {
                let quota = policy.quota();
                let burst = NonZeroU32::new(quota.limit()).unwrap_or(NonZeroU32::MIN);
                let cell = quota.period() / quota.limit();
                let gq = governor::Quota::with_period(cell)
                    .unwrap_or_else(|| governor::Quota::per_second(burst))
                    .allow_burst(burst);
                governor::RateLimiter::keyed(gq).with_middleware::<StateInformationMiddleware>()
            })
            .collect();
        GcraStore {
            limiters,
            hasher: RandomState::default(),
            max_keys,
            checks: AtomicU64::new(0),
        }
    }

    pub(crate) fn acquire(&self, hits: &[Hit<'_>]) -> Acquired {
        let mut outcomes = super::Outcomes::new();
        for hit in hits {
            let limiter = &self.limiters[hit.policy];
            let key = self.hasher.hash_one(hit.key);
            let outcome = match limiter.check_key(&key) {
                Ok(snapshot) => {
                    let remaining = snapshot.remaining_burst_capacity();
                    let used = u64::from(hit.limit.saturating_sub(remaining));
                    Outcome {
                        allowed: true,
                        remaining,
                        reset_ms: hit.period_ms * used / u64::from(hit.limit.max(1)),
                    }
                }
                Err(not_until) => {
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    Outcome {
                        allowed: false,
                        remaining: 0,
                        reset_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
                    }
                }
            };
            outcomes.push((hit.policy, outcome));
            if !outcome.allowed {
                break;
            }
        }
        self.trim();
        Acquired { outcomes }
    }

    /// Now and then, drop idle keys once the maps outgrow `max_keys`.
    fn trim(&self) {
        if !self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(1024)
        {
            return;
        }
        for limiter in &self.limiters {
            if limiter.len() > self.max_keys {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.limiters.iter().map(governor::RateLimiter::len).sum()
    }
}

impl RateLimitStore for GcraStore {
    fn name(&self) -> &'static str {
        "gcra"
    }

    fn acquire<'a>(&'a self, hits: &'a [Hit<'a>], _now_ms: u64) -> Acquisition<'a> {
        Acquisition::Now(GcraStore::acquire(self, hits))
    }

    fn answers_at_once(&self) -> bool {
        true
    }

    fn tracked_keys(&self) -> usize {
        self.len()
    }
}
