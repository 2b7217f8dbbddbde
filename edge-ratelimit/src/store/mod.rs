//! State backends: in-process (sliding window or GCRA) and Redis.

#[cfg(feature = "gcra")]
pub(crate) mod gcra;
pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::hash::Hash;
use std::net::IpAddr;

/// What one policy counts one request by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum KeyValue<'a> {
    Ip(IpAddr),
    Subject(&'a str),
    Custom(&'a str),
    Global,
}

impl std::fmt::Display for KeyValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyValue::Ip(ip) => write!(f, "ip:{ip}"),
            KeyValue::Subject(subject) => write!(f, "sub:{subject}"),
            KeyValue::Custom(key) => write!(f, "key:{key}"),
            KeyValue::Global => f.write_str("global"),
        }
    }
}

/// One policy's part of a check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit<'a> {
    /// The policy's index in the limiter.
    pub(crate) policy: usize,
    pub(crate) key: KeyValue<'a>,
    pub(crate) limit: u32,
    pub(crate) period_ms: u64,
}

/// One policy's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) allowed: bool,
    pub(crate) remaining: u32,
    /// Until capacity frees: the wait for one more request when none is left,
    /// else until the window ends.
    pub(crate) reset_ms: u64,
}

/// All hits of a request, counted all-or-nothing: either every policy admitted
/// the request and counted it, or none counted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Acquired {
    pub(crate) outcomes: Outcomes,
}

/// Per-policy outcomes; requests rarely meet more than a few policies, so they
/// stay on the stack.
pub(crate) type Outcomes = smallvec::SmallVec<[(usize, Outcome); 4]>;

impl Acquired {
    pub(crate) fn allowed(&self) -> bool {
        self.outcomes.iter().all(|(_, o)| o.allowed)
    }
}

/// The outcome for a sliding-window observation.
pub(crate) fn window_outcome(
    allowed: bool,
    observed: crate::core::window::Observed,
    hit: &Hit<'_>,
) -> Outcome {
    let remaining = observed.remaining(hit.limit, hit.period_ms);
    let reset_ms = if allowed && remaining > 0 {
        observed.window_left_ms(hit.period_ms)
    } else {
        observed.wait_ms(hit.limit, hit.period_ms)
    };
    Outcome {
        allowed,
        remaining,
        reset_ms,
    }
}
