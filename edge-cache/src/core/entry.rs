//! A stored response: its bytes (and their gzip form), ETag, selected headers and
//! lifetime; how it is rendered for a request; and its encoding in the Redis tier.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LOCATION, ETAG, EXPIRES, HeaderName, VARY,
};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::conditional::{none_match_opaque, opaque_tag};
use super::encoding::{Accepts, GZIP};
use super::reply::{CacheStatus, Reply};

/// A complete stored response.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) status: StatusCode,
    /// Stored headers, without the ones the cache sets itself (ETag, Vary,
    /// Content-Encoding, Content-Length) and hop-by-hop ones.
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) etag: HeaderValue,
    pub(crate) vary: Option<HeaderValue>,
    pub(crate) body: Bytes,
    pub(crate) gzip: Option<Bytes>,
    pub(crate) stored_at_ms: u64,
    pub(crate) expires_at_ms: u64,
    /// Header maps ready to clone, made on first use.
    pub(crate) prepared: OnceLock<Prepared>,
}

/// What every hit of an entry starts from.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    ok: HeaderMap,
    not_modified: HeaderMap,
    opaque: Vec<u8>,
    adapted: Adapted,
}

/// Which of an entry's three header sets a reply carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// 200 with the identity body.
    Identity = 0,
    /// 200 with the gzip body.
    Gzip = 1,
    /// 304: validators and caching headers only.
    NotModified = 2,
}

/// An adapter's own rendering of each [`Variant`]'s headers (e.g. in another
/// `http` version's types), made on first use and kept with the entry.
#[derive(Default)]
struct Adapted([OnceLock<Box<dyn Any + Send + Sync>>; 3]);

impl std::fmt::Debug for Adapted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Adapted")
    }
}

impl Clone for Adapted {
    /// A copy starts without renderings: they are caches, made again on demand.
    fn clone(&self) -> Self {
        Adapted::default()
    }
}

/// Per-entry bookkeeping counted against the byte budget besides its bytes.
const OVERHEAD: usize = 160;

impl Entry {
    /// The bytes this entry holds, for the memory bound. Header lines count
    /// twice: once as stored, once more for an adapter's rendering of them.
    pub(crate) fn size(&self) -> usize {
        OVERHEAD
            + self.body.len()
            + self.gzip.as_ref().map_or(0, Bytes::len)
            + 2 * (self.etag.len()
                + self.vary.as_ref().map_or(0, HeaderValue::len)
                + self
                    .headers
                    .iter()
                    .map(|(n, v)| n.as_str().len() + v.len() + 16)
                    .sum::<usize>())
    }

