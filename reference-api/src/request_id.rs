//! The request id: taken from a well-formed `X-Request-Id`, else generated.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The header carrying the request id both ways.
pub const HEADER: &str = "x-request-id";

/// The id of one request, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// Use the client's id when it is 1-128 characters of `[A-Za-z0-9._:-]`, else make one.
    pub fn from_header(value: Option<&[u8]>) -> RequestId {
        match value {
            Some(v) if is_well_formed(v) => RequestId(String::from_utf8_lossy(v).into_owned()),
            _ => RequestId::generate(),
        }
    }

    /// A new id: a random per-process prefix and a counter, unique and cheap.
    pub fn generate() -> RequestId {
        static PREFIX: OnceLock<u32> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let prefix = *PREFIX.get_or_init(|| {
            let mut bytes = [0u8; 4];
            let _ = getrandom::fill(&mut bytes);
            u32::from_le_bytes(bytes) ^ std::process::id()
        });
        let mut id = String::with_capacity(21);
        push_hex(&mut id, u64::from(prefix), 8);
        id.push('-');
        push_hex(&mut id, COUNTER.fetch_add(1, Ordering::Relaxed), 12);
        RequestId(id)
    }
}

/// Append the low `digits` hex digits of `n` (cheaper than `format!` per request).
fn push_hex(out: &mut String, n: u64, digits: u32) {
    for shift in (0..digits).rev() {
        let nibble = (n >> (shift * 4)) & 0xf;
        out.push(char::from(b"0123456789abcdef"[nibble as usize]));
    }
}

fn is_well_formed(value: &[u8]) -> bool {
    (1..=128).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_safe_ids_and_replaces_hostile_ones() {
        assert_eq!(RequestId::from_header(Some(b"abc-123")).0, "abc-123");
        for hostile in [&b"a\nb"[..], b"", &[b'x'; 129], b"<script>", b"a b"] {
            assert_ne!(RequestId::from_header(Some(hostile)).0.as_bytes(), hostile);
        }
        assert_ne!(RequestId::generate(), RequestId::generate());
        let id = RequestId::generate().0;
        assert_eq!(id.len(), 21);
        assert!(is_well_formed(id.as_bytes()), "{id}");
        let mut hex = String::new();
        push_hex(&mut hex, 0xab_cdef, 8);
        assert_eq!(hex, "00abcdef");
    }
}
