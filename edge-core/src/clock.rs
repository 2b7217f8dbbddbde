//! [`Clock`]: the time every Edge crate reads, injectable so tests never sleep.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Two times: a monotonic one for windows, TTLs and ages (it never steps back,
/// whatever NTP or an operator does to the wall clock), and the wall time, only
/// for what is written out or compared across machines (timestamps, `exp`).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds from an arbitrary origin; never decreases.
    fn monotonic_ms(&self) -> u64;

    /// Milliseconds since the Unix epoch (may step either way).
    fn unix_ms(&self) -> u64;
}

/// The system's clocks: `Instant` (from the first reading in this process) and
/// `SystemTime`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn monotonic_ms(&self) -> u64 {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        let elapsed = ORIGIN.get_or_init(Instant::now).elapsed();
        // From 1 (a zero reads as "never" to some callers).
        u64::try_from(elapsed.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    fn unix_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that moves only when told: for tests. Clones share it.
///
/// ```
/// use edge_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_800_000_000_000);
/// clock.advance_ms(1_500);
/// assert_eq!(clock.unix_ms(), 1_800_000_001_500);
/// // An operator sets the wall clock back an hour: windows do not notice.
/// let before = clock.monotonic_ms();
/// clock.set_unix_ms(1_800_000_001_500 - 3_600_000);
/// assert_eq!(clock.monotonic_ms(), before);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    monotonic: Arc<AtomicU64>,
    unix: Arc<AtomicU64>,
}

impl ManualClock {
    /// Both times reading `now_ms` (the wall time, in milliseconds since the
    /// Unix epoch; the monotonic time starts at the same number).
    pub fn new(now_ms: u64) -> Self {
        ManualClock {
            monotonic: Arc::new(AtomicU64::new(now_ms)),
            unix: Arc::new(AtomicU64::new(now_ms)),
        }
    }

    /// Let `ms` pass: both times move forward.
    pub fn advance_ms(&self, ms: u64) {
        self.monotonic.fetch_add(ms, Ordering::Relaxed);
        self.unix.fetch_add(ms, Ordering::Relaxed);
    }

    /// Let `by` pass (to the millisecond): both times move forward.
    pub fn advance(&self, by: std::time::Duration) {
        self.advance_ms(u64::try_from(by.as_millis()).unwrap_or(u64::MAX));
    }

    /// Step the wall clock to `unix_ms` (backwards too), as NTP or an operator
    /// may; the monotonic time does not move.
    pub fn set_unix_ms(&self, unix_ms: u64) {
        self.unix.store(unix_ms, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn monotonic_ms(&self) -> u64 {
        self.monotonic.load(Ordering::Relaxed)
    }

    fn unix_ms(&self) -> u64 {
        self.unix.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_is_monotonic_and_near_the_wall_time() {
        let clock = SystemClock;
        let first = clock.monotonic_ms();
        assert!(first >= 1);
        assert!(clock.monotonic_ms() >= first);
        // 2025-01-01 or later.
        assert!(clock.unix_ms() > 1_735_689_600_000);
    }
}
