//! [`Cache`]: classify a request, look it up, store the backend's answer,
//! invalidate after writes. Adapters drive these steps; the core does no I/O
//! besides the optional shared tier ([`CacheStore`](crate::CacheStore)).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    AGE, AUTHORIZATION, CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, COOKIE, DATE, ETAG,
    IF_NONE_MATCH, SET_COOKIE, TRANSFER_ENCODING, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use smallvec::SmallVec;

use crate::core::conditional::etag_of;
use crate::core::directives::Directives;
use crate::core::encoding::{self, Accepts, GZIP};
use crate::core::entry::Entry;
use crate::core::epochs::{Epochs, Stamps};
use crate::core::inflight::{self, InFlight, Join, Leading};
use crate::core::key::cache_key;
use crate::core::memory::{MemoryTier, Stored};
use crate::core::reply::{CacheStatus, Reply, X_CACHE};
use crate::metrics::Outcome;
use crate::route::{CompiledRoute, Rules, tags_for};
use crate::stats::{CacheStats, Counters};
use edge_core::Clock;

/// A response cache shared by every worker: cheap to clone (one `Arc`).
///
/// The steps, which the [tower](crate::tower) and [actix](crate::actix) adapters
/// run for you:
///
/// 1. [`Cache::classify`] the request: a [`Read`] (GET/HEAD), a [`Write`]
///    (POST/PUT/PATCH/DELETE) or a [`Pass`].
/// 2. For a read, [`Cache::lookup`]: a [`Lookup::Hit`] is a complete [`Reply`];
///    a [`Lookup::Miss`] means calling the backend, then, when
///    [`Miss::wants`] the response, [`Miss::complete`] with its body (stores it
///    and answers, 304 included). [`Cache::lookup_now`] first answers hits in
///    memory without a future.
/// 3. For a write, call the backend, then [`Cache::after_write`].
#[derive(Debug, Clone)]
pub struct Cache {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_entry_bytes: usize,
    pub(crate) compress_min: usize,
    pub(crate) compress_max: usize,
    pub(crate) store_level: u32,
    pub(crate) fly_level: u32,
    pub(crate) compress_uncached: bool,
    pub(crate) follow_timeout: Duration,
}

#[derive(Debug)]
pub(crate) struct Inner {
    /// The request counters' metric handles.
    pub(crate) meters: crate::metrics::Meters,
    pub(crate) routes: Vec<CompiledRoute>,
    pub(crate) unlisted: Rules,
    /// The TTLs now, which [`Cache::reconfigure`] swaps whole.
    pub(crate) ttls: arc_swap::ArcSwap<LiveTtls>,
    pub(crate) limits: Limits,
    pub(crate) memory: MemoryTier,
    pub(crate) epochs: Epochs,
    pub(crate) flights: Arc<InFlight>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) counters: Counters,
    pub(crate) request_headers: Vec<HeaderName>,
    pub(crate) shared: Option<crate::shared::Shared>,
}

/// The TTLs a cache applies: the default, and each route's own (by route
/// index; `None`: the default).
#[derive(Debug)]
pub(crate) struct LiveTtls {
    pub(crate) default: Duration,
    pub(crate) routes: Box<[Option<Duration>]>,
}

impl LiveTtls {
    fn of(&self, route: Option<usize>) -> Duration {
        route
            .and_then(|i| self.routes.get(i).copied().flatten())
            .unwrap_or(self.default)
    }

    /// The longest TTL.
    pub(crate) fn longest(&self) -> Duration {
        self.routes
            .iter()
            .flatten()
            .fold(self.default, |a, b| a.max(*b))
    }
}

/// The TTLs to change with [`Cache::reconfigure`]: the default (for routes
/// without a TTL of their own and unlisted paths), and routes' own by their
/// template. A zero TTL stops caching (writes still invalidate, so nothing
/// stale is found when it starts again).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ttls {
    /// The default TTL.
    pub default: Duration,
    /// Routes' own TTLs, by template (as given to [`Route::new`](crate::Route::new)); a route not
    /// named keeps the TTL it was built with (or the default).
    pub routes: Vec<(String, Duration)>,
}