    pub(crate) fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms < self.expires_at_ms
    }

    fn prepared(&self) -> &Prepared {
        self.prepared.get_or_init(|| {
            let mut ok = HeaderMap::with_capacity(self.headers.len() + 5);
            let mut not_modified = HeaderMap::with_capacity(6);
            for map in [&mut ok, &mut not_modified] {
                map.insert(ETAG, self.etag.clone());
                if let Some(vary) = &self.vary {
                    map.insert(VARY, vary.clone());
                }
            }
            for (name, value) in &self.headers {
                ok.append(name, value.clone());
                // RFC 9110 §15.4.5: a 304 repeats the validators and caching headers only.
                if [CACHE_CONTROL, CONTENT_LOCATION, EXPIRES].contains(name) {
                    not_modified.append(name, value.clone());
                }
            }
            let opaque = opaque_tag(self.etag.as_bytes())
                .unwrap_or_default()
                .to_vec();
            Prepared {
                ok,
                not_modified,
                opaque,
                adapted: Adapted::default(),
            }
        })
    }

    /// Which variant answers a request that sent `if_none_match` and accepts
    /// `accepts`.
    pub(crate) fn variant(&self, if_none_match: &[HeaderValue], accepts: Accepts) -> Variant {
        if none_match_opaque(if_none_match.iter(), &self.prepared().opaque) {
            Variant::NotModified
        } else if self.gzip.is_some() && accepts.gzip {
            Variant::Gzip
        } else {
            Variant::Identity
        }
    }

    /// The status of `variant`.
    pub(crate) fn status_of(&self, variant: Variant) -> StatusCode {
        match variant {
            Variant::NotModified => StatusCode::NOT_MODIFIED,
            Variant::Identity | Variant::Gzip => self.status,
        }
    }

    /// The body of `variant`: empty for a 304.
    pub(crate) fn body_of(&self, variant: Variant) -> Bytes {
        match (variant, &self.gzip) {
            (Variant::NotModified, _) => Bytes::new(),
            (Variant::Gzip, Some(gzip)) => gzip.clone(),
            _ => self.body.clone(),
        }
    }

    /// The stored lines of `variant` (`ETag`, `Vary`, the stored headers,
    /// `Content-Encoding`), without the per-reply `Age` and `X-Cache`.
    pub(crate) fn stored_headers(&self, variant: Variant) -> HeaderMap {
        let prepared = self.prepared();
        match variant {
            Variant::NotModified => prepared.not_modified.clone(),
            Variant::Identity => prepared.ok.clone(),
            Variant::Gzip => {
                let mut headers = prepared.ok.clone();
                headers.insert(CONTENT_ENCODING, GZIP);
                headers
            }
        }
    }

    /// An adapter's rendering of `variant`'s stored lines, made by `render` the
    /// first time and kept; `None` when another type was kept there first.
    pub(crate) fn adapted<T: Any + Send + Sync>(
        &self,
        variant: Variant,
        render: impl FnOnce(&HeaderMap) -> T,
    ) -> Option<&T> {
        self.prepared().adapted.0[variant as usize]
            .get_or_init(|| Box::new(render(&self.stored_headers(variant))))
            .downcast_ref()
    }

    /// The complete response for a request that sent `if_none_match` and
    /// accepts `accepts`.
    pub(crate) fn render(
        self: &Arc<Self>,
        if_none_match: &[HeaderValue],
        accepts: Accepts,
        now_ms: u64,
        cache: CacheStatus,
    ) -> Reply {
        let variant = self.variant(if_none_match, accepts);
        let age_secs =
            (cache == CacheStatus::Hit).then(|| now_ms.saturating_sub(self.stored_at_ms) / 1000);
        Reply::stored(Arc::clone(self), variant, age_secs, cache)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// What an entry stores, to compare (the renderings made from it are not).
    pub(crate) type Fields = (
        StatusCode,
        Vec<(HeaderName, HeaderValue)>,
        HeaderValue,
        Option<HeaderValue>,
        Bytes,
        Option<Bytes>,
        u64,
        u64,
    );

    pub(crate) fn fields(entry: Entry) -> Fields {
        (
            entry.status,
            entry.headers,
            entry.etag,
            entry.vary,
            entry.body,
            entry.gzip,
            entry.stored_at_ms,
            entry.expires_at_ms,
        )
    }
    use http::header::CONTENT_TYPE;

    pub(crate) fn sample() -> Entry {
        Entry {
            status: StatusCode::OK,
            headers: vec![
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (CACHE_CONTROL, HeaderValue::from_static("max-age=60")),
            ],
            etag: HeaderValue::from_static("\"5-1\""),
            vary: Some(HeaderValue::from_static("accept-encoding")),
            body: Bytes::from_static(b"hello"),
            gzip: Some(Bytes::from_static(b"zz")),
            stored_at_ms: 1_000,
            expires_at_ms: 61_000,
            prepared: OnceLock::new(),
        }
    }

    #[test]
    fn rendering_picks_the_encoding_and_answers_304() {
        use super::super::reply::X_CACHE;
        use http::header::AGE;
        let entry = Arc::new(sample());
        let gzip = Accepts { gzip: true };
        let full = entry.render(&[], Accepts::default(), 3_500, CacheStatus::Hit);
        assert_eq!(full.status(), StatusCode::OK);
        assert_eq!(full.body(), "hello");
        assert_eq!(full.headers()[AGE], "2");
        assert_eq!(full.headers()[X_CACHE], "HIT");
        assert!(!full.headers().contains_key(CONTENT_ENCODING));
        let packed = entry.render(&[], gzip, 3_500, CacheStatus::Miss);
        assert_eq!(packed.body(), "zz");
        assert_eq!(packed.headers()[CONTENT_ENCODING], "gzip");
        assert!(!packed.headers().contains_key(AGE));
        let not_modified = entry.render(
            std::slice::from_ref(&entry.etag),
            gzip,
            3_500,
            CacheStatus::Hit,
        );
        assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
        assert!(not_modified.body().is_empty());
        assert_eq!(not_modified.headers()[ETAG], entry.etag);
        assert_eq!(not_modified.headers()[CACHE_CONTROL], "max-age=60");
        assert!(!not_modified.headers().contains_key(CONTENT_TYPE));
    }

    #[test]
    fn adapted_renderings_are_made_once_per_variant() {
        let entry = Arc::new(sample());
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let count = |headers: &HeaderMap| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            headers.len()
        };
        for _ in 0..3 {
            assert_eq!(entry.adapted(Variant::Identity, count), Some(&4));
            assert_eq!(entry.adapted(Variant::Gzip, count), Some(&5));
            assert_eq!(entry.adapted(Variant::NotModified, count), Some(&3));
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 3);
        // Another type than the one kept: no rendering, no panic.
        assert_eq!(entry.adapted(Variant::Identity, |_| "text"), None);
        // A clone starts empty, with the same fields.
        let copy = Entry::clone(&entry);
        assert_eq!(fields(copy.clone()), fields(Entry::clone(&entry)));
        assert_eq!(copy.adapted(Variant::Identity, |_| "text"), Some(&"text"));
    }
}
