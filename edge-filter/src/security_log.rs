//! The security log: one JSON line per blocked (or, in detection-only mode,
//! flagged) request, in a file of its own.
//!
//! Lines are handed to a writer thread through a bounded queue, so logging never
//! blocks a request: when the queue is full the line is dropped and counted
//! ([`SecurityLog::dropped`]). The file is reopened by [`SecurityLog::reopen`]
//! (call it on SIGHUP after an external rotation) and rotated by the writer itself
//! once it outgrows the configured size: `<file>.1` is the newest old file, up to
//! `<file>.N` (default 5 kept). Files are created readable by their owner only
//! (0600: they hold client addresses and attack payloads), and every field of a
//! line is bounded, so one request cannot write an unbounded line.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use edge_core::{LineSink, LineWriter};
use std::time::Duration;

use serde::Serialize;

use crate::Finding;

/// One line of the security log.
#[derive(Debug, Clone, Serialize)]
pub struct SecurityEvent<'a> {
    /// RFC 3339 UTC time.
    pub time: String,
    /// The request id.
    pub request_id: &'a str,
    /// The W3C trace id (32 hex digits), when the request had a trace context
    /// (edge-log's middleware gives every request one).
    pub trace_id: Option<String>,
    /// The client IP.
    pub client_ip: Option<String>,
    /// The method.
    pub method: &'a str,
    /// The path.
    pub path: &'a str,
    /// The rule that matched.
    pub rule_id: &'a str,
    /// Its category.
    pub category: &'a str,
    /// Where it matched (`query.q`, `body./description`).
    pub location: &'a str,
    /// The offending value's start, at most 256 bytes (JSON-escaped on output).
    pub payload: &'a str,
    /// `blocked`, or `detected` in detection-only mode.
    pub action: &'a str,
}

/// The most bytes each field of a line keeps (cut at a character boundary).
pub const FIELD_BYTES: usize = 256;
/// The most bytes of the path a line keeps.
pub const PATH_BYTES: usize = 1024;

impl<'a> SecurityEvent<'a> {
    /// The event for `finding` in a request. Every field is cut to at most
    /// [`FIELD_BYTES`] ([`PATH_BYTES`] for the path).
    pub fn new(
        finding: &'a Finding,
        request_id: &'a str,
        client_ip: Option<String>,
        method: &'a str,
        path: &'a str,
        blocked: bool,
    ) -> Self {
        SecurityEvent {
            time: rfc3339_now(),
            request_id: cap(request_id, FIELD_BYTES),
            trace_id: None,
            client_ip,
            method: cap(method, FIELD_BYTES),
            path: cap(path, PATH_BYTES),
            rule_id: cap(&finding.rule_id, FIELD_BYTES),
            category: finding.category.as_str(),
            location: cap(&finding.location, FIELD_BYTES),
            payload: cap(&finding.excerpt, FIELD_BYTES),
            action: if blocked { "blocked" } else { "detected" },
        }
    }
}

