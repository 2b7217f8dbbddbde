//! [`LogWriter`]: the access log's line writer — edge-core's [`LineWriter`]
//! (a bounded queue and a thread; it never blocks the request path) with a
//! report line when lines were dropped.

use std::io::Write;
use std::time::Duration;

use edge_core::{LineWriter, WriteSink};

/// A bounded queue of lines and the thread that writes them (every 5 ms, in one
/// batch). When the queue is full (the sink is slower than the traffic), new lines
/// are dropped and counted rather than making requests wait; the count is
/// reported in the log itself once there is room again.
#[derive(Debug, Clone)]
pub struct LogWriter(LineWriter);

impl LogWriter {
    /// Lines to standard output, with room for `capacity` waiting lines.
    pub fn stdout(capacity: usize) -> std::io::Result<LogWriter> {
        LogWriter::new(std::io::stdout(), capacity)
    }

    /// Lines to `sink`, with room for `capacity` waiting lines (at least 1).
    /// Fails when the writer thread cannot be started.
    pub fn new(sink: impl Write + Send + 'static, capacity: usize) -> std::io::Result<LogWriter> {
        let writer = LineWriter::spawn(
            "edge-log-writer",
            WriteSink::new(sink),
            capacity,
            Some(drop_report),
        )?;
        Ok(LogWriter(writer))
    }

    /// Queue one line (with its newline); drops and counts it if the queue is
    /// full (also as [`metrics::DROPPED_LINES_TOTAL`](crate::metrics::DROPPED_LINES_TOTAL)).
    pub fn write_line(&self, line: Vec<u8>) {
        if !self.0.write_line(line) {
            crate::metrics::dropped_lines(1);
        }
    }

    /// Lines dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.0.dropped()
    }

    /// Lines written to the sink so far.
    pub fn written(&self) -> u64 {
        self.0.written()
    }

    /// Wait (at most `timeout`) until every line queued before this call is
    /// written and the sink flushed: call it at shutdown. Blocks the thread.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.0.flush(timeout)
    }
}

/// The warning line written once there is room again after drops.
fn drop_report(new: u64, total: u64) -> Vec<u8> {
    format!(
        "{{\"timestamp\":\"{}\",\"level\":\"WARN\",\"message\":\"access log: {new} lines dropped because the output was too slow\",\"dropped_total\":{total}}}\n",
        crate::record::timestamp_now().as_str(),
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drop_report_is_a_json_line() {
        let line = String::from_utf8(drop_report(3, 10)).unwrap();
        assert!(line.ends_with('\n'));
        let parsed: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(parsed["dropped_total"], 10);
        assert!(
            parsed["message"]
                .as_str()
                .unwrap()
                .contains("3 lines dropped")
        );
    }
}