/// What to do with a request.
#[derive(Debug)]
pub enum Action {
    /// A cacheable read: [`Cache::lookup`] it.
    Read(Read),
    /// A write: call the backend, then [`Cache::after_write`].
    Write(Write),
    /// Not the cache's business: call the backend (and maybe [`Cache::compress`]).
    Pass(Pass),
}

/// A cacheable GET or HEAD.
#[derive(Debug)]
pub struct Read {
    key: Box<[u8]>,
    /// The index of the matching route (`None`: unlisted); tags are derived from
    /// it and the path only on a miss.
    route: Option<usize>,
    path_len: usize,
    ttl: Duration,
    head: bool,
    if_none_match: SmallVec<[HeaderValue; 1]>,
    accepts: Accepts,
    vary: Arc<[HeaderName]>,
    announce: bool,
    /// Stored only when the response says `Cache-Control: public`.
    only_public: bool,
}

impl Read {
    /// Whether `entry` may answer this read at `now`: within its own expiry
    /// and within the TTL that applies now (a TTL shortened since it was
    /// stored applies at once).
    fn finds_fresh(&self, entry: &Entry, now: u64) -> bool {
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        entry.is_fresh(now) && now < entry.stored_at_ms.saturating_add(ttl_ms)
    }

    /// What the client accepts.
    pub fn accepts(&self) -> Accepts {
        self.accepts
    }

    /// Whether the response carries `X-Cache` and `Age` (see
    /// [`Route::announce_status`](crate::Route::announce_status)).
    pub fn announces_status(&self) -> bool {
        self.announce
    }

    /// The request path (the key starts with `GET ` and the path).
    fn path(&self) -> &str {
        std::str::from_utf8(self.key.get(4..4 + self.path_len).unwrap_or_default()).unwrap_or("")
    }
}

/// A write: the tags it invalidates once the backend answered.
#[derive(Debug)]
pub struct Write {
    tags: SmallVec<[String; 2]>,
    accepts: Accepts,
    announce: bool,
}

impl Write {
    /// What the client accepts.
    pub fn accepts(&self) -> Accepts {
        self.accepts
    }

    /// Whether the response carries `X-Cache`.
    pub fn announces_status(&self) -> bool {
        self.announce
    }

    /// The tags this write invalidates: its path first.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.tags.iter().map(String::as_str)
    }
}

/// A request the cache does not handle.
#[derive(Debug, Clone, Copy)]
pub struct Pass {
    accepts: Accepts,
    announce: bool,
}

impl Pass {
    /// What the client accepts.
    pub fn accepts(&self) -> Accepts {
        self.accepts
    }

    /// Whether the response carries `X-Cache`.
    pub fn announces_status(&self) -> bool {
        self.announce
    }
}

/// The outcome of [`Cache::lookup`].
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Lookup {
    /// Answer with this; do not call the backend.
    Hit(Reply),
    /// Call the backend; see [`Miss`].
    Miss(Miss),
}

/// A read the backend must answer. Dropping it without [`Miss::complete`]
/// releases the requests waiting for it, which then call the backend themselves.
#[derive(Debug)]
pub struct Miss {
    cache: Cache,
    read: Read,
    status: CacheStatus,
    store: Option<Storing>,
}

#[derive(Debug)]
struct Storing {
    /// The entry's tags, for the shared tier's epochs.
    tags: SmallVec<[String; 2]>,
    stamps: Stamps,
    leading: Option<Leading>,
    remote_epochs: Option<Vec<Vec<u8>>>,
}