impl SecurityEvent<'_> {
    /// The same event with the trace id of `trace`.
    #[must_use]
    pub fn with_trace(mut self, trace: Option<edge_core::TraceContext>) -> Self {
        self.trace_id = trace.map(|trace| trace.trace_id().as_str().to_owned());
        self
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn cap(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A handle to the security log; cheap to clone.
#[derive(Debug, Clone)]
pub struct SecurityLog {
    writer: LineWriter,
    path: Arc<PathBuf>,
}

/// Configures a [`SecurityLog`]: [`SecurityLog::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SecurityLogBuilder {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    queue: usize,
}

impl SecurityLogBuilder {
    /// Rotate once the file reaches `bytes` (0: never; default 100 MiB).
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// How many rotated files to keep, `<file>.1` to `<file>.N` (default 5; at
    /// least 1).
    pub fn keep(mut self, files: usize) -> Self {
        self.keep = files.max(1);
        self
    }

    /// Room for this many pending lines (default 10 000).
    pub fn queue(mut self, lines: usize) -> Self {
        self.queue = lines.max(1);
        self
    }

    /// Open (append to) the file, creating it (mode 0600) and its directory,
    /// and start the writer thread.
    pub fn open(self) -> std::io::Result<SecurityLog> {
        let SecurityLogBuilder {
            path,
            max_bytes,
            keep,
            queue,
        } = self;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(&path)?;
        let sink = RotatingFile {
            size: file.metadata().map_or(0, |m| m.len()),
            out: BufWriter::new(file),
            path: path.clone(),
            rotation: Rotation { max_bytes, keep },
        };
        Ok(SecurityLog {
            writer: LineWriter::spawn("edge-security-log", sink, queue, None)?,
            path: Arc::new(path),
        })
    }
}

/// When and how far the writer rotates.
#[derive(Debug, Clone, Copy)]
struct Rotation {
    max_bytes: u64,
    keep: usize,
}

impl SecurityLog {
    /// Configure a log written to `path`.
    pub fn builder(path: impl Into<PathBuf>) -> SecurityLogBuilder {
        SecurityLogBuilder {
            path: path.into(),
            max_bytes: 100 << 20,
            keep: 5,
            queue: 10_000,
        }
    }

    /// Open (append to) `path`, creating its directory, rotating at `max_bytes`
    /// (0: never) and keeping 5 rotated files, with room for `queue` pending
    /// lines: [`SecurityLog::builder`] with those settings.
    pub fn open(
        path: impl Into<PathBuf>,
        max_bytes: u64,
        queue: usize,
    ) -> std::io::Result<SecurityLog> {
        SecurityLog::builder(path)
            .max_bytes(max_bytes)
            .queue(queue)
            .open()
    }

    /// Queue one event; never blocks (a full queue drops the line and counts it).
    pub fn record(&self, event: &SecurityEvent<'_>) {
        let Ok(mut line) = serde_json::to_vec(event) else {
            return;
        };
        line.push(b'\n');
        self.writer.write_line(line);
    }

    /// Lines dropped because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        self.writer.dropped()
    }

    /// Reopen the file by name (after an external rotation, e.g. on SIGHUP).
    pub fn reopen(&self) {
        self.writer.reopen();
    }

    /// Wait (at most `timeout`) until every queued line is written: for tests and shutdown.
    pub fn flush(&self, timeout: Duration) {
        self.writer.flush(timeout);
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Open for appending; a new file is readable and writable by its owner only.
fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// `<file>.n`.
fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Shift `<file>.1..N-1` up by one (dropping `<file>.N`) and move the file to `<file>.1`.
fn rotate(path: &Path, keep: usize) {
    let _ = std::fs::remove_file(rotated(path, keep));
    for n in (1..keep).rev() {
        let _ = std::fs::rename(rotated(path, n), rotated(path, n + 1));
    }
    let _ = std::fs::rename(path, rotated(path, 1));
}

/// The log file as edge-core's writer thread sees it: rotated by size, reopened
/// by name on request.
struct RotatingFile {
    path: PathBuf,
    out: BufWriter<File>,
    size: u64,
    rotation: Rotation,
}

impl LineSink for RotatingFile {
    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.out.write_all(line)?;
        self.size += line.len() as u64;
        if self.rotation.max_bytes > 0 && self.size >= self.rotation.max_bytes {
            self.out.flush()?;
            rotate(&self.path, self.rotation.keep);
            self.reopen()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn reopen(&mut self) -> std::io::Result<()> {
        let file = open_append(&self.path)?;
        self.size = file.metadata().map_or(0, |m| m.len());
        self.out = BufWriter::new(file);
        Ok(())
    }
}

/// The current UTC time as RFC 3339 with milliseconds.
fn rfc3339_now() -> String {
    use edge_core::Clock;
    edge_core::text::Rfc3339::from_unix_ms(edge_core::SystemClock.unix_ms())
        .map(|at| at.as_str().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Category;

    #[test]
    fn writes_escaped_json_lines_and_rotates() {
        let dir = std::env::temp_dir().join(format!("edge-seclog-{}", std::process::id()));
        let path = dir.join("security.log");
        let log = SecurityLog::open(&path, 400, 64).unwrap();
        let finding = Finding {
            rule_id: "xss-script-tag".into(),
            category: Category::Xss,
            location: "query.q".into(),
            excerpt: "<script>\"\n\u{0}".into(),
        };
        for _ in 0..3 {
            log.record(&SecurityEvent::new(
                &finding,
                "req-1",
                Some("192.0.2.1".into()),
                "GET",
                "/x",
                true,
            ));
        }
        log.flush(Duration::from_secs(5));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        let rotated = std::fs::read_to_string(super::rotated(&path, 1)).unwrap_or_default();
        let lines: Vec<serde_json::Value> = rotated
            .lines()
            .chain(current.lines())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["payload"], "<script>\"\n\u{0}");
        assert_eq!(lines[0]["category"], "xss");
        assert!(!rotated.is_empty(), "the file was not rotated at 400 bytes");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn keeps_n_rotated_files_private_with_every_field_bounded() {
        let dir = std::env::temp_dir().join(format!("edge-seclog-keep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("security.log");
        // Each line is over 300 bytes: every line rotates the file.
        let log = SecurityLog::builder(&path)
            .max_bytes(300)
            .keep(3)
            .queue(64)
            .open()
            .unwrap();
        let huge = "x".repeat(100_000);
        let finding = Finding {
            rule_id: "sqli-union".into(),
            category: Category::Xss,
            location: format!("query.{huge}"),
            excerpt: huge.clone(),
        };
        for i in 0..8 {
            let id = format!("req-{i}");
            log.record(&SecurityEvent::new(
                &finding,
                &id,
                None,
                &huge,
                &format!("/{huge}"),
                true,
            ));
        }
        log.flush(Duration::from_secs(5));
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "security.log",
                "security.log.1",
                "security.log.2",
                "security.log.3"
            ]
        );
        // The newest old file holds the last line; nothing older than .3 is kept.
        let newest: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(rotated(&path, 1)).unwrap().trim())
                .unwrap();
        assert_eq!(newest["request_id"], "req-7");
        for name in &files[1..] {
            let line = std::fs::read_to_string(dir.join(name)).unwrap();
            assert!(line.len() < 3 * 1024, "{} bytes", line.len());
            let line: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
            assert_eq!(line["path"].as_str().unwrap().len(), PATH_BYTES);
            for field in ["location", "payload", "method"] {
                assert_eq!(line[field].as_str().unwrap().len(), FIELD_BYTES, "{field}");
            }
        }
        #[cfg(unix)]
        for name in &files {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
