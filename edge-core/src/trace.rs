//! [`TraceContext`]: the W3C Trace Context of a request (the `traceparent`
//! header), taken from the caller when well formed, else started here.

use std::num::NonZeroU64;

use crate::request_id::HEX_PAIRS;

/// The header that carries the trace context (W3C Trace Context, level 1).
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// A request's place in a distributed trace: the trace id every service of the
/// trace logs, the caller's span id (when a caller sent one) and whether the
/// caller sampled it. edge-log's middleware puts it in the request extensions
/// (taken from `traceparent`, else started here), writes its trace id in the
/// access line as `trace_id` and records it in the request span; edge-filter
/// writes it in the security log. Pass [`TraceContext::traceparent`] on to the
/// services you call, with your own span id, to keep them in the trace.
///
/// ```
/// use edge_core::TraceContext;
///
/// let header = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// let trace = TraceContext::from_header(Some(header));
/// assert_eq!(trace.trace_id().as_str(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(trace.parent_id(), Some(0x00f0_67aa_0ba9_02b7));
/// assert!(trace.sampled());
/// assert_eq!(
///     trace.traceparent(0x1111_2222_3333_4444),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-1111222233334444-01"
/// );
///
/// // No header, or a malformed one: a new trace.
/// let started = TraceContext::from_header(Some(b"garbage"));
/// assert_eq!(started.parent_id(), None);
/// assert_eq!(started.trace_id().as_str().len(), 32);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: u128,
    parent_id: Option<NonZeroU64>,
    flags: u8,
}

/// The `sampled` bit of the trace flags.
const SAMPLED: u8 = 0x01;

impl TraceContext {
    /// The caller's context when `value` is a valid `traceparent`, else a new
    /// trace ([`TraceContext::generate`]).
    pub fn from_header(value: Option<&[u8]>) -> TraceContext {
        value
            .and_then(TraceContext::parse)
            .unwrap_or_else(TraceContext::generate)
    }

    /// A `traceparent` value, parsed as the W3C recommendation says: version
    /// `00` exactly 55 characters; a later version at least that, its first
    /// four fields read the same way; lower-case hex only; a trace or parent id
    /// of all zeros, or version `ff`, is invalid.
    pub fn parse(value: &[u8]) -> Option<TraceContext> {
        if value.len() < 55 || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
            return None;
        }
        let version = hex(&value[..2])? as u8;
        match version {
            0 if value.len() != 55 => return None,
            0xff => return None,
            // A later version may append fields after a dash.
            v if v > 0 && value.len() > 55 && value[55] != b'-' => return None,
            _ => {}
        }
        let trace_id = hex(&value[3..35])?;
        let parent_id = NonZeroU64::new(hex(&value[36..52])? as u64)?;
        let flags = hex(&value[53..55])? as u8;
        (trace_id != 0).then_some(TraceContext {
            trace_id,
            parent_id: Some(parent_id),
            flags,
        })
    }

    /// A new trace: a random trace id from the thread's CSPRNG, no parent,
    /// not sampled (this service did not decide to record it).
    pub fn generate() -> TraceContext {
        TraceContext {
            // Zero is invalid; one in 2^128 draws is redrawn as 1.
            trace_id: rand::random::<u128>().max(1),
            parent_id: None,
            flags: 0,
        }
    }

    /// The trace id, as 32 lower-case hex digits.
    pub fn trace_id(&self) -> TraceId {
        TraceId::new(self.trace_id)
    }

    /// The trace id as a number.
    pub fn trace_id_u128(&self) -> u128 {
        self.trace_id
    }

    /// The caller's span id, when the caller sent a `traceparent`.
    pub fn parent_id(&self) -> Option<u64> {
        self.parent_id.map(NonZeroU64::get)
    }

    /// Whether the caller recorded this trace (the `sampled` flag).
    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }

    /// The `traceparent` to send to a service called while handling this
    /// request, as a child of `span_id` (this service's span; not zero).
    pub fn traceparent(&self, span_id: u64) -> String {
        let mut out = String::with_capacity(55);
        out.push_str("00-");
        out.push_str(self.trace_id().as_str());
        out.push('-');
        for byte in span_id.max(1).to_be_bytes() {
            out.extend(HEX_PAIRS[usize::from(byte)].map(char::from));
        }
        out.push('-');
        out.extend(HEX_PAIRS[usize::from(self.flags & SAMPLED)].map(char::from));
        out
    }
}

/// A number from lower-case hex digits (at most 32); `None` for anything else.
fn hex(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |acc, digit| {
        let value = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some(acc << 4 | u128::from(value))
    })
}

/// A trace id as text, on the stack: `4bf92f3577b34da6a3ce929d0e0e4736`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TraceId([u8; 32]);

impl TraceId {
    fn new(id: u128) -> TraceId {
        let mut text = [0; 32];
        for (pair, byte) in text.chunks_exact_mut(2).zip(id.to_be_bytes()) {
            pair.copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
        }
        TraceId(text)
    }

    /// The 32 digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The 32 digits as bytes (lower-case hex: nothing to escape in JSON).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl serde::Serialize for TraceId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &[u8] = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_kept() {
        let trace = TraceContext::parse(VALID).unwrap();
        assert_eq!(
            trace.trace_id_u128(),
            0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736
        );
        assert_eq!(trace.parent_id(), Some(0x00f0_67aa_0ba9_02b7));
        assert!(trace.sampled());
        let unsampled = TraceContext::parse(&[&VALID[..53], b"00"].concat()).unwrap();
        assert!(!unsampled.sampled());
    }

    #[test]
    fn a_later_version_is_read_by_its_first_fields() {
        let mut later = VALID.to_vec();
        later[..2].copy_from_slice(b"01");
        later.extend_from_slice(b"-what-comes-next");
        assert_eq!(
            TraceContext::parse(&later).unwrap().trace_id(),
            TraceContext::parse(VALID).unwrap().trace_id()
        );
    }

    #[test]
    fn malformed_values_are_refused() {
        let zero_trace = b"00-00000000000000000000000000000000-00f067aa0ba902b7-01";
        let zero_parent = b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01";
        let upper = b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
        let version_ff = b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let v0_longer = [VALID, b"-x"].concat();
        let later_glued = [&b"01"[..], &VALID[2..], b"x"].concat();
        let bad_dash = b"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let not_hex = b"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01";
        for value in [
            &zero_trace[..],
            zero_parent,
            upper,
            version_ff,
            &v0_longer,
            &later_glued,
            bad_dash,
            not_hex,
            &VALID[..54],
            b"",
            "00-ééééééééééééééééééééééééééé-00f067aa0ba902b7-01".as_bytes(),
        ] {
            assert_eq!(TraceContext::parse(value), None, "{value:?}");
        }
    }

    #[test]
    fn a_missing_or_malformed_header_starts_a_new_random_trace() {
        let a = TraceContext::from_header(None);
        let b = TraceContext::from_header(Some(b"00-zz"));
        assert_ne!(a.trace_id(), b.trace_id());
        assert_eq!((a.parent_id(), a.sampled()), (None, false));
        assert!(a.trace_id().as_str().bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn the_header_for_a_callee_keeps_the_trace_and_names_our_span() {
        let trace = TraceContext::parse(VALID).unwrap();
        let header = trace.traceparent(0xabcd);
        assert_eq!(
            header,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-000000000000abcd-01"
        );
        assert_eq!(
            TraceContext::parse(header.as_bytes()).unwrap().parent_id(),
            Some(0xabcd)
        );
    }
}
