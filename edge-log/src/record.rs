//! [`AccessRecord`]: one access-log line, and its two formats.

use std::io::Write as _;

use serde::Serialize;

use crate::fields::RateLimitField;

/// How access lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One JSON object per line (the default).
    #[default]
    Json,
    /// One human-readable line per request.
    Pretty,
}

/// Everything logged about one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessRecord<'a> {
    /// When the response ended, RFC 3339 UTC with milliseconds.
    pub timestamp: &'a str,
    /// The request id (as echoed in `X-Request-Id`).
    pub request_id: &'a str,
    /// The W3C trace id, 32 hex digits (from `traceparent`, else a new trace);
    /// OpenTelemetry's `trace_id` log field.
    pub trace_id: edge_core::TraceId,
    /// The method.
    pub method: &'a str,
    /// The path, without the query (which may hold secrets).
    pub path: &'a str,
    /// The response status.
    pub status: u16,
    /// From the request's arrival to the end of its response body, in ms (the
    /// adapters measure it to the microsecond).
    pub duration_ms: f64,
    /// The client address (resolved through trusted proxies when a layer did).
    pub client_ip: Option<&'a str>,
    /// The authenticated subject.
    pub user: Option<&'a str>,
    /// The tightest rate-limit policy's state.
    pub ratelimit: Option<&'a RateLimitField>,
    /// `hit`, `miss` or `bypass`.
    pub cache: Option<&'a str>,
    /// Database queries made.
    pub db_queries: Option<u64>,
    /// Response body bytes sent.
    pub bytes: u64,
    /// The `User-Agent` (at most 256 characters).
    pub user_agent: Option<&'a str>,
}

impl AccessRecord<'_> {
    /// Append the record and a newline to `out` in `format`.
    pub fn write(&self, format: Format, out: &mut Vec<u8>) {
        match format {
            Format::Json => self.write_json(out),
            Format::Pretty => self.write_pretty(out),
        }
        out.push(b'\n');
    }

    /// The JSON object, written directly: the same text `serde_json` makes from
    /// the `Serialize` impl (fields in declaration order), at a fraction of its cost.
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"timestamp\":");
        json::string(out, self.timestamp);
        out.extend_from_slice(b",\"request_id\":");
        json::string(out, self.request_id);
        out.extend_from_slice(b",\"trace_id\":\"");
        // Lower-case hex by construction: nothing to escape.
        out.extend_from_slice(self.trace_id.as_bytes());
        out.push(b'"');
        out.extend_from_slice(b",\"method\":");
        json::string(out, self.method);
        out.extend_from_slice(b",\"path\":");
        json::string(out, self.path);
        out.extend_from_slice(b",\"status\":");
        json::integer(out, self.status.into());
        out.extend_from_slice(b",\"duration_ms\":");
        json::float(out, self.duration_ms);
        out.extend_from_slice(b",\"client_ip\":");
        json::optional_string(out, self.client_ip);
        out.extend_from_slice(b",\"user\":");
        json::optional_string(out, self.user);
        out.extend_from_slice(b",\"ratelimit\":");
        match self.ratelimit {
            Some(rl) => {
                out.extend_from_slice(b"{\"policy\":");
                json::string(out, &rl.policy);
                out.extend_from_slice(b",\"limit\":");
                json::integer(out, rl.limit);
                out.extend_from_slice(b",\"remaining\":");
                json::integer(out, rl.remaining);
                out.push(b'}');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"cache\":");
        json::optional_string(out, self.cache);
        out.extend_from_slice(b",\"db_queries\":");
        match self.db_queries {
            Some(n) => json::integer(out, n),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"bytes\":");
        json::integer(out, self.bytes);
        out.extend_from_slice(b",\"user_agent\":");
        json::optional_string(out, self.user_agent);
        out.push(b'}');
    }

    fn write_pretty(&self, out: &mut Vec<u8>) {
        let _ = write!(
            out,
            "{} {} {} {} {:.3}ms id={} trace={} ip={} user={}",
            self.timestamp,
            self.status,
            self.method,
            self.path,
            self.duration_ms,
            self.request_id,
            self.trace_id,
            self.client_ip.unwrap_or("-"),
            self.user.unwrap_or("-"),
        );
        if let Some(rl) = self.ratelimit {
            let _ = write!(
                out,
                " ratelimit={}:{}/{}",
                rl.policy, rl.remaining, rl.limit
            );
        }
        let _ = write!(
            out,
            " cache={} db={} bytes={} ua={:?}",
            self.cache.unwrap_or("-"),
            self.db_queries.unwrap_or(0),
            self.bytes,
            self.user_agent.unwrap_or("-"),
        );
    }
}

