//! What the cache answers with, and how it labels responses.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

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
/// `headers` already carry `ETag`, `Vary`, `Content-Encoding`, `Age` (hits) and
/// `X-Cache`; the adapter sets `Content-Length` from `body`.
#[derive(Debug, Clone)]
pub struct Reply {
    /// 200, or 304 when the client's `If-None-Match` matched.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body: empty for a 304; gzip-encoded when `Content-Encoding` says so.
    pub body: Bytes,
    /// How it was served.
    pub cache: CacheStatus,
}
