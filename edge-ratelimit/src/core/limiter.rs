//! [`RateLimiter`]: several policies checked together against one backend.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::decision::{RateLimitState, Verdict, ceil_secs};
use crate::core::key::{RequestInfo, client_ip, counted_address};
use arc_swap::ArcSwap;

use crate::core::policy::{KeyKind, Policy};
use crate::core::policy_set::PolicySet;
use crate::store::memory::MemoryStore;
use crate::store::{Acquired, Acquisition, Hit, KeyValue};
use edge_core::Clock;
use edge_core::{ClientIpHeader, TrustedProxies};

/// What to do when the shared store (Redis) cannot be reached.
///
/// When a request meets several policies, the strictest of their modes applies
/// (`Closed` over `Local` over `Open`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum FailMode {
    /// Let requests through unlimited until Redis is back.
    Open,
    /// Keep limiting each instance with the in-process store until Redis is back
    /// (default): every instance allows the full quota on its own.
    #[default]
    Local,
    /// Reject requests with 503 until Redis is back.
    Closed,
}

/// What a limiter does with a request none of whose addresses is known (no
/// socket peer in the extensions: a misconfigured server or adapter) when a
/// policy keys by client IP. Either way it is logged (at most once a minute)
/// and counted ([`RateLimiter::missing_clients`]); the limit is never skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingClient {
    /// Count every such request in one shared bucket (default).
    #[default]
    ShareOneBucket,
    /// Refuse it with 500: the server cannot tell who the client is.
    Refuse,
}

impl std::str::FromStr for FailMode {
    type Err = crate::ConfigError;

    /// `open`, `local` or `closed`.
    fn from_str(s: &str) -> Result<FailMode, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(FailMode::Open),
            "local" => Ok(FailMode::Local),
            "closed" => Ok(FailMode::Closed),
            _ => Err(crate::ConfigError::InvalidFailMode(s.to_owned())),
        }
    }
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
    /// The policies now: each check reads one set from start to finish.
    pub(crate) set: ArcSwap<PolicySet>,
    /// With GCRA, its key capacity: the store is rebuilt for new policies.
    pub(crate) gcra_max_keys: Option<usize>,
    pub(crate) proxies: TrustedProxies,
    pub(crate) ipv6_prefix: u8,
    pub(crate) clock: Arc<dyn Clock>,
    /// The in-process sliding window: the store itself when no other is set,
    /// and the fallback of [`FailMode::Local`].
    pub(crate) memory: MemoryStore,
    pub(crate) fail_mode: FailMode,
    /// Paths no policy counts.
    pub(crate) exempt: Box<[Box<str>]>,
    pub(crate) last_warning_ms: AtomicU64,
    pub(crate) last_unknown_warning_ms: AtomicU64,
    /// What to do without a client address, and how often it happened.
    pub(crate) missing_client: MissingClient,
    pub(crate) missing_clients: AtomicU64,
}

impl RateLimiter {
    pub(crate) fn from_inner(inner: Inner) -> RateLimiter {
        RateLimiter {
            inner: Arc::new(inner),
        }
    }

    /// Check (and count) one request against every policy that applies to it.
    pub async fn check(&self, info: &RequestInfo<'_>) -> Verdict {
        let inner = &*self.inner;
        let set = inner.set.load();
        let hits = match self.hits(&set, info) {
            Ok(hits) => hits,
            Err(refused) => return refused,
        };
        if hits.is_empty() {
            return Verdict::Unlimited;
        }
        let now_ms = inner.clock.monotonic_ms();
        let acquired = match &set.store {
            None => inner.memory.acquire(&hits, &set.name_keys, now_ms),
            Some(store) => match store.acquire(&hits, now_ms) {
                Acquisition::Now(acquired) => acquired,
                Acquisition::Later(waiting) => match waiting.await {
                    Ok(acquired) => acquired,
                    Err(error) => {
                        self.warn_store_down(now_ms, &error);
                        let mode = self.fail_mode_of(&set, &hits);
                        crate::metrics::store_failed(store.name(), mode);
                        match mode {
                            FailMode::Open => return Verdict::Unlimited,
                            FailMode::Local => inner.memory.acquire(&hits, &set.name_keys, now_ms),
                            FailMode::Closed => return Verdict::Unavailable,
                        }
                    }
                },
            },
        };
        self.verdict(&set, &acquired)
    }

