//! [`RequestId`]: taken from a well-formed `X-Request-Id`, else generated.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The header that carries the request id both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest client-supplied id kept; longer ones are replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of one request, put in the request's extensions by the middleware and
/// echoed in `X-Request-Id` on its response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(std::sync::Arc<str>);

impl RequestId {
    /// The client's id when it is 1–128 characters of `[A-Za-z0-9._:-]` (safe in
    /// logs and headers), else a new one. Hostile values (newlines, quotes, huge
    /// strings) are never echoed or logged.
    pub fn from_header(value: Option<&[u8]>) -> RequestId {
        match value {
            Some(value) if is_well_formed(value) => {
                RequestId(std::sync::Arc::from(String::from_utf8_lossy(value)))
            }
            _ => RequestId::generate(),
        }
    }

    /// A new id: a random per-process prefix and a counter — unique, cheap, 21
    /// characters (`3f2a9c1d-00000000002a`).
    pub fn generate() -> RequestId {
        static PREFIX: OnceLock<u32> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let prefix = *PREFIX.get_or_init(random_prefix);
        // `xxxxxxxx-xxxxxxxxxxxx`, written on the stack: one allocation, the Arc's.
        let mut id = [0u8; 21];
        push_hex(&mut id[..8], u64::from(prefix));
        id[8] = b'-';
        push_hex(&mut id[9..], COUNTER.fetch_add(1, Ordering::Relaxed));
        // Shared: the middleware's clones (extensions, log, echo) copy nothing.
        RequestId(std::sync::Arc::from(
            std::str::from_utf8(&id).unwrap_or_default(),
        ))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a client-supplied id is kept: 1–128 bytes of `[A-Za-z0-9._:-]`.
pub fn is_well_formed(value: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(b))
}

/// Different per process and per start, without a randomness dependency.
fn random_prefix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish() as u32
}

/// Write the lowest `out.len()` hex digits of `n` into `out`, most significant
/// first (cheaper than `format!` per request).
fn push_hex(out: &mut [u8], n: u64) {
    for (slot, shift) in out.iter_mut().rev().zip((0..).step_by(4)) {
        let nibble = n.checked_shr(shift).unwrap_or(0) & 0xf;
        *slot = b"0123456789abcdef"[nibble as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_safe_ids_and_replaces_hostile_ones() {
        assert_eq!(
            RequestId::from_header(Some(b"abc-123:x.y_z")).as_str(),
            "abc-123:x.y_z"
        );
        let long = [b'x'; MAX_REQUEST_ID_LEN];
        assert_eq!(
            RequestId::from_header(Some(&long)).as_str().len(),
            MAX_REQUEST_ID_LEN
        );
        let too_long = vec![b'x'; 10 * 1024];
        for hostile in [
            &b"a\nb"[..],
            b"",
            &too_long,
            b"<script>",
            b"a b",
            b"\"q\"",
            "é".as_bytes(),
        ] {
            let id = RequestId::from_header(Some(hostile));
            assert_ne!(id.as_str().as_bytes(), hostile);
            assert!(is_well_formed(id.as_str().as_bytes()));
        }
    }

    #[test]
    fn generated_ids_are_unique_and_well_formed() {
        let (a, b) = (RequestId::generate(), RequestId::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 21);
        assert!(is_well_formed(a.as_str().as_bytes()));
        let mut hex = [0; 8];
        push_hex(&mut hex, 0xab_cdef);
        assert_eq!(&hex, b"00abcdef");
        let mut hex = [0; 12];
        push_hex(&mut hex, u64::MAX);
        assert_eq!(&hex, b"ffffffffffff");
        let mut hex = [0; 20];
        push_hex(&mut hex, 0x1234);
        assert_eq!(&hex, b"00000000000000001234");
    }
}