impl Cache {
    /// Decide what to do with a request.
    /// `path` and `query` are the request target's, undecoded; of `headers` only
    /// [`Cache::request_headers`] are read.
    pub fn classify(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Action {
        let accepts = Accepts::from_headers(headers);
        let (index, rules, params) = self.rules_for(path);
        if method == Method::GET || method == Method::HEAD {
            let ttl = self.inner.ttls.load().of(index);
            let with_credentials =
                headers.contains_key(AUTHORIZATION) || headers.contains_key(COOKIE);
            if !rules.store
                || ttl.is_zero()
                || (with_credentials && !rules.shared)
                || Directives::parse(headers).no_store
            {
                Counters::add(&self.inner.counters.bypasses, 1);
                self.inner.meters.request(Outcome::Bypass);
                return Action::Pass(Pass {
                    accepts,
                    announce: rules.announce,
                });
            }
            return Action::Read(Read {
                key: cache_key(path, query, &rules.vary, headers),
                route: index,
                path_len: path.len(),
                ttl,
                head: method == Method::HEAD,
                if_none_match: headers.get_all(IF_NONE_MATCH).iter().cloned().collect(),
                accepts,
                vary: Arc::clone(&rules.vary),
                announce: rules.announce,
                only_public: rules.only_public,
            });
        }
        Counters::add(&self.inner.counters.bypasses, 1);
        self.inner.meters.request(Outcome::Bypass);
        // Writes to unlisted paths have nothing to invalidate when those are never cached.
        let invalidates = index.is_some() || rules.store;
        if invalidates
            && [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
        {
            return Action::Write(Write {
                tags: tags_for(path, &rules.invalidates, &params),
                accepts,
                announce: rules.announce,
            });
        }
        Action::Pass(Pass {
            accepts,
            announce: rules.announce,
        })
    }

    /// Change the TTLs while requests flow: checked first (every named route
    /// must be one of the cache's; on an error nothing changes), then swapped
    /// in whole for every request classified after this returns. A shorter TTL
    /// applies at once to what is stored (in memory and in the shared tier); a
    /// longer one to what is stored from now on. A request classified before
    /// finishes under the TTL it was classified with. Each instance applies
    /// its own settings (the shared tier is not told).
    ///
    /// ```
    /// use std::time::Duration;
    /// use edge_cache::{Cache, Route, Ttls};
    ///
    /// let cache = Cache::builder().route(Route::new("/api/items/{id}")).build()?;
    /// cache.reconfigure(&Ttls {
    ///     default: Duration::from_secs(10),
    ///     routes: vec![("/api/items/{id}".to_owned(), Duration::from_secs(60))],
    /// })?;
    /// // Caching off (writes still invalidate):
    /// cache.reconfigure(&Ttls::default())?;
    /// // A route the cache does not have: refused, nothing changes.
    /// let unknown = Ttls { routes: vec![("/nope".to_owned(), Duration::ZERO)], ..Ttls::default() };
    /// assert!(cache.reconfigure(&unknown).is_err());
    /// # Ok::<(), edge_cache::ConfigError>(())
    /// ```
    pub fn reconfigure(&self, ttls: &Ttls) -> Result<(), crate::ConfigError> {
        let inner = &self.inner;
        let mut routes: Vec<Option<Duration>> =
            inner.routes.iter().map(|route| route.rules.ttl).collect();
        for (template, ttl) in &ttls.routes {
            let index = inner
                .routes
                .iter()
                .position(|route| route.template == *template)
                .ok_or_else(|| crate::ConfigError::UnknownRoute(template.clone()))?;
            routes[index] = Some(*ttl);
        }
        let live = LiveTtls {
            default: ttls.default,
            routes: routes.into(),
        };
        if let Some(shared) = &inner.shared {
            shared.keep_epochs_past(live.longest());
        }
        inner.ttls.store(Arc::new(live));
        Ok(())
    }

    /// The request headers [`Cache::classify`] reads: credentials, conditionals,
    /// `Accept-Encoding`, `Cache-Control` and every route's `vary` headers. An
    /// adapter over other HTTP types copies just these.
    pub fn request_headers(&self) -> &[HeaderName] {
        &self.inner.request_headers
    }

    fn rules_for<'a>(
        &'a self,
        path: &'a str,
    ) -> (Option<usize>, &'a Rules, crate::core::template::Params<'a>) {
        for (index, route) in self.inner.routes.iter().enumerate() {
            if let Some(params) = route.path.matches(path) {
                return (Some(index), &route.rules, params);
            }
        }
        (None, &self.inner.unlisted, SmallVec::new())
    }

    /// The tags of a read's entry: its path, then its route's tags.
    fn tags_of(&self, read: &Read) -> SmallVec<[String; 2]> {
        let path = read.path();
        match read.route.and_then(|i| self.inner.routes.get(i)) {
            Some(route) => {
                let params = route.path.matches(path).unwrap_or_default();
                tags_for(path, &route.rules.tags, &params)
            }
            None => SmallVec::from_iter([path.to_owned()]),
        }
    }

    /// Look a read up: in memory, then (when configured) in the shared tier. Concurrent
    /// misses of one key wait for the first one's backend call.
    pub async fn lookup(&self, read: Read) -> Lookup {
        let inner = &self.inner;
        if !self.tiers_ready().await {
            Counters::add(&inner.counters.bypasses, 1);
            inner.meters.request(Outcome::Bypass);
            return Lookup::Miss(self.miss(read, CacheStatus::Bypass, None));
        }
        let now = inner.clock.unix_ms();
        if let Some(reply) = self.memory_hit(&read, now) {
            return Lookup::Hit(reply);
        }
        Counters::add(&inner.counters.misses, 1);
        if read.head {
            // A HEAD response has no body to store; it is served from GET entries only.
            inner.meters.request(Outcome::Miss);
            return Lookup::Miss(self.miss(read, CacheStatus::Miss, None));
        }
        // Responses that must opt in (unlisted paths) are mostly not stored:
        // concurrent misses are not made to wait for one another.
        let join = (!read.only_public).then(|| inner.flights.join(&read.key));
        let leading = match join {
            None => None,
            Some(Join::Leader(leading)) => Some(leading),
            Some(Join::Follower(receiver)) => {
                Counters::add(&inner.counters.coalesced, 1);
                inner.meters.request(Outcome::Coalesced);
                let waited =
                    tokio::time::timeout(inner.limits.follow_timeout, inflight::follow(receiver))
                        .await;
                if let Ok(Some(entry)) = waited
                    && read.finds_fresh(&entry, inner.clock.unix_ms())
                {
                    Counters::add(&inner.counters.hits, 1);
                    return Lookup::Hit(self.render(&entry, &read, CacheStatus::Hit));
                }
                let tags = self.tags_of(&read);
                let stamps = inner.epochs.snapshot(tags.iter().map(String::as_str));
                return Lookup::Miss(self.miss(
                    read,
                    CacheStatus::Miss,
                    Some(Storing {
                        tags,
                        stamps,
                        leading: None,
                        remote_epochs: None,
                    }),
                ));
            }
        };
        // The epochs are read before the backend (or the shared tier) is: an invalidation
        // from here on makes whatever this miss stores stale at once.
        let tags = self.tags_of(&read);
        let stamps = inner.epochs.snapshot(tags.iter().map(String::as_str));
        let remote_epochs = match &inner.shared {
            Some(shared) => match shared.lookup(&read.key, &tags).await {
                Ok((Some(entry), _)) if read.finds_fresh(&entry, inner.clock.unix_ms()) => {
                    let entry = Arc::new(entry);
                    self.keep_in_memory(&read, &entry, stamps);
                    if let Some(leading) = leading {
                        leading.finish(Some(Arc::clone(&entry)));
                    }
                    Counters::add(&inner.counters.hits, 1);
                    let reply = self.render(&entry, &read, CacheStatus::Hit);
                    inner.meters.answered(&reply);
                    return Lookup::Hit(reply);
                }
                Ok((_, epochs)) => Some(epochs),
                Err(error) => {
                    Counters::add(&inner.counters.tier_errors, 1);
                    tracing::warn!(%error, "cache: shared lookup failed; asking the backend");
                    None
                }
            },
            None => None,
        };
        let storing = Storing {
            tags,
            stamps,
            leading,
            remote_epochs,
        };
        inner.meters.request(Outcome::Miss);
        Lookup::Miss(self.miss(read, CacheStatus::Miss, Some(storing)))
    }

    /// The part of [`Cache::lookup`] that needs no waiting: the reply for a
    /// fresh entry in memory (a hit); `None` — nothing counted — when `lookup`
    /// must finish the read (the shared tier, a concurrent miss, the backend). Lets a
    /// middleware answer hits without a future of its own.
    pub fn lookup_now(&self, read: &Read) -> Option<Reply> {
        if !self.memory_usable() {
            return None;
        }
        self.memory_hit(read, self.inner.clock.unix_ms())
    }

    fn miss(&self, read: Read, status: CacheStatus, store: Option<Storing>) -> Miss {
        Miss {
            cache: self.clone(),
            read,
            status,
            store,
        }
    }

    fn memory_hit(&self, read: &Read, now: u64) -> Option<Reply> {
        let inner = &self.inner;
        let stored = inner.memory.get(&read.key)?;
        if read.finds_fresh(&stored.entry, now) && inner.epochs.is_current(&stored.stamps) {
            Counters::add(&inner.counters.hits, 1);
            let reply = stored
                .entry
                .render(&read.if_none_match, read.accepts, now, CacheStatus::Hit)
                .announced(read.announce);
            inner.meters.answered(&reply);
            return Some(reply);
        }
        inner.memory.remove(&read.key);
        None
    }

    fn render(&self, entry: &Arc<Entry>, read: &Read, status: CacheStatus) -> Reply {
        entry
            .render(
                &read.if_none_match,
                read.accepts,
                self.inner.clock.unix_ms(),
                status,
            )
            .announced(read.announce)
    }

    fn keep_in_memory(&self, read: &Read, entry: &Arc<Entry>, stamps: Stamps) {
        if self.memory_usable() {
            let stored = Stored::new(Arc::clone(entry), stamps, read.key.len());
            self.inner.memory.insert(read.key.clone(), stored);
        }
    }

    /// Whether the lookup may use the tiers: always without a shared tier; with one only
    /// while this instance hears other instances' invalidations.
    async fn tiers_ready(&self) -> bool {
        if let Some(shared) = &self.inner.shared {
            return shared.ready(&self.inner).await;
        }
        true
    }

    fn memory_usable(&self) -> bool {
        if let Some(shared) = &self.inner.shared {
            return shared.is_subscribed();
        }
        true
    }

    /// After the backend answered a write with `status`: invalidate its tags here
    /// at once (no later read on this instance sees the old entry) and, with a shared tier,
    /// on every instance. Client errors (4xx) changed nothing and invalidate nothing.
    pub async fn after_write(&self, write: &Write, status: StatusCode) {
        if status.is_client_error() {
            return;
        }
        self.invalidate(write.tags()).await;
    }

    /// Invalidate every entry carrying one of `tags` (paths are tags), here and,
    /// with a shared tier, everywhere. `*` invalidates everything.
    pub async fn invalidate<'a>(&self, tags: impl IntoIterator<Item = &'a str>) {
        let tags: SmallVec<[&str; 4]> = tags.into_iter().collect();
        for tag in &tags {
            if *tag == "*" {
                self.inner.epochs.bump_all();
            } else {
                self.inner.epochs.bump(tag);
            }
        }
        Counters::add(&self.inner.counters.invalidations, tags.len() as u64);
        crate::metrics::invalidated(tags.len() as u64, false);
        if let Some(shared) = &self.inner.shared {
            shared.publish(&self.inner, &tags).await;
        }
    }

