//! What the cache answers with, and how it labels responses.

use std::any::Any;
use std::sync::Arc;

use bytes::Bytes;
use http::header::AGE;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::entry::{Entry, Variant};

/// The `X-Cache` response header.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// How a response was served: the `X-Cache` header, the `cache` span field
/// ([`SPAN_FIELD`](crate::SPAN_FIELD)), and a response extension for later layers
/// (an access log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheStatus {
    /// Served from the cache without calling the backend.
    Hit,
    /// Looked up, not found (or expired, or invalidated): the backend answered.
    Miss,
    /// Not a cacheable request (a write, an opted-out route, `no-store`,
    /// credentials on a route not shared between users, the cache unavailable).
    Bypass,
}

impl CacheStatus {
    /// `HIT`, `MISS` or `BYPASS`: the `X-Cache` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Bypass => "BYPASS",
        }
    }

    /// `hit`, `miss` or `bypass`: the span field and access-log value.
    pub const fn as_lowercase(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Bypass => "bypass",
        }
    }

    /// The `X-Cache` header value.
    pub const fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.as_str())
    }

    /// Record this status in the current `tracing` span's `cache` field (a no-op
    /// when the span does not declare it).
    pub fn record_in_span(self) {
        tracing::Span::current().record(crate::SPAN_FIELD, self.as_lowercase());
    }
}

impl std::fmt::Display for CacheStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A complete response produced by the cache: a hit, a stored miss, or a 304.
/// It refers to the stored entry: [`Reply::headers`] renders the header lines
/// (`ETag`, `Vary`, `Content-Encoding`, `Age` on hits, `X-Cache` and the stored
/// ones); the adapter sets `Content-Length` from the body.
#[derive(Debug, Clone)]
pub struct Reply {
    entry: Arc<Entry>,
    variant: Variant,
    age_secs: Option<u64>,
    cache: CacheStatus,
    announce: bool,
}

impl Reply {
    pub(crate) fn stored(
        entry: Arc<Entry>,
        variant: Variant,
        age_secs: Option<u64>,
        cache: CacheStatus,
    ) -> Reply {
        Reply {
            entry,
            variant,
            age_secs,
            cache,
            announce: true,
        }
    }

    /// 200 (the stored status), or 304 when the client's `If-None-Match` matched.
    pub fn status(&self) -> StatusCode {
        self.entry.status_of(self.variant)
    }

    /// The body: empty for a 304; gzip-encoded when `Content-Encoding` says so.
    /// A reference count, not a copy.
    pub fn body(&self) -> Bytes {
        self.entry.body_of(self.variant)
    }

    /// How it was served.
    pub fn cache_status(&self) -> CacheStatus {
        self.cache
    }

    /// The `Age` in seconds of a hit (`None` for a reply the backend just made).
    pub fn age_secs(&self) -> Option<u64> {
        self.age_secs
    }

    /// The same reply, with `Age` and `X-Cache` only when `announce`.
    pub(crate) fn announced(mut self, announce: bool) -> Reply {
        self.announce = announce;
        self
    }

    /// Whether the reply carries `Age` and `X-Cache` (not on routes shared
    /// between callers; see [`Route::share_authorized`](crate::Route::share_authorized)).
    pub fn announces_status(&self) -> bool {
        self.announce
    }

    /// Every response header line.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = self.entry.stored_headers(self.variant);
        if !self.announce {
            return headers;
        }
        if let Some(age) = self.age_secs {
            headers.insert(AGE, HeaderValue::from(age));
        }
        headers.insert(X_CACHE, self.cache.header_value());
        headers
    }

    /// For the actix adapter, which speaks other header types: the lines that
    /// are the same for every reply from this entry and variant — all but `Age`
    /// and `X-Cache` — converted by `convert` the first time and kept with the
    /// entry, so a hit clones them instead of converting. `None` (without calling
    /// `convert`) when a conversion of another type was kept first.
    #[cfg_attr(not(feature = "actix"), allow(dead_code))]
    pub(crate) fn converted_headers<T: Any + Send + Sync>(
        &self,
        convert: impl FnOnce(&HeaderMap) -> T,
    ) -> Option<&T> {
        self.entry.adapted(self.variant, convert)
    }
}
