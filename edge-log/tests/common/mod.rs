//! A log that writes into memory, and the parsed lines.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edge_log::{AccessLog, FieldsLayer, LogWriter};
use serde_json::Value;
use tracing_subscriber::prelude::*;

/// Bytes written so far.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct TestLog {
    pub log: AccessLog,
    captured: Captured,
}

impl TestLog {
    pub fn new() -> TestLog {
        let captured = Captured::default();
        let log = AccessLog::builder()
            .writer(LogWriter::new(captured.clone(), 1024).unwrap())
            .build()
            .unwrap();
        TestLog { log, captured }
    }

    /// Every line written so far, parsed.
    pub fn lines(&self) -> Vec<Value> {
        assert!(self.log.writer().flush(Duration::from_secs(5)));
        let bytes = self.captured.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }
}

/// Install [`FieldsLayer`] for the current thread.
pub fn subscriber() -> tracing::subscriber::DefaultGuard {
    tracing::subscriber::set_default(tracing_subscriber::registry().with(FieldsLayer))
}

/// What the other edge crates record, as a handler would see it.
pub fn record_like_the_other_layers() {
    let span = tracing::Span::current();
    span.record("user", "alice");
    span.record("ratelimit", tracing::field::display("ip:9/10"));
    span.record("cache", "miss");
    span.record("db_queries", 2u64);
}

pub const FIELDS: [&str; 14] = [
    "timestamp",
    "request_id",
    "trace_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "client_ip",
    "user",
    "ratelimit",
    "cache",
    "db_queries",
    "bytes",
    "user_agent",
];

pub fn assert_every_field(line: &Value) {
    let object = line.as_object().unwrap();
    for field in FIELDS {
        assert!(object.contains_key(field), "no {field} in {line}");
    }
    assert_eq!(object.len(), FIELDS.len(), "{line}");
}