    /// Invalidate everything, here and (with a shared tier) everywhere.
    pub async fn clear(&self) {
        self.invalidate(["*"]).await;
        self.inner.memory.clear();
    }

    /// Whether an uncached response should be buffered to be gzipped: the client
    /// accepts gzip, the type is text-like, it is not encoded yet, and its known
    /// length is between the threshold and 8 MiB. Streams are never buffered.
    pub fn should_compress(
        &self,
        accepts: Accepts,
        status: StatusCode,
        headers: &HeaderMap,
        body_len: Option<u64>,
    ) -> bool {
        self.may_compress(accepts, status, body_len)
            && !headers.contains_key(CONTENT_ENCODING)
            && encoding::compressible(headers)
    }

    /// The part of [`Cache::should_compress`] that needs no headers: when it is
    /// false, an adapter over other header types need not convert them to ask.
    pub fn may_compress(
        &self,
        accepts: Accepts,
        status: StatusCode,
        body_len: Option<u64>,
    ) -> bool {
        let limits = &self.inner.limits;
        limits.compress_uncached
            && accepts.gzip
            && status != StatusCode::NO_CONTENT
            && status != StatusCode::NOT_MODIFIED
            && body_len
                .is_some_and(|n| n >= limits.compress_min as u64 && n <= limits.compress_max as u64)
    }

