//! The sliding-window counter (the weighted two-window approximation).
//!
//! Time is cut into fixed windows of one period. The estimate of requests in the
//! last period at elapsed time `e` into the current window is
//! `prev * (P - e) / P + curr`; a request is allowed while the estimate, with it,
//! stays within the limit. Right after a window boundary the previous window
//! still weighs (almost) fully, so there is no double burst at boundaries.
//!
//! Precision: the estimate assumes the previous window's requests were spread
//! evenly. It never allows more than `limit` requests in any window-aligned
//! period, and at most about `limit` in any sliding period (exactly so when
//! arrivals are even); it is what Cloudflare and Kong's "sliding" mode use. All
//! arithmetic is in integers (milliseconds and counts), so there is no rounding.

/// One key's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Window {
    /// The index of the current window (`now_ms / period_ms`).
    pub(crate) index: u64,
    /// Requests counted in the previous window.
    pub(crate) prev: u32,
    /// Requests counted in the current window.
    pub(crate) curr: u32,
    /// The window length the counts are for (0 before the first request).
    pub(crate) period_ms: u64,
}

/// A key's counters as seen at one instant, after the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observed {
    pub(crate) prev: u32,
    pub(crate) curr: u32,
    /// Milliseconds since the current window began.
    pub(crate) elapsed_ms: u64,
}

impl Window {
    /// Move to the window containing `now_ms`.
    pub(crate) fn roll(&mut self, now_ms: u64, period_ms: u64) -> u64 {
        let index = now_ms / period_ms;
        if period_ms != self.period_ms {
            // A new window length (a reconfiguration): what the old windows
            // counted stays counted in the new one, so no capacity is freed.
            self.curr = self.prev.saturating_add(self.curr);
            self.prev = 0;
            self.index = index;
            self.period_ms = period_ms;
        } else if index != self.index {
            self.prev = if index == self.index + 1 {
                self.curr
            } else {
                0
            };
            self.curr = 0;
            self.index = index;
        }
        now_ms - index * period_ms
    }

    /// Whether one more request fits, without counting it.
    pub(crate) fn admits(&self, elapsed_ms: u64, limit: u32, period_ms: u64) -> bool {
        fits(self.prev, self.curr + 1, elapsed_ms, limit, period_ms)
    }
}

/// `(used, capacity)` = `(prev * (P - e) + curr * P, limit * P)`, in `u64` when it
/// fits (always, for sane quotas) and `u128` otherwise.
fn weights(prev: u32, curr: u32, elapsed_ms: u64, limit: u32, period_ms: u64) -> (u128, u128) {
    let left = period_ms - elapsed_ms.min(period_ms);
    let fast = u64::from(prev).checked_mul(left).and_then(|w| {
        let current = u64::from(curr).checked_mul(period_ms)?;
        Some((
            w.checked_add(current)?,
            u64::from(limit).checked_mul(period_ms)?,
        ))
    });
    match fast {
        Some((used, capacity)) => (u128::from(used), u128::from(capacity)),
        None => {
            let p = u128::from(period_ms);
            (
                u128::from(prev) * u128::from(left) + u128::from(curr) * p,
                u128::from(limit) * p,
            )
        }
    }
}

/// Whether `prev * (P - e) + curr * P <= limit * P`.
fn fits(prev: u32, curr: u32, elapsed_ms: u64, limit: u32, period_ms: u64) -> bool {
    let (used, capacity) = weights(prev, curr, elapsed_ms, limit, period_ms);
    used <= capacity
}

impl Observed {
    /// Requests still allowed right now.
    pub(crate) fn remaining(&self, limit: u32, period_ms: u64) -> u32 {
        let p = u128::from(period_ms);
        let used = u128::from(self.prev) * (p - u128::from(self.elapsed_ms.min(period_ms)))
            + u128::from(self.curr) * p;
        let capacity = u128::from(limit) * p;
        u32::try_from(capacity.saturating_sub(used) / p).unwrap_or(u32::MAX)
    }

    /// Milliseconds until one more request fits (0 if it fits now).
    pub(crate) fn wait_ms(&self, limit: u32, period_ms: u64) -> u64 {
        if fits(self.prev, self.curr + 1, self.elapsed_ms, limit, period_ms) {
            return 0;
        }
        let p = u128::from(period_ms);
        let e = u128::from(self.elapsed_ms.min(period_ms));
        let (limit, prev, curr) = (
            u128::from(limit),
            u128::from(self.prev),
            u128::from(self.curr),
        );
        let wait = if curr < limit {
            // Within this window, once enough of the previous window has slid out:
            // prev * (P - e - t) <= (limit - curr - 1) * P.
            let allowed_prev_weight = (limit - curr - 1) * p;
            (p - e).saturating_sub(allowed_prev_weight / prev.max(1))
        } else {
            // Only in the next window, where this one becomes the previous:
            // curr * (P - t') <= (limit - 1) * P.
            (p - e) + p.saturating_sub((limit - 1) * p / curr.max(1))
        };
        u64::try_from(wait.max(1)).unwrap_or(u64::MAX)
    }

