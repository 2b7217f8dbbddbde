//! A stored response: its bytes (and their gzip form), ETag, selected headers and
//! lifetime; how it is rendered for a request; and its encoding in the Redis tier.

use std::sync::OnceLock;

use bytes::Bytes;
use http::header::{
    AGE, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LOCATION, ETAG, EXPIRES, HeaderName, VARY,
};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::conditional::{none_match_opaque, opaque_tag};
use super::encoding::{Accepts, GZIP};
use super::reply::{CacheStatus, Reply, X_CACHE};

/// A complete stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prepared {
    ok: HeaderMap,
    not_modified: HeaderMap,
    opaque: Vec<u8>,
}

/// Per-entry bookkeeping counted against the byte budget besides its bytes.
const OVERHEAD: usize = 160;

impl Entry {
    /// The bytes this entry holds, for the memory bound.
    pub(crate) fn size(&self) -> usize {
        OVERHEAD
            + self.body.len()
            + self.gzip.as_ref().map_or(0, Bytes::len)
            + self.etag.len()
            + self.vary.as_ref().map_or(0, HeaderValue::len)
            + self
                .headers
                .iter()
                .map(|(n, v)| n.as_str().len() + v.len() + 16)
                .sum::<usize>()
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
            }
        })
    }

    /// The response for a request that sent `if_none_match` and accepts `accepts`.
    pub(crate) fn render(
        &self,
        if_none_match: &[HeaderValue],
        accepts: Accepts,
        now_ms: u64,
        cache: CacheStatus,
    ) -> Reply {
        let prepared = self.prepared();
        let revalidated = none_match_opaque(if_none_match.iter(), &prepared.opaque);
        let mut headers = if revalidated {
            prepared.not_modified.clone()
        } else {
            prepared.ok.clone()
        };
        if cache == CacheStatus::Hit {
            let age = now_ms.saturating_sub(self.stored_at_ms) / 1000;
            headers.insert(AGE, HeaderValue::from(age));
        }
        headers.insert(X_CACHE, cache.header_value());
        if revalidated {
            return Reply {
                status: StatusCode::NOT_MODIFIED,
                headers,
                body: Bytes::new(),
                cache,
            };
        }
        let body = match (&self.gzip, accepts.gzip) {
            (Some(gzip), true) => {
                headers.insert(CONTENT_ENCODING, GZIP);
                gzip.clone()
            }
            _ => self.body.clone(),
        };
        Reply {
            status: self.status,
            headers,
            body,
            cache,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
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
        let entry = sample();
        let gzip = Accepts { gzip: true };
        let full = entry.render(&[], Accepts::default(), 3_500, CacheStatus::Hit);
        assert_eq!(full.status, StatusCode::OK);
        assert_eq!(full.body, "hello");
        assert_eq!(full.headers[AGE], "2");
        assert_eq!(full.headers[X_CACHE], "HIT");
        assert!(!full.headers.contains_key(CONTENT_ENCODING));
        let packed = entry.render(&[], gzip, 3_500, CacheStatus::Miss);
        assert_eq!(packed.body, "zz");
        assert_eq!(packed.headers[CONTENT_ENCODING], "gzip");
        assert!(!packed.headers.contains_key(AGE));
        let not_modified = entry.render(
            std::slice::from_ref(&entry.etag),
            gzip,
            3_500,
            CacheStatus::Hit,
        );
        assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
        assert!(not_modified.body.is_empty());
        assert_eq!(not_modified.headers[ETAG], entry.etag);
        assert_eq!(not_modified.headers[CACHE_CONTROL], "max-age=60");
        assert!(!not_modified.headers.contains_key(CONTENT_TYPE));
    }
}