    /// [`RateLimiter::check`] without waiting, when the limiter's store answers at
    /// once (the default in-process store, GCRA): `None` — nothing counted — when
    /// it does not (Redis), whose round trip needs `check`. Lets a middleware
    /// answer without a future of its own.
    pub fn check_local(&self, info: &RequestInfo<'_>) -> Option<Verdict> {
        let inner = &*self.inner;
        let set = inner.set.load();
        let store = set.store.as_deref();
        if store.is_some_and(|store| !store.answers_at_once()) {
            return None;
        }
        let hits = match self.hits(&set, info) {
            Ok(hits) => hits,
            Err(refused) => return Some(refused),
        };
        if hits.is_empty() {
            return Some(Verdict::Unlimited);
        }
        let now_ms = inner.clock.monotonic_ms();
        let acquired = match store.map(|store| store.acquire(&hits, now_ms)) {
            None => inner.memory.acquire(&hits, &set.name_keys, now_ms),
            Some(Acquisition::Now(acquired)) => acquired,
            // A store that said it answers at once and did not: nothing was
            // counted yet (its future was not polled); `check` must finish it.
            Some(Acquisition::Later(_)) => return None,
        };
        Some(self.verdict(&set, &acquired))
    }

    /// The strictest fail mode among the policies a request meets.
    fn fail_mode_of(&self, set: &PolicySet, hits: &Hits<'_>) -> FailMode {
        let inner = &*self.inner;
        hits.iter()
            .map(|hit| {
                set.policies[hit.policy]
                    .fail_mode
                    .unwrap_or(inner.fail_mode)
            })
            .max()
            .unwrap_or(inner.fail_mode)
    }

    /// The header trusted proxies name the client in: a caller that builds
    /// [`RequestInfo`] itself puts its values in [`RequestInfo::forwarded`] (the
    /// adapters resolve the client with [`RateLimiter::trusted_proxies`] instead).
    pub fn client_ip_header(&self) -> &ClientIpHeader {
        self.inner.proxies.client_ip_header()
    }

    /// The client IP of a request as this limiter resolves it (already
    /// resolved outside, or the peer, or the client-IP header behind trusted proxies).
    pub fn client_ip(&self, info: &RequestInfo<'_>) -> Option<IpAddr> {
        client_ip(info, &self.inner.proxies)
    }