    /// Milliseconds until the current window ends.
    pub(crate) fn window_left_ms(&self, period_ms: u64) -> u64 {
        period_ms.saturating_sub(self.elapsed_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Count requests at `now` into a window, as a store does.
    fn hit(window: &mut Window, now: u64, limit: u32, period: u64) -> bool {
        let elapsed = window.roll(now, period);
        let ok = window.admits(elapsed, limit, period);
        if ok {
            window.curr += 1;
        }
        ok
    }

    #[test]
    fn allows_exactly_the_limit_in_a_window() {
        let mut w = Window::default();
        let allowed = (0..20).filter(|i| hit(&mut w, 1000 + i, 10, 1000)).count();
        assert_eq!(allowed, 10);
    }

    #[test]
    fn no_double_burst_across_a_window_boundary() {
        // Fill the limit at the very end of one window, then try again right after the boundary.
        let mut w = Window::default();
        assert_eq!((0..10).filter(|_| hit(&mut w, 1999, 10, 1000)).count(), 10);
        assert_eq!((0..10).filter(|_| hit(&mut w, 2001, 10, 1000)).count(), 0);
        // Half a window later about half the previous window has slid out.
        assert_eq!((0..10).filter(|_| hit(&mut w, 2500, 10, 1000)).count(), 5);
        // Two windows later everything is free again.
        assert_eq!((0..20).filter(|_| hit(&mut w, 4000, 10, 1000)).count(), 10);
    }

    #[test]
    fn wait_is_exactly_when_the_next_request_fits() {
        for (prev, curr, elapsed) in [
            (10, 0, 1),
            (10, 1, 50),
            (6, 6, 300),
            (0, 10, 200),
            (10, 10, 999),
            (3, 10, 0),
            (10, 0, 0),
        ] {
            let observed = Observed {
                prev,
                curr,
                elapsed_ms: elapsed,
            };
            let wait = observed.wait_ms(10, 1000);
            assert!(wait >= 1, "{observed:?} already fits");
            // Replay: not before `wait`, but at `wait`.
            let mut w = Window {
                index: 5,
                prev,
                curr,
                period_ms: 1000,
            };
            let start = 5 * 1000 + elapsed;
            let mut before = w;
            let e = before.roll(start + wait - 1, 1000);
            assert!(
                !before.admits(e, 10, 1000),
                "{observed:?} admitted before {wait}"
            );
            let e = w.roll(start + wait, 1000);
            assert!(w.admits(e, 10, 1000), "{observed:?} not admitted at {wait}");
        }
    }

    #[test]
    fn a_new_window_length_keeps_the_count_as_the_previous_window() {
        let mut w = Window::default();
        for _ in 0..8 {
            assert!(hit(&mut w, 10_500, 10, 1000));
        }
        // Now 10 per 10 s: the 8 already counted still count.
        let e = w.roll(10_600, 10_000);
        assert_eq!((w.prev, w.curr, w.period_ms), (0, 8, 10_000));
        assert!(w.admits(e, 10, 10_000));
        w.curr += 1;
        assert!(w.admits(e, 10, 10_000));
        w.curr += 1;
        assert!(!w.admits(e, 10, 10_000), "a longer window freed capacity");
    }

    #[test]
    fn huge_quotas_do_not_overflow() {
        let year = 365 * 86_400_000;
        let o = Observed {
            prev: u32::MAX,
            curr: u32::MAX - 1,
            elapsed_ms: 1,
        };
        assert_eq!(o.remaining(u32::MAX, year), 0);
        let mut w = Window::default();
        assert!(hit(&mut w, year * 3, u32::MAX, year));
    }

    #[test]
    fn remaining_counts_down() {
        let o = Observed {
            prev: 0,
            curr: 3,
            elapsed_ms: 10,
        };
        assert_eq!(o.remaining(10, 1000), 7);
        let o = Observed {
            prev: 10,
            curr: 0,
            elapsed_ms: 500,
        };
        assert_eq!(o.remaining(10, 1000), 5);
        let o = Observed {
            prev: 0,
            curr: 12,
            elapsed_ms: 0,
        };
        assert_eq!(o.remaining(10, 1000), 0);
    }
}
