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
    pub timestamp: String,
    /// The request id (as echoed in `X-Request-Id`).
    pub request_id: &'a str,
    /// The method.
    pub method: &'a str,
    /// The path, without the query (which may hold secrets).
    pub path: &'a str,
    /// The response status.
    pub status: u16,
    /// From the request's arrival to the end of its response body, in ms.
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
            Format::Json => {
                // Serializing plain strings and numbers into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, self);
            }
            Format::Pretty => self.write_pretty(out),
        }
        out.push(b'\n');
    }

    fn write_pretty(&self, out: &mut Vec<u8>) {
        let _ = write!(
            out,
            "{} {} {} {} {:.3}ms id={} ip={} user={}",
            self.timestamp,
            self.status,
            self.method,
            self.path,
            self.duration_ms,
            self.request_id,
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

/// `now` as RFC 3339 UTC with milliseconds (`2026-11-23T06:00:00.123Z`).
pub(crate) fn timestamp_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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
            timestamp: "2026-11-23T06:00:00.123Z".to_owned(),
            request_id: "abc",
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
        assert_eq!(value.as_object().unwrap().len(), 13);
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
        assert_eq!(timestamp.len(), 24, "{timestamp}");
    }
}