/// A timestamp's text, kept on the stack: RFC 3339 UTC with milliseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timestamp([u8; TIMESTAMP_LEN]);

/// `2026-11-23T06:00:00.123Z`.
const TIMESTAMP_LEN: usize = 24;

impl Timestamp {
    /// The text (ASCII by construction).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// `now` as RFC 3339 UTC with milliseconds (`2026-11-23T06:00:00.123Z`). The
/// text up to the seconds is formatted once per second per thread.
pub(crate) fn timestamp_now() -> Timestamp {
    thread_local! {
        static SECOND: std::cell::Cell<(i64, [u8; TIMESTAMP_LEN])> =
            const { std::cell::Cell::new((i64::MIN, [0; TIMESTAMP_LEN])) };
    }
    let now_ms = edge_core::Clock::unix_ms(&edge_core::SystemClock);
    let secs = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
    let millis = (now_ms % 1000) as u32;
    SECOND.with(|second| {
        let (cached, mut text) = second.get();
        if cached != secs {
            // Years 0 to 9999: `YYYY-MM-DDThh:mm:ss.` is 20 bytes.
            let prefix = edge_core::text::Rfc3339::new(secs, 0, edge_core::text::Fraction::Millis);
            let prefix = prefix.as_ref().map_or("", |p| p.as_str()).as_bytes();
            let len = prefix.len().min(TIMESTAMP_LEN - 4);
            text[..len].copy_from_slice(&prefix[..len]);
            second.set((secs, text));
        }
        let digits = [millis / 100, millis / 10 % 10, millis % 10];
        for (slot, digit) in text[TIMESTAMP_LEN - 4..].iter_mut().zip(digits) {
            *slot = b'0' + digit as u8;
        }
        text[TIMESTAMP_LEN - 1] = b'Z';
        Timestamp(text)
    })
}

/// The few JSON writers an access line needs.
mod json {
    /// `"value"`, escaped as RFC 8259 (and `serde_json`) do: `"`, `\\` and control
    /// characters.
    pub(super) fn string(out: &mut Vec<u8>, value: &str) {
        out.push(b'"');
        let bytes = value.as_bytes();
        // Most values need no escape: one scan (vectorised), one copy.
        if !needs_escape(bytes) {
            out.extend_from_slice(bytes);
            out.push(b'"');
            return;
        }
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0x00..=0x1f => b"",
                _ => continue,
            };
            out.extend_from_slice(&bytes[start..i]);
            if escape.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            } else {
                out.extend_from_slice(escape);
            }
            start = i + 1;
        }
        out.extend_from_slice(&bytes[start..]);
        out.push(b'"');
    }

    /// Whether `bytes` hold a `"`, a `\\` or a control character: eight bytes
    /// at a time (exact: a hit in a word only means "take the slow path").
    pub(super) fn needs_escape(bytes: &[u8]) -> bool {
        const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
        const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
        // Whether any byte of `word` is zero / below 0x20 (the classic bit tricks).
        let has_zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS != 0;
        let has_control = |word: u64| word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0;
        let mut words = bytes.chunks_exact(8);
        for chunk in &mut words {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            let word = u64::from_ne_bytes(word);
            if has_control(word) || has_zero(word ^ (ONES * 0x22)) || has_zero(word ^ (ONES * 0x5c))
            {
                return true;
            }
        }
        words
            .remainder()
            .iter()
            .any(|&b| b == b'"' || b == b'\\' || b < 0x20)
    }

    pub(super) fn optional_string(out: &mut Vec<u8>, value: Option<&str>) {
        match value {
            Some(value) => string(out, value),
            None => out.extend_from_slice(b"null"),
        }
    }

    pub(super) fn integer(out: &mut Vec<u8>, n: u64) {
        out.extend_from_slice(edge_core::text::Decimal::new(n).as_str().as_bytes());
    }

    /// As `serde_json` writes it (shortest round-trip form; `null` if not finite).
    pub(super) fn float(out: &mut Vec<u8>, value: f64) {
        // Writing a number into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (RateLimitField, AccessRecord<'static>) {
        let rl = RateLimitField {
            policy: "ip".to_owned(),
            limit: 600,
            remaining: 599,
        };
        let record = AccessRecord {
            timestamp: "2026-11-23T06:00:00.123Z",
            request_id: "abc",
            trace_id: edge_core::TraceContext::from_header(Some(
                b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ))
            .trace_id(),
            method: "GET",
            path: "/a \"b\"\n",
            status: 200,
            duration_ms: 1.25,
            client_ip: Some("127.0.0.1"),
            user: None,
            ratelimit: None,
            cache: Some("hit"),
            db_queries: Some(0),
            bytes: 12,
            user_agent: Some("curl/8"),
        };
        (rl, record)
    }

    #[test]
    fn json_lines_hold_every_field_and_escape_strings() {
        let (rl, mut record) = sample();
        record.ratelimit = Some(&rl);
        let mut out = Vec::new();
        record.write(Format::Json, &mut out);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["path"], "/a \"b\"\n");
        assert_eq!(value["ratelimit"]["remaining"], 599);
        assert_eq!(value["user"], serde_json::Value::Null);
        assert_eq!(value.as_object().unwrap().len(), 14);
    }

    #[test]
    fn json_lines_are_what_serde_json_makes() {
        let (rl, mut record) = sample();
        let hostile = "q\"b\\s/\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f} é 😀 \u{2028}";
        for (user, ratelimit, ua) in [
            (None, None, None),
            (Some("42"), Some(&rl), Some(hostile)),
            (Some(hostile), None, Some("")),
        ] {
            record.user = user;
            record.ratelimit = ratelimit;
            record.user_agent = ua;
            record.path = hostile;
            for duration in [0.0, 0.734, 1e-7, 123_456.789, f64::NAN] {
                record.duration_ms = duration;
                let mut ours = Vec::new();
                record.write(Format::Json, &mut ours);
                let mut theirs = serde_json::to_vec(&record).unwrap();
                theirs.push(b'\n');
                assert_eq!(
                    String::from_utf8(ours).unwrap(),
                    String::from_utf8(theirs).unwrap()
                );
            }
        }
    }

    #[test]
    fn escapes_are_found_at_every_position() {
        let plain = "abcdefghijklmnopqrstuvwxyz0123456789 ~\u{7f}é";
        assert!(!json::needs_escape(plain.as_bytes()));
        for special in ['"', '\\', '\n', '\u{0}', '\u{1f}'] {
            for at in 0..=plain.len() {
                if !plain.is_char_boundary(at) {
                    continue;
                }
                let text = format!("{}{special}{}", &plain[..at], &plain[at..]);
                assert!(json::needs_escape(text.as_bytes()), "{text:?}");
                let mut ours = Vec::new();
                json::string(&mut ours, &text);
                assert_eq!(ours, serde_json::to_vec(&text).unwrap(), "{text:?}");
            }
        }
    }

    #[test]
    fn timestamps_are_rfc3339_with_milliseconds() {
        for _ in 0..3 {
            let before = chrono::Utc::now();
            let text = timestamp_now().as_str().to_owned();
            let after = chrono::Utc::now();
            let parsed = chrono::DateTime::parse_from_rfc3339(&text).unwrap();
            let floor = before - chrono::Duration::milliseconds(1);
            assert!(floor <= parsed && parsed <= after, "{text}");
            assert!(text.ends_with('Z') && text.len() == 24, "{text}");
            std::thread::sleep(std::time::Duration::from_millis(400));
        }
    }

    #[test]
    fn pretty_lines_are_one_line() {
        let (_, record) = sample();
        let mut out = Vec::new();
        record.write(Format::Pretty, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("2026-11-23T06:00:00.123Z 200 GET"),
            "{text}"
        );
        assert!(text.contains("cache=hit"));
        let timestamp = timestamp_now();
        assert_eq!(timestamp.as_str().len(), 24, "{timestamp:?}");
    }
}
