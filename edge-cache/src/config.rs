//! [`CacheBuilder`]: configuration of a [`Cache`].

use std::sync::Arc;
use std::time::Duration;

use crate::ConfigError;
use crate::cache::{Cache, Inner, Limits};
use crate::core::epochs::Epochs;
use crate::core::inflight::InFlight;
use crate::core::memory::MemoryTier;
use crate::route::{Route, Rules, Unlisted};
use crate::stats::Counters;
use crate::store::CacheStore;
use edge_core::{Clock, SystemClock};

/// Builds a [`Cache`].
///
/// ```
/// use std::time::Duration;
/// use edge_cache::{Cache, Route};
///
/// let cache = Cache::builder()
///     .default_ttl(Duration::from_secs(30))
///     .max_entries(10_000)
///     .max_bytes(64 << 20)
///     .route(Route::new("/api/items/{id}").share_authorized().invalidates("/api/items"))
///     .build()?;
/// # Ok::<(), edge_cache::ConfigError>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct CacheBuilder {
    routes: Vec<Route>,
    unlisted: Unlisted,
    default_ttl: Duration,
    max_entries: usize,
    max_bytes: usize,
    limits: Limits,
    clock: Arc<dyn Clock>,
    shared: Option<Arc<dyn CacheStore>>,
}

impl Cache {
    /// Start configuring a cache: 30 s TTL, 10 000 entries, 64 MiB, gzip from 1 KiB.
    pub fn builder() -> CacheBuilder {
        CacheBuilder {
            routes: Vec::new(),
            unlisted: Unlisted::Public,
            default_ttl: Duration::from_secs(30),
            max_entries: 10_000,
            max_bytes: 64 << 20,
            limits: Limits {
                max_entry_bytes: 1 << 20,
                compress_min: 1024,
                compress_max: 8 << 20,
                store_level: 6,
                fly_level: 1,
                compress_uncached: false,
                follow_timeout: Duration::from_secs(10),
            },
            clock: Arc::new(SystemClock),
            shared: None,
        }
    }
}

impl CacheBuilder {
    /// Add a route; the first route matching a path applies.
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// What to do with GETs of paths no route matches (default
    /// [`Unlisted::Public`]: store only responses that say `Cache-Control:
    /// public`; never every anonymous GET unless [`Unlisted::All`] says so).
    pub fn unlisted(mut self, unlisted: Unlisted) -> Self {
        self.unlisted = unlisted;
        self
    }

    /// Also gzip responses the cache does not store, on the fly at a fast
    /// level, when the client accepts gzip and the body is text-like and at
    /// least [`compress_min`](Self::compress_min) (default `false`: only
    /// stored entries are compressed, once, at store time).
    pub fn compress_uncached(mut self, compress: bool) -> Self {
        self.limits.compress_uncached = compress;
        self
    }

    /// The TTL of routes without their own (default 30 s). Zero turns caching off
    /// for them.
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// The most entries the in-process tier holds (default 10 000).
    pub fn max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries;
        self
    }

    /// The most bytes the in-process tier holds, bodies, compressed copies and
    /// headers included (default 64 MiB).
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Responses with bodies larger than this are not stored (default 1 MiB).
    pub fn max_entry_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_entry_bytes = bytes;
        self
    }

    /// Compress bodies of at least this many bytes (default 1 KiB) when the
    /// client accepts gzip and the type is text-like.
    pub fn compress_min(mut self, bytes: usize) -> Self {
        self.limits.compress_min = bytes;
        self
    }

    /// How long a coalesced miss waits for the request fetching its key before
    /// calling the backend itself (default 10 s).
    pub fn follow_timeout(mut self, timeout: Duration) -> Self {
        self.limits.follow_timeout = timeout;
        self
    }

    /// The time source (a [`ManualClock`](crate::ManualClock) in tests). Entries
    /// are stamped with its wall time, since the Redis tier shares them between
    /// machines.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Share entries and invalidations with every instance on this Redis
    /// (the same as [`shared`](Self::shared) with a [`RedisTier`](crate::RedisTier)).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(self, tier: crate::redis::RedisTier) -> Self {
        self.shared(tier)
    }

    /// Share entries and invalidations with every instance through `store`
    /// (your own [`CacheStore`]). While the store cannot carry invalidations
    /// the cache stands aside and requests go to the backend.
    pub fn shared(mut self, store: impl CacheStore) -> Self {
        self.shared = Some(Arc::new(store));
        self
    }

    /// Build the cache. With a shared tier, call it within a Tokio runtime so the
    /// invalidation subscriber starts at once (else it starts with the first lookup).
    pub fn build(self) -> Result<Cache, ConfigError> {
        if self.max_entries == 0 || self.max_bytes == 0 {
            return Err(ConfigError::ZeroCapacity);
        }
        let routes = self
            .routes
            .into_iter()
            .map(Route::compile)
            .collect::<Result<Vec<_>, _>>()?;
        let ttls = crate::cache::LiveTtls {
            default: self.default_ttl,
            routes: routes.iter().map(|r| r.rules.ttl).collect(),
        };
        let max_ttl = ttls.longest();
        let mut request_headers = vec![
            http::header::AUTHORIZATION,
            http::header::COOKIE,
            http::header::CACHE_CONTROL,
            http::header::IF_NONE_MATCH,
            http::header::ACCEPT_ENCODING,
        ];
        for route in &routes {
            for name in route.rules.vary.iter() {
                if !request_headers.contains(name) {
                    request_headers.push(name.clone());
                }
            }
        }
        let inner = Arc::new(Inner {
            meters: crate::metrics::Meters::default(),
            request_headers,
            routes,
            unlisted: Rules::unlisted(self.unlisted),
            ttls: arc_swap::ArcSwap::from_pointee(ttls),
            limits: self.limits,
            memory: MemoryTier::new(self.max_entries, self.max_bytes),
            epochs: Epochs::new(),
            flights: Arc::new(InFlight::default()),
            clock: self.clock,
            counters: Counters::default(),
            shared: self
                .shared
                .map(|store| crate::shared::Shared::new(store, max_ttl)),
        });
        let cache = Cache { inner };
        crate::shared::start(&cache.inner);
        Ok(cache)
    }
}