    /// The trusted proxies and their client-IP header.
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.inner.proxies
    }

    /// The policies of `set` that apply to a request, with its key for each; a
    /// refusal when a policy needs the client's address, none is known, and
    /// the limiter refuses such requests.
    fn hits<'a>(&self, set: &'a PolicySet, info: &RequestInfo<'a>) -> Result<Hits<'a>, Verdict> {
        let inner = &*self.inner;
        if inner.exempt.iter().any(|path| **path == *info.path) {
            return Ok(Hits::new());
        }
        let ip = self
            .client_ip(info)
            .map(|ip| counted_address(ip, inner.ipv6_prefix));
        let mut missing = false;
        let hits = set
            .policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.applies_to(info.method, info.path))
            .filter_map(|(index, policy)| {
                let key = match (policy.key, info.subject) {
                    (KeyKind::Global, _) => KeyValue::Global,
                    (KeyKind::Custom, _) => KeyValue::Custom(info.custom?),
                    (KeyKind::Subject | KeyKind::SubjectOrIp, Some(subject)) => {
                        KeyValue::Subject(subject)
                    }
                    (KeyKind::ClientIp | KeyKind::SubjectOrIp, _) => {
                        KeyValue::Ip(ip.unwrap_or_else(|| {
                            missing = true;
                            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
                        }))
                    }
                    (KeyKind::Subject, None) => return None,
                };
                Some(Hit {
                    policy: index,
                    name: &set.names[index],
                    key,
                    limit: policy.quota.limit(),
                    period_ms: policy.quota.period_ms(),
                })
            })
            .collect();
        if missing {
            self.missing_client()?;
        }
        Ok(hits)
    }

    fn verdict(&self, set: &PolicySet, acquired: &Acquired) -> Verdict {
        set.meters.decided(&set.names, acquired);
        let state = |policy: usize, remaining: u32, reset_ms: u64| {
            let p = &set.policies[policy];
            RateLimitState {
                policy: Arc::clone(&set.names[policy]),
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

    /// The address requests without a known peer are counted under: one shared
    /// bucket (the unspecified address), so a missing peer never means no limit.
    /// Warned about at most once a minute: it means the adapter cannot see the
    /// socket (on axum, serve with `into_make_service_with_connect_info`).
    #[cold]
    /// Count and (at most once a minute) report a request without a client
    /// address that a per-client policy needs; `Err` when such requests are refused.
    fn missing_client(&self) -> Result<(), Verdict> {
        let inner = &*self.inner;
        inner.missing_clients.fetch_add(1, Ordering::Relaxed);
        crate::metrics::missing_client();
        let now_ms = inner.clock.monotonic_ms();
        let last = inner.last_unknown_warning_ms.load(Ordering::Relaxed);
        if (last == 0 || now_ms.saturating_sub(last) >= 60_000)
            && inner
                .last_unknown_warning_ms
                .compare_exchange(last, now_ms.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::error!(
                on_missing_client = ?inner.missing_client,
                "rate limiting a request without a client address: no socket peer in the request \
                 extensions (axum: serve with `into_make_service_with_connect_info::<SocketAddr>()`)"
            );
        }
        match inner.missing_client {
            MissingClient::ShareOneBucket => Ok(()),
            MissingClient::Refuse => Err(Verdict::NoClientAddress),
        }
    }

    /// How many requests a per-client policy met without a client address
    /// (see [`MissingClient`]).
    pub fn missing_clients(&self) -> u64 {
        self.inner.missing_clients.load(Ordering::Relaxed)
    }

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

    /// The policies now (a copy: [`reconfigure`](Self::reconfigure) may
    /// replace them at any time), in the order they were added.
    pub fn policies(&self) -> Vec<Policy> {
        self.inner.set.load().policies.clone()
    }

    /// The policies now (for the protocol's header values): a guard, which
    /// costs no shared reference count while it lives.
    pub(crate) fn policy_set(&self) -> arc_swap::Guard<Arc<PolicySet>> {
        self.inner.set.load()
    }

    /// Replace the policies while requests flow: `policies` are checked first
    /// (as [`RateLimiterBuilder::build`](crate::RateLimiterBuilder::build)
    /// checks them) and on an error nothing changes; otherwise they apply,
    /// all at once, to every check that starts after this returns (a check
    /// already running finishes under the policies it started with).
    ///
    /// Counts are kept by policy name and key: a policy kept under its name
    /// keeps its clients' counts (a tighter limit applies at once to the
    /// current window; under a new window length what was counted stays
    /// counted in the current window, so a change never frees capacity); a
    /// removed policy stops being checked; an added one starts
    /// empty. With [`gcra`](crate::RateLimiterBuilder::gcra) the counts start
    /// afresh.
    ///
    /// ```
    /// use edge_ratelimit::{KeyKind, Policy, RateLimiter};
    ///
    /// let per_ip = |quota: &str| Policy::new("ip", quota.parse().unwrap(), KeyKind::ClientIp);
    /// let limiter = RateLimiter::builder().policy(per_ip("600/1m")?).build()?;
    /// // Later, from an admin endpoint or a settings watcher:
    /// limiter.reconfigure([per_ip("100/1m")?])?;
    /// assert_eq!(limiter.policies()[0].quota().limit(), 100);
    /// // Invalid: refused whole, the limiter keeps its policies.
    /// assert!(limiter.reconfigure([per_ip("1/1s")?, per_ip("2/1s")?]).is_err());
    /// assert_eq!(limiter.policies()[0].quota().limit(), 100);
    /// # Ok::<(), edge_ratelimit::ConfigError>(())
    /// ```
    pub fn reconfigure(
        &self,
        policies: impl IntoIterator<Item = Policy>,
    ) -> Result<(), crate::ConfigError> {
        let policies: Vec<Policy> = policies.into_iter().collect();
        let store = match self.inner.gcra_max_keys {
            #[cfg(feature = "gcra")]
            Some(max_keys) => Some(
                Arc::new(crate::store::gcra::GcraStore::new(&policies, max_keys))
                    as Arc<dyn crate::store::RateLimitStore>,
            ),
            _ => self.inner.set.load().store.clone(),
        };
        let set = PolicySet::new(policies, store)?;
        self.inner.set.store(Arc::new(set));
        Ok(())
    }

    /// How many keys the store holds in this process now.
    pub fn tracked_keys(&self) -> usize {
        match &self.inner.set.load().store {
            Some(store) => store.tracked_keys(),
            None => self.inner.memory.len(),
        }
    }
}
