//! The shared tier's binary form of an [`Entry`]: versioned, length-prefixed,
//! and refused whole when anything is off.

use bytes::{Bytes, BytesMut};
use http::header::HeaderName;
use http::{HeaderValue, StatusCode};

use super::entry::Entry;

impl Entry {
    /// The shared tier's binary form.
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
            prepared: std::sync::OnceLock::new(),
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
    use crate::core::entry::tests::{fields, sample};

    #[test]
    fn entries_survive_the_redis_encoding_and_garbage_is_refused() {
        let entry = sample();
        let bytes = entry.encode();
        assert_eq!(
            Entry::decode(&bytes).map(fields),
            Some(fields(entry.clone()))
        );
        for cut in 0..bytes.len() {
            assert!(Entry::decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut longer = bytes;
        longer.push(0);
        assert!(Entry::decode(&longer).is_none());
        let plain = Entry {
            vary: None,
            gzip: None,
            ..entry
        };
        assert_eq!(
            Entry::decode(&plain.encode()).map(fields),
            Some(fields(plain))
        );
    }
}
