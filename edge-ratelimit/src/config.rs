//! [`RateLimiterBuilder`]: configuration of a [`RateLimiter`].

use crate::core::policy_set::PolicySet;
use crate::store::RateLimitStore;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use ipnet::IpNet;

use crate::core::limiter::{FailMode, Inner, MissingClient, RateLimiter};
use crate::store::memory::MemoryStore;
use crate::{ConfigError, Policy};
use edge_core::{ClientIpHeader, TrustedProxies};
use edge_core::{Clock, SystemClock};

/// Builds a [`RateLimiter`].
///
/// ```
/// use edge_ratelimit::{KeyKind, Policy, RateLimiter, Scope};
///
/// let limiter = RateLimiter::builder()
///     .policy(Policy::new("ip", "600/1m".parse()?, KeyKind::ClientIp)?)
///     .policy(Policy::new("writes", "120/1m".parse()?, KeyKind::SubjectOrIp)?.scope(Scope::Writes))
///     .trusted_proxy("10.0.0.0/8".parse().unwrap())
///     .build()?;
/// # Ok::<(), edge_ratelimit::ConfigError>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct RateLimiterBuilder {
    policies: Vec<Policy>,
    proxies: TrustedProxies,
    ipv6_prefix: u8,
    clock: Arc<dyn Clock>,
    max_keys: usize,
    backend: BackendChoice,
    fail_mode: FailMode,
    exempt: Vec<String>,
    missing_client: MissingClient,
}

#[derive(Debug)]
enum BackendChoice {
    Memory,
    #[cfg(feature = "gcra")]
    Gcra,
    Store(Arc<dyn RateLimitStore>),
}

impl RateLimiter {
    /// Start configuring a limiter (in-process sliding window by default).
    pub fn builder() -> RateLimiterBuilder {
        RateLimiterBuilder {
            policies: Vec::new(),
            proxies: TrustedProxies::none(),
            ipv6_prefix: 64,
            clock: Arc::new(SystemClock),
            max_keys: 100_000,
            backend: BackendChoice::Memory,
            fail_mode: FailMode::Local,
            exempt: Vec::new(),
            missing_client: MissingClient::default(),
        }
    }
}

impl RateLimiterBuilder {
    /// Add a policy; every applicable policy is checked, the tightest one reported.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policies.push(policy);
        self
    }

    /// The one header the trusted proxies set to name the client (default
    /// `X-Forwarded-For`). No other forwarding header is read: a proxy that passes
    /// a client's own `Forwarded` through cannot be used to pick an address.
    pub fn client_ip_header(mut self, header: ClientIpHeader) -> Self {
        self.proxies = self.proxies.header(header);
        self
    }

    /// The trusted proxies and their header, as one value (shared with the other
    /// edge layers of a service, which resolve the client the same way).
    pub fn proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// Count IPv6 clients by their first `bits` (default 64: a subscriber's
    /// network, which can hand out 2^64 addresses); 128 counts every address.
    pub fn ipv6_prefix(mut self, bits: u8) -> Self {
        self.ipv6_prefix = bits;
        self
    }

    /// Trust the client-IP header from peers in `network`.
    pub fn trusted_proxy(mut self, network: IpNet) -> Self {
        self.proxies = self.proxies.trust([network]);
        self
    }

    /// Trust the client-IP header from every peer in `networks`.
    pub fn trusted_proxies(mut self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        self.proxies = self.proxies.trust(networks);
        self
    }

    /// The most keys (policy × client) the in-process store holds; least recently
    /// used ones are evicted beyond it (default 100 000).
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// The clock: its monotonic time runs the windows, so a wall clock stepped
    /// back never reopens one (tests pass a [`ManualClock`](crate::ManualClock)).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Use GCRA (through governor) instead of the sliding window, in-process.
    #[cfg(feature = "gcra")]
    pub fn gcra(mut self) -> Self {
        self.backend = BackendChoice::Gcra;
        self
    }

    /// Keep the counters in Redis so every instance shares them.
    #[cfg(feature = "redis")]
    pub fn redis(self, store: crate::RedisStore) -> Self {
        self.store(store)
    }

    /// Keep the counters in `store` (your own [`RateLimitStore`]) instead of the
    /// in-process sliding window, which stays the fallback of [`FailMode::Local`].
    pub fn store(mut self, store: impl RateLimitStore) -> Self {
        self.backend = BackendChoice::Store(Arc::new(store));
        self
    }

    /// What to do while Redis is unreachable (default: [`FailMode::Local`], limits
    /// kept per instance in process); a policy may override it.
    pub fn fail_mode(mut self, fail_mode: FailMode) -> Self {
        self.fail_mode = fail_mode;
        self
    }

    /// What to do with a request a per-client policy meets when its client's
    /// address is unknown (default [`MissingClient::ShareOneBucket`]; logged
    /// and counted either way).
    pub fn on_missing_client(mut self, missing_client: MissingClient) -> Self {
        self.missing_client = missing_client;
        self
    }

    /// Never count requests to exactly `path` (no policy applies, no headers
    /// are added): health probes such as `/livez`, which an orchestrator sends
    /// from one address and must never see refused.
    pub fn exempt(mut self, path: impl Into<String>) -> Self {
        self.exempt.push(path.into());
        self
    }

    /// Check the settings and build the limiter.
    pub fn build(self) -> Result<RateLimiter, ConfigError> {
        if self.ipv6_prefix > 128 {
            return Err(ConfigError::InvalidIpv6Prefix(self.ipv6_prefix));
        }
        let max_keys = NonZeroUsize::new(self.max_keys).ok_or(ConfigError::ZeroCapacity)?;
        if let Some(path) = self.exempt.iter().find(|p| !p.starts_with('/')) {
            return Err(ConfigError::InvalidRoute(format!(
                "exempt path `{path}` must start with `/`"
            )));
        }
        #[cfg(feature = "gcra")]
        let gcra_max_keys = matches!(self.backend, BackendChoice::Gcra).then_some(self.max_keys);
        #[cfg(not(feature = "gcra"))]
        let gcra_max_keys = None;
        let store: Option<Arc<dyn RateLimitStore>> = match self.backend {
            BackendChoice::Memory => None,
            #[cfg(feature = "gcra")]
            BackendChoice::Gcra => Some(Arc::new(crate::store::gcra::GcraStore::new(
                &self.policies,
                self.max_keys,
            ))),
            BackendChoice::Store(store) => Some(store),
        };
        Ok(RateLimiter::from_inner(Inner {
            set: arc_swap::ArcSwap::from_pointee(PolicySet::new(self.policies, store)?),
            gcra_max_keys,
            proxies: self.proxies,
            ipv6_prefix: self.ipv6_prefix,
            clock: self.clock,
            memory: MemoryStore::new(max_keys),
            fail_mode: self.fail_mode,
            exempt: self
                .exempt
                .into_iter()
                .map(String::into_boxed_str)
                .collect(),
            last_warning_ms: AtomicU64::new(0),
            last_unknown_warning_ms: AtomicU64::new(0),
            missing_client: self.missing_client,
            missing_clients: AtomicU64::new(0),
        }))
    }
}