    /// gzip an uncached body (fast level) when that makes it smaller, setting
    /// `Content-Encoding` and `Vary: Accept-Encoding`; returns the body to send.
    pub fn compress(&self, headers: &mut HeaderMap, body: Bytes) -> Bytes {
        match encoding::gzip(&body, self.inner.limits.fly_level) {
            Some(packed) => {
                headers.insert(CONTENT_ENCODING, GZIP);
                headers.remove(CONTENT_LENGTH);
                add_vary_accept_encoding(headers);
                packed
            }
            None => body,
        }
    }

    /// Counters and the in-process tier's size.
    pub fn stats(&self) -> CacheStats {
        let (entries, bytes) = self.inner.memory.usage();
        self.inner.counters.snapshot(entries, bytes)
    }
}

fn add_vary_accept_encoding(headers: &mut HeaderMap) {
    let present = headers.get_all(VARY).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|n| n.trim().eq_ignore_ascii_case("accept-encoding") || n.trim() == "*")
        })
    });
    if !present {
        headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// Headers a stored response does not keep: the cache sets them itself, they
/// belong to one connection, or they describe one response only.
const NOT_STORED: [HeaderName; 8] = [
    ETAG,
    VARY,
    CONTENT_LENGTH,
    TRANSFER_ENCODING,
    CONNECTION,
    DATE,
    AGE,
    X_CACHE,
];

impl Miss {
    /// `MISS`, or `BYPASS` when the cache cannot be used right now (its shared
    /// tier is unreachable): the `X-Cache` value of the backend's answer.
    pub fn status(&self) -> CacheStatus {
        self.status
    }

    /// What the client accepts.
    pub fn accepts(&self) -> Accepts {
        self.read.accepts
    }

    /// Whether the response carries `X-Cache` and `Age`.
    pub fn announces_status(&self) -> bool {
        self.read.announce
    }

    /// Whether the backend's response (its head and the body length, when known)
    /// can be stored; if so, read the body and pass it to [`Miss::complete`].
    /// Only 200s with a known length up to the entry limit qualify, without
    /// `Set-Cookie`, `no-store`/`private`/`no-cache`, a content encoding, or a
    /// `Vary` on headers the route does not declare.
    pub fn wants(&self, status: StatusCode, headers: &HeaderMap, body_len: Option<u64>) -> bool {
        let directives = || Directives::parse(headers);
        self.store.is_some()
            && status == StatusCode::OK
            && body_len.is_some_and(|n| n <= self.cache.inner.limits.max_entry_bytes as u64)
            && !headers.contains_key(SET_COOKIE)
            && !headers.contains_key(CONTENT_ENCODING)
            && (!self.read.only_public || directives().public)
            && !directives().shared_ttl(self.read.ttl).is_zero()
            && self.vary_is_declared(headers)
    }

    fn vary_is_declared(&self, headers: &HeaderMap) -> bool {
        headers.get_all(VARY).iter().all(|value| {
            value.to_str().is_ok_and(|value| {
                value.split(',').map(str::trim).all(|name| {
                    name.is_empty()
                        || name.eq_ignore_ascii_case("accept-encoding")
                        || self
                            .read
                            .vary
                            .iter()
                            .any(|v| v.as_str().eq_ignore_ascii_case(name))
                })
            })
        })
    }

    /// Store the backend's 200 (when [`Miss::wants`] it) and produce the answer:
    /// with its ETag, gzip-encoded when accepted and worth it, or a 304 when the
    /// request's `If-None-Match` matches. The compressed form is made here, once.
    pub async fn complete(mut self, status: StatusCode, headers: HeaderMap, body: Bytes) -> Reply {
        self.status.record_in_span();
        let inner = Arc::clone(&self.cache.inner);
        let now = inner.clock.unix_ms();
        let ttl = Directives::parse(&headers).shared_ttl(self.read.ttl);
        let storable = self.wants(status, &headers, Some(body.len() as u64));
        let entry = Arc::new(self.entry(status, &headers, body, now, ttl));
        let reply = self.cache.render(&entry, &self.read, self.status);
        let Some(storing) = self.store.take().filter(|_| storable) else {
            return reply;
        };
        self.cache
            .keep_in_memory(&self.read, &entry, storing.stamps);
        if let Some(leading) = storing.leading {
            leading.finish(Some(Arc::clone(&entry)));
        }
        Counters::add(&inner.counters.stores, 1);
        if let (Some(shared), Some(epochs)) = (&inner.shared, storing.remote_epochs)
            && let Err(error) = shared
                .store(&self.read.key, &storing.tags, &epochs, &entry, ttl)
                .await
        {
            Counters::add(&inner.counters.tier_errors, 1);
            tracing::warn!(%error, "cache: shared store failed");
        }
        reply
    }

    fn entry(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
        now: u64,
        ttl: Duration,
    ) -> Entry {
        let limits = &self.cache.inner.limits;
        let etag = headers
            .get(ETAG)
            .filter(|tag| !tag.as_bytes().starts_with(b"W/") && tag.as_bytes().starts_with(b"\""))
            .cloned()
            .unwrap_or_else(|| etag_of(&body));
        let gzip = (body.len() >= limits.compress_min && encoding::compressible(headers))
            .then(|| encoding::gzip(&body, limits.store_level))
            .flatten();
        let mut names: Vec<String> = self
            .read
            .vary
            .iter()
            .map(|n| n.as_str().to_owned())
            .collect();
        for value in headers.get_all(VARY) {
            for name in value.to_str().unwrap_or("").split(',').map(str::trim) {
                if !name.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    names.push(name.to_ascii_lowercase());
                }
            }
        }
        if gzip.is_some()
            && !names
                .iter()
                .any(|n| n.eq_ignore_ascii_case("accept-encoding"))
        {
            names.push("accept-encoding".to_owned());
        }
        let vary = (!names.is_empty())
            .then(|| HeaderValue::from_str(&names.join(", ")).ok())
            .flatten();
        let kept = headers
            .iter()
            .filter(|(name, _)| !NOT_STORED.contains(name) && name.as_str() != "x-request-id")
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        Entry {
            status,
            headers: kept,
            etag,
            vary,
            body,
            gzip,
            stored_at_ms: now,
            expires_at_ms: now.saturating_add(ttl_ms),
            prepared: std::sync::OnceLock::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Route;

    fn action(cache: &Cache, method: &Method, path: &str) -> &'static str {
        match cache.classify(method, path, None, &HeaderMap::new()) {
            Action::Read(_) => "read",
            Action::Write(_) => "write",
            Action::Pass(_) => "pass",
        }
    }

    #[test]
    fn only_listed_paths_are_read_and_invalidated_when_unlisted_ones_are_not_cached() {
        let cache = Cache::builder()
            .route(Route::new("/items/{id}"))
            .route(Route::new("/me").no_store())
            .unlisted(crate::Unlisted::Never)
            .build()
            .unwrap();
        assert_eq!(action(&cache, &Method::GET, "/items/1"), "read");
        assert_eq!(action(&cache, &Method::PUT, "/items/1"), "write");
        assert_eq!(action(&cache, &Method::GET, "/me"), "pass");
        assert_eq!(action(&cache, &Method::POST, "/me"), "write");
        assert_eq!(action(&cache, &Method::GET, "/login"), "pass");
        assert_eq!(action(&cache, &Method::POST, "/login"), "pass");
        assert_eq!(action(&cache, &Method::OPTIONS, "/items/1"), "pass");

        let everything = Cache::builder()
            .unlisted(crate::Unlisted::All)
            .build()
            .unwrap();
        assert_eq!(action(&everything, &Method::GET, "/login"), "read");
        assert_eq!(action(&everything, &Method::POST, "/login"), "write");

        // The default reads unlisted GETs (a response may opt in) and so
        // invalidates after writes to them.
        let default = Cache::builder().build().unwrap();
        assert_eq!(action(&default, &Method::GET, "/login"), "read");
        assert_eq!(action(&default, &Method::POST, "/login"), "write");
    }

    #[test]
    fn compression_needs_gzip_accepted_a_body_above_the_threshold_and_a_text_type() {
        let off = Cache::builder().build().unwrap();
        assert!(
            !off.may_compress(Accepts { gzip: true }, StatusCode::OK, Some(4096)),
            "on-the-fly compression is opt-in"
        );
        let cache = Cache::builder().compress_uncached(true).build().unwrap();
        let (gzip, none) = (Accepts { gzip: true }, Accepts { gzip: false });
        let json = HeaderMap::from_iter([(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )]);
        let ok = StatusCode::OK;
        assert!(cache.may_compress(gzip, ok, Some(4096)));
        assert!(cache.should_compress(gzip, ok, &json, Some(4096)));
        for (accepts, status, length) in [
            (none, ok, Some(4096)),
            (gzip, ok, Some(100)),
            (gzip, ok, None),
            (gzip, StatusCode::NOT_MODIFIED, Some(4096)),
        ] {
            assert!(!cache.may_compress(accepts, status, length));
            assert!(!cache.should_compress(accepts, status, &json, length));
        }
        let mut encoded = json;
        encoded.insert(CONTENT_ENCODING, HeaderValue::from_static("br"));
        assert!(!cache.should_compress(gzip, ok, &encoded, Some(4096)));
        assert!(!cache.should_compress(gzip, ok, &HeaderMap::new(), Some(4096)));
    }

    #[test]
    fn lookup_now_answers_fresh_memory_hits_and_counts_nothing_else() {
        use futures_util::FutureExt;
        let cache = Cache::builder()
            .route(Route::new("/items/{id}"))
            .build()
            .unwrap();
        let read = || match cache.classify(&Method::GET, "/items/1", None, &HeaderMap::new()) {
            Action::Read(read) => read,
            _ => panic!("not a read"),
        };
        assert!(cache.lookup_now(&read()).is_none());
        assert_eq!((cache.stats().hits, cache.stats().misses), (0, 0));
        let Some(Lookup::Miss(miss)) = cache.lookup(read()).now_or_never() else {
            panic!("not a miss");
        };
        miss.complete(StatusCode::OK, HeaderMap::new(), Bytes::from_static(b"one"))
            .now_or_never()
            .unwrap();
        let reply = cache.lookup_now(&read()).expect("a hit");
        assert_eq!(
            (reply.body(), reply.cache_status()),
            (Bytes::from_static(b"one"), CacheStatus::Hit)
        );
        assert_eq!((cache.stats().hits, cache.stats().misses), (1, 1));
        // Invalidated: no answer now, and `lookup` goes to the backend.
        cache.invalidate(["/items/1"]).now_or_never().unwrap();
        assert!(cache.lookup_now(&read()).is_none());
        assert!(matches!(
            cache.lookup(read()).now_or_never(),
            Some(Lookup::Miss(_))
        ));
    }
}
