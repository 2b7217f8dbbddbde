//! A stored response: its bytes (and their gzip form), ETag, selected headers and
//! lifetime; how it is rendered for a request; and its encoding in the Redis tier.

use bytes::{Bytes, BytesMut};
use http::header::{
    AGE, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LOCATION, ETAG, EXPIRES, HeaderName, VARY,
};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::conditional::none_match;
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

    /// The response for a request that sent `if_none_match` and accepts `accepts`.
    pub(crate) fn render(
        &self,
        if_none_match: &[HeaderValue],
        accepts: Accepts,
        now_ms: u64,
        cache: CacheStatus,
    ) -> Reply {
        let mut headers = HeaderMap::with_capacity(self.headers.len() + 6);
        headers.insert(ETAG, self.etag.clone());
        if let Some(vary) = &self.vary {
            headers.insert(VARY, vary.clone());
        }
        if cache == CacheStatus::Hit {
            let age = now_ms.saturating_sub(self.stored_at_ms) / 1000;
            headers.insert(AGE, HeaderValue::from(age));
        }
        headers.insert(X_CACHE, cache.header_value());
        if none_match(if_none_match.iter(), &self.etag) {
            // RFC 9110 §15.4.5: a 304 repeats the validators and caching headers only.
            for (name, value) in &self.headers {
                if [CACHE_CONTROL, CONTENT_LOCATION, EXPIRES].contains(name) {
                    headers.append(name, value.clone());
                }
            }
            return Reply {
                status: StatusCode::NOT_MODIFIED,
                headers,
                body: Bytes::new(),
                cache,
            };
        }
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
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

    /// The Redis tier's binary form.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = BytesMut::with_capacity(self.size() + 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.status.as_u16().to_be_bytes());
        out.extend_from_slice(&self.stored_at_ms.to_be_bytes());
        out.extend_from_slice(&self.expires_at_ms.to_be_bytes());
        put(&mut out, self.etag.as_bytes());
        put_opt(&mut out, self.vary.as_ref().map(HeaderValue::as_bytes));
        let count = u16::try_from(self.headers.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for (name, value) in self.headers.iter().take(usize::from(count)) {
            put(&mut out, name.as_str().as_bytes());
            put(&mut out, value.as_bytes());
        }
        put(&mut out, &self.body);
        put_opt(&mut out, self.gzip.as_deref());
        out.to_vec()
    }

    /// The entry [`Entry::encode`] wrote; `None` for anything else.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Entry> {
        let mut r = Reader(bytes);
        if r.take(MAGIC.len())? != MAGIC {
            return None;
        }
        let status = StatusCode::from_u16(u16::from_be_bytes(r.array()?)).ok()?;
        let stored_at_ms = u64::from_be_bytes(r.array()?);
        let expires_at_ms = u64::from_be_bytes(r.array()?);
        let etag = HeaderValue::from_bytes(r.chunk()?).ok()?;
        let vary = match r.flag()? {
            true => Some(HeaderValue::from_bytes(r.chunk()?).ok()?),
            false => None,
        };
        let count = u16::from_be_bytes(r.array()?);
        let mut headers = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let name = HeaderName::from_bytes(r.chunk()?).ok()?;
            let value = HeaderValue::from_bytes(r.chunk()?).ok()?;
            headers.push((name, value));
        }
        let body = Bytes::copy_from_slice(r.chunk()?);
        let gzip = match r.flag()? {
            true => Some(Bytes::copy_from_slice(r.chunk()?)),
            false => None,
        };
        r.0.is_empty().then_some(Entry {
            status,
            headers,
            etag,
            vary,
            body,
            gzip,
            stored_at_ms,
            expires_at_ms,
        })
    }
}

const MAGIC: &[u8] = b"EC1";

fn put(out: &mut BytesMut, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&bytes[..len as usize]);
}

fn put_opt(out: &mut BytesMut, bytes: Option<&[u8]>) {
    match bytes {
        Some(bytes) => {
            out.extend_from_slice(&[1]);
            put(out, bytes);
        }
        None => out.extend_from_slice(&[0]),
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn chunk(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(self.array()?);
        self.take(usize::try_from(len).ok()?)
    }

    fn flag(&mut self) -> Option<bool> {
        match self.take(1)? {
            [0] => Some(false),
            [1] => Some(true),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::CONTENT_TYPE;

    fn sample() -> Entry {
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
        }
    }

    #[test]
    fn entries_survive_the_redis_encoding_and_garbage_is_refused() {
        let entry = sample();
        let bytes = entry.encode();
        assert_eq!(Entry::decode(&bytes), Some(entry.clone()));
        for cut in 0..bytes.len() {
            assert_eq!(Entry::decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut longer = bytes;
        longer.push(0);
        assert_eq!(Entry::decode(&longer), None);
        let plain = Entry {
            vary: None,
            gzip: None,
            ..entry
        };
        assert_eq!(Entry::decode(&plain.encode()), Some(plain));
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
