//! [`RateLimiter`]: several policies checked together against one backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ipnet::IpNet;

use crate::core::clock::Clock;
use crate::core::decision::{RateLimitState, Verdict, ceil_secs};
use crate::core::key::{RequestInfo, client_ip};
use crate::core::policy::{KeyKind, Policy};
use crate::store::memory::MemoryStore;
use crate::store::{Acquired, Hit, KeyValue};

/// What to do when the shared store (Redis) cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// Keep limiting with the in-process store until Redis is back (default).
    #[default]
    Open,
    /// Reject requests with 503 until Redis is back.
    Closed,
}

#[derive(Debug)]
pub(crate) enum Backend {
    Memory,
    #[cfg(feature = "gcra")]
    Gcra(crate::store::gcra::GcraStore),
    #[cfg(feature = "redis")]
    Redis(crate::store::redis::RedisStore),
}

/// The policies of one check (no allocation for up to four).
type Hits<'a> = smallvec::SmallVec<[Hit<'a>; 4]>;

/// Checks requests against its policies. Build with [`RateLimiter::builder`];
/// cheap to clone, clones share state.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) policies: Vec<Policy>,
    pub(crate) names: Vec<Arc<str>>,
    pub(crate) trusted: Vec<IpNet>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The in-process store: the backend itself, or the fail-open fallback.
    pub(crate) memory: MemoryStore,
    pub(crate) backend: Backend,
    pub(crate) fail_mode: FailMode,
    pub(crate) last_warning_ms: AtomicU64,
}

impl RateLimiter {
    pub(crate) fn from_inner(inner: Inner) -> RateLimiter {
        RateLimiter {
            inner: Arc::new(inner),
        }
    }

    /// Check (and count) one request against every policy that applies to it.
    pub async fn check(&self, info: &RequestInfo<'_>) -> Verdict {
        let hits = self.hits(info);
        if hits.is_empty() {
            return Verdict::Unlimited;
        }
        let inner = &*self.inner;
        let now_ms = inner.clock.now_ms();
        let acquired = match &inner.backend {
            Backend::Memory => inner.memory.acquire(&hits, now_ms),
            #[cfg(feature = "gcra")]
            Backend::Gcra(store) => store.acquire(&hits),
            #[cfg(feature = "redis")]
            Backend::Redis(store) => {
                let names: Vec<&str> = inner.names.iter().map(|n| &**n).collect();
                match store.acquire(&hits, &names).await {
                    Ok(acquired) => acquired,
                    Err(error) => {
                        self.warn_store_down(now_ms, &error);
                        match inner.fail_mode {
                            FailMode::Open => inner.memory.acquire(&hits, now_ms),
                            FailMode::Closed => return Verdict::Unavailable,
                        }
                    }
                }
            }
        };
        self.verdict(&acquired)
    }

    /// [`RateLimiter::check`] without waiting, when the limiter's store is in
    /// this process (the default, or GCRA): `None` — nothing counted — when it is
    /// Redis, whose round trip needs `check`. Lets a middleware answer without a
    /// future of its own.
    pub fn check_local(&self, info: &RequestInfo<'_>) -> Option<Verdict> {
        #[cfg(feature = "redis")]
        if matches!(self.inner.backend, Backend::Redis(_)) {
            return None;
        }
        // Nothing in `check` waits without Redis: it is ready on its first poll.
        futures_util::FutureExt::now_or_never(self.check(info))
    }

    /// The policies that apply to a request, with its key for each.
    fn hits<'a>(&self, info: &RequestInfo<'a>) -> Hits<'a> {
        let inner = &*self.inner;
        let ip = client_ip(info, &inner.trusted);
        inner
            .policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.applies_to(info.method, info.path))
            .filter_map(|(index, policy)| {
                let key = match (policy.key, info.subject, ip) {
                    (KeyKind::Global, _, _) => KeyValue::Global,
                    (KeyKind::Custom, _, _) => KeyValue::Custom(info.custom?),
                    (KeyKind::Subject | KeyKind::SubjectOrIp, Some(subject), _) => {
                        KeyValue::Subject(subject)
                    }
                    (KeyKind::ClientIp | KeyKind::SubjectOrIp, _, Some(ip)) => KeyValue::Ip(ip),
                    _ => return None,
                };
                Some(Hit {
                    policy: index,
                    key,
                    limit: policy.quota.limit(),
                    period_ms: policy.quota.period_ms(),
                })
            })
            .collect()
    }

    fn verdict(&self, acquired: &Acquired) -> Verdict {
        let state = |policy: usize, remaining: u32, reset_ms: u64| {
            let p = &self.inner.policies[policy];
            RateLimitState {
                policy: Arc::clone(&self.inner.names[policy]),
                limit: p.quota.limit(),
                remaining,
                reset_secs: ceil_secs(reset_ms),
                window_secs: ceil_secs(p.quota.period_ms()),
            }
        };
        if acquired.allowed() {
            // The most restrictive: least remaining, then longest reset.
            let tightest = acquired
                .outcomes
                .iter()
                .min_by_key(|(_, o)| (o.remaining, std::cmp::Reverse(o.reset_ms)));
            return match tightest {
                Some(&(policy, o)) => Verdict::Allowed(state(policy, o.remaining, o.reset_ms)),
                None => Verdict::Unlimited,
            };
        }
        let rejecting = acquired
            .outcomes
            .iter()
            .filter(|(_, o)| !o.allowed)
            .max_by_key(|(_, o)| o.reset_ms);
        match rejecting {
            Some(&(policy, o)) => Verdict::Limited {
                state: state(policy, 0, o.reset_ms),
                retry_after_secs: ceil_secs(o.reset_ms),
            },
            None => Verdict::Unlimited,
        }
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    fn warn_store_down(&self, now_ms: u64, error: &crate::StoreError) {
        // At most one warning per 10 s, not one per request.
        let last = self.inner.last_warning_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) >= 10_000
            && self
                .inner
                .last_warning_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(%error, fail_mode = ?self.inner.fail_mode, "rate-limit store unavailable");
        }
    }

    /// Each policy's shared name, in the order the policies were added.
    #[cfg_attr(not(feature = "actix"), allow(dead_code))]
    pub(crate) fn names(&self) -> &[Arc<str>] {
        &self.inner.names
    }

    /// The policies, in the order they were added.
    pub fn policies(&self) -> &[Policy] {
        &self.inner.policies
    }

    /// How many keys the in-process store holds now.
    pub fn tracked_keys(&self) -> usize {
        match &self.inner.backend {
            #[cfg(feature = "gcra")]
            Backend::Gcra(store) => store.len(),
            _ => self.inner.memory.len(),
        }
    }
}
