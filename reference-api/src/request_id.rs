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
        RequestId(format!(
            "{prefix:08x}-{:012x}",
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ))
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
    }
}
