//! [`LogWriter`]: hands lines to a writer thread; never blocks the request path.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

enum Message {
    Line(Vec<u8>),
    Flush(mpsc::Sender<()>),
}

/// A bounded queue of lines and the thread that writes them (every 5 ms, in one
/// batch). When the queue is full (the sink is slower than the traffic), new lines
/// are dropped and counted rather than making requests wait; the count is
/// reported in the log itself once there is room again.
#[derive(Debug, Clone)]
pub struct LogWriter {
    sender: SyncSender<Message>,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    written: AtomicU64,
    dropped: AtomicU64,
}

impl LogWriter {
    /// Lines to standard output, with room for `capacity` waiting lines.
    pub fn stdout(capacity: usize) -> LogWriter {
        LogWriter::new(std::io::stdout(), capacity)
    }

    /// Lines to `sink`, with room for `capacity` waiting lines.
    pub fn new(sink: impl Write + Send + 'static, capacity: usize) -> LogWriter {
        let (sender, receiver) = mpsc::sync_channel(capacity.max(1));
        let counts = Arc::new(Counts::default());
        let thread_counts = Arc::clone(&counts);
        let spawned = std::thread::Builder::new()
            .name("edge-log-writer".to_owned())
            .spawn(move || write_lines(&receiver, sink, &thread_counts));
        if let Err(error) = spawned {
            // Without a thread every line is dropped (and counted); requests go on.
            tracing::error!(%error, "edge-log: cannot start the writer thread");
        }
        LogWriter { sender, counts }
    }

    /// Queue one line (with its newline); drops it if the queue is full.
    pub fn write_line(&self, line: Vec<u8>) {
        match self.sender.try_send(Message::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Lines dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.counts.dropped.load(Ordering::Relaxed)
    }

    /// Lines written to the sink so far.
    pub fn written(&self) -> u64 {
        self.counts.written.load(Ordering::Relaxed)
    }

    /// Wait (at most `timeout`) until every line queued before this call is
    /// written and the sink flushed: call it at shutdown. Blocks the thread.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (done, flushed) = mpsc::channel();
        if self.sender.send(Message::Flush(done)).is_err() {
            return false;
        }
        flushed.recv_timeout(timeout).is_ok()
    }
}

/// How often the writer thread drains the queue. Polling (rather than blocking
/// on the queue) means request threads never have to wake it: a line costs its
/// producer one lock-free push, and the writer a share of one wake-up per interval.
const DRAIN_INTERVAL: Duration = Duration::from_millis(5);

fn write_lines(receiver: &Receiver<Message>, sink: impl Write, counts: &Counts) {
    let mut sink = std::io::BufWriter::with_capacity(64 * 1024, sink);
    let mut reported_drops = 0;
    loop {
        let first = match receiver.try_recv() {
            Ok(message) => message,
            Err(mpsc::TryRecvError::Empty) => {
                std::thread::sleep(DRAIN_INTERVAL);
                continue;
            }
            Err(mpsc::TryRecvError::Disconnected) => break,
        };
        let mut next = Some(first);
        // Write what is queued, then flush once.
        while let Some(message) = next {
            match message {
                Message::Line(line) => {
                    if sink.write_all(&line).is_ok() {
                        counts.written.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Message::Flush(done) => {
                    report_drops(&mut sink, counts, &mut reported_drops);
                    let _ = sink.flush();
                    let _ = done.send(());
                }
            }
            next = receiver.try_recv().ok();
        }
        report_drops(&mut sink, counts, &mut reported_drops);
        let _ = sink.flush();
    }
    let _ = sink.flush();
}

/// Write a warning line if lines were dropped since the last one.
fn report_drops(sink: &mut impl Write, counts: &Counts, reported: &mut u64) {
    let dropped = counts.dropped.load(Ordering::Relaxed);
    if dropped > *reported {
        let _ = writeln!(
            sink,
            "{{\"timestamp\":\"{}\",\"level\":\"WARN\",\"message\":\"access log: {} lines dropped because the output was too slow\",\"dropped_total\":{dropped}}}",
            crate::record::timestamp_now().as_str(),
            dropped - *reported,
        );
        *reported = dropped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A sink that blocks until the gate opens.
    struct Stalled(Arc<(Mutex<bool>, std::sync::Condvar)>, Shared);

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (open, opened) = &*self.0;
            let mut open = open.lock().unwrap();
            while !*open {
                open = opened.wait(open).unwrap();
            }
            self.1.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_written_in_order_and_flushed() {
        let sink = Shared::default();
        let writer = LogWriter::new(sink.clone(), 16);
        for i in 0..10 {
            writer.write_line(format!("{i}\n").into_bytes());
        }
        assert!(writer.flush(Duration::from_secs(5)));
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
        assert_eq!((writer.written(), writer.dropped()), (10, 0));
    }

    #[test]
    fn a_stalled_sink_drops_and_counts_instead_of_blocking() {
        let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let sink = Shared::default();
        let writer = LogWriter::new(Stalled(Arc::clone(&gate), sink.clone()), 4);
        // Lines larger than the writer's buffer go straight to the (stalled) sink.
        let padding = "x".repeat(100 * 1024);
        let start = std::time::Instant::now();
        for i in 0..1000 {
            writer.write_line(format!("{i}{padding}\n").into_bytes());
        }
        assert!(start.elapsed() < Duration::from_secs(1), "writing blocked");
        // At most one line in the stalled write, 4 waiting: the rest dropped.
        assert!(writer.dropped() >= 995, "{}", writer.dropped());
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        assert!(writer.flush(Duration::from_secs(5)));
        assert_eq!(writer.written() + writer.dropped(), 1000);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("0xxx"));
        let last = text.lines().last().unwrap();
        assert!(last.contains("lines dropped"), "{last}");
        assert!(
            last.contains(&format!("\"dropped_total\":{}", writer.dropped())),
            "{last}"
        );
    }
}
