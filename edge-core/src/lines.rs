//! [`LineWriter`]: hands lines to a writer thread through a bounded queue; never
//! blocks the request path. The access log and the security log both write
//! through it, each into its own [`LineSink`].

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

/// Where a [`LineWriter`]'s thread puts lines.
pub trait LineSink: Send + 'static {
    /// Write one line (it ends with its newline).
    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()>;

    /// Push what is buffered out.
    fn flush(&mut self) -> std::io::Result<()>;

    /// Reopen by name, after an external rotation (default: nothing to do).
    fn reopen(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Any [`Write`] as a sink, buffered (64 KiB).
#[derive(Debug)]
pub struct WriteSink<W: Write>(std::io::BufWriter<W>);

impl<W: Write> WriteSink<W> {
    /// Lines into `out`.
    pub fn new(out: W) -> Self {
        WriteSink(std::io::BufWriter::with_capacity(64 * 1024, out))
    }
}

impl<W: Write + Send + 'static> LineSink for WriteSink<W> {
    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.0.write_all(line)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// What a writer does when lines were dropped: the text of a line reporting
/// `new` more drops (`total` in all), written once there is room again.
pub type DropReport = fn(new: u64, total: u64) -> Vec<u8>;

enum Message {
    Line(Vec<u8>),
    Reopen,
    Flush(mpsc::Sender<()>),
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")
    }
}

#[derive(Debug, Default)]
struct Counts {
    written: AtomicU64,
    dropped: AtomicU64,
}

/// A bounded queue of lines and the thread that writes them (every 5 ms, in one
/// batch, then flushed). When the queue is full (the sink is slower than the
/// traffic), new lines are dropped and counted rather than making requests wait.
/// Cheap to clone; clones share the queue.
#[derive(Debug, Clone)]
pub struct LineWriter {
    sender: SyncSender<Message>,
    counts: Arc<Counts>,
}

/// How often the writer thread drains the queue. Polling (rather than blocking
/// on the queue) means request threads never have to wake it: a line costs its
/// producer one lock-free push, and the writer a share of one wake-up per interval.
const DRAIN_INTERVAL: Duration = Duration::from_millis(5);

impl LineWriter {
    /// Start a thread named `name` writing into `sink`, with room for `capacity`
    /// waiting lines (at least 1); `report` (if any) makes the line that reports
    /// drops. Fails when the thread cannot be started.
    pub fn spawn(
        name: &str,
        sink: impl LineSink,
        capacity: usize,
        report: Option<DropReport>,
    ) -> std::io::Result<LineWriter> {
        let (sender, receiver) = mpsc::sync_channel(capacity.max(1));
        let counts = Arc::new(Counts::default());
        let thread_counts = Arc::clone(&counts);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || write_lines(&receiver, sink, &thread_counts, report))?;
        Ok(LineWriter { sender, counts })
    }

    /// Queue one line (with its newline); drops and counts it if the queue is
    /// full. Whether it was queued.
    pub fn write_line(&self, line: Vec<u8>) -> bool {
        match self.sender.try_send(Message::Line(line)) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Ask the sink to reopen its file (after an external rotation).
    pub fn reopen(&self) {
        let _ = self.sender.try_send(Message::Reopen);
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

fn write_lines(
    receiver: &Receiver<Message>,
    mut sink: impl LineSink,
    counts: &Counts,
    report: Option<DropReport>,
) {
    let mut reported = 0;
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
                    if sink.write_line(&line).is_ok() {
                        counts.written.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Message::Reopen => {
                    let _ = sink.flush();
                    let _ = sink.reopen();
                }
                Message::Flush(done) => {
                    report_drops(&mut sink, counts, &mut reported, report);
                    let _ = sink.flush();
                    let _ = done.send(());
                }
            }
            next = receiver.try_recv().ok();
        }
        report_drops(&mut sink, counts, &mut reported, report);
        let _ = sink.flush();
    }
    let _ = sink.flush();
}

/// Write the report line if lines were dropped since the last one.
fn report_drops(
    sink: &mut impl LineSink,
    counts: &Counts,
    reported: &mut u64,
    report: Option<DropReport>,
) {
    let dropped = counts.dropped.load(Ordering::Relaxed);
    if let Some(report) = report
        && dropped > *reported
    {
        let _ = sink.write_line(&report(dropped - *reported, dropped));
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

    fn report(new: u64, total: u64) -> Vec<u8> {
        format!("{new} lines dropped, {total} in all\n").into_bytes()
    }

    #[test]
    fn lines_are_written_in_order_and_flushed() {
        let sink = Shared::default();
        let writer = LineWriter::spawn("test", WriteSink::new(sink.clone()), 16, None).unwrap();
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
        let stalled = WriteSink::new(Stalled(Arc::clone(&gate), sink.clone()));
        let writer = LineWriter::spawn("test", stalled, 4, Some(report)).unwrap();
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
        assert_eq!(
            last,
            format!(
                "{} lines dropped, {} in all",
                writer.dropped(),
                writer.dropped()
            )
        );
    }
}
