//! State backends: in-process (sliding window or GCRA) and Redis.

#[cfg(feature = "gcra")]
pub(crate) mod gcra;
pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::future::Future;
use std::hash::Hash;
use std::net::IpAddr;
use std::pin::Pin;

use crate::StoreError;

/// Where a limiter keeps its counts: in this process (the default sliding
/// window, or GCRA) or shared by every instance (Redis). Implement it to keep
/// them elsewhere; the limiter gives each request's [`Hit`]s and turns the
/// [`Acquired`] outcomes into a verdict and headers.
///
/// ```
/// use edge_ratelimit::{Acquired, Acquisition, Hit, Outcome, RateLimitStore};
///
/// /// Admits everything and says so (a stand-in for a real store).
/// #[derive(Debug)]
/// struct Unlimited;
///
/// impl RateLimitStore for Unlimited {
///     fn acquire<'a>(&'a self, hits: &'a [Hit<'a>], _now_ms: u64) -> Acquisition<'a> {
///         let mut acquired = Acquired::new();
///         for hit in hits {
///             let outcome = Outcome { allowed: true, remaining: hit.limit, reset_ms: hit.period_ms };
///             acquired.push(hit.policy, outcome);
///         }
///         Acquisition::Now(acquired)
///     }
///
///     fn answers_at_once(&self) -> bool {
///         true
///     }
/// }
/// ```
pub trait RateLimitStore: Send + Sync + std::fmt::Debug + 'static {
    /// Count one request against every hit, all or nothing: either every
    /// policy admits it and counts it, or none counts it. `now_ms` is the
    /// limiter clock's monotonic time. Report each policy's state, in `hits`'
    /// order (a store may stop at the first policy that refuses).
    fn acquire<'a>(&'a self, hits: &'a [Hit<'a>], now_ms: u64) -> Acquisition<'a>;

    /// Whether [`acquire`](Self::acquire) always answers at once
    /// ([`Acquisition::Now`]): a middleware then checks without a future of its own.
    fn answers_at_once(&self) -> bool;

    /// A short name for the `store` label of
    /// [`metrics::STORE_ERRORS_TOTAL`](crate::metrics::STORE_ERRORS_TOTAL)
    /// (`redis`; `custom` unless a store names itself).
    fn name(&self) -> &'static str {
        "custom"
    }

    /// How many keys it holds in this process (0 for a shared store).
    fn tracked_keys(&self) -> usize {
        0
    }
}

/// A [`RateLimitStore`]'s answer.
pub enum Acquisition<'a> {
    /// Counted in process.
    Now(Acquired),
    /// Counted elsewhere: wait for it. An error applies the limiter's fail mode.
    Later(Pin<Box<dyn Future<Output = Result<Acquired, StoreError>> + Send + 'a>>),
}

impl std::fmt::Debug for Acquisition<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Acquisition::Now(acquired) => f.debug_tuple("Now").field(acquired).finish(),
            Acquisition::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// What one policy counts a request by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyValue<'a> {
    /// The client's address (IPv6 masked to the limiter's prefix).
    Ip(IpAddr),
    /// The authenticated subject.
    Subject(&'a str),
    /// The adapter's custom key.
    Custom(&'a str),
    /// One counter for everybody.
    Global,
}

impl std::fmt::Display for KeyValue<'_> {
    /// `ip:…`, `sub:…`, `key:…` or `global`: the key's part of a store key.
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
pub struct Hit<'a> {
    /// The policy's index in the limiter.
    pub policy: usize,
    /// The policy's name.
    pub name: &'a str,
    /// What the request is counted by under this policy.
    pub key: KeyValue<'a>,
    /// Requests allowed per window.
    pub limit: u32,
    /// The window, in milliseconds.
    pub period_ms: u64,
}

/// One policy's state after a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Whether this policy admitted the request.
    pub allowed: bool,
    /// Requests it still allows now.
    pub remaining: u32,
    /// Until capacity frees: the wait for one more request when none is left,
    /// else until the window ends.
    pub reset_ms: u64,
}

/// Every policy's outcome for one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acquired {
    pub(crate) outcomes: Outcomes,
}

/// Per-policy outcomes; requests rarely meet more than a few policies, so they
/// stay on the stack.
pub(crate) type Outcomes = smallvec::SmallVec<[(usize, Outcome); 4]>;

impl Acquired {
    /// No outcomes yet.
    pub fn new() -> Acquired {
        Acquired::default()
    }

    /// Add the outcome of the policy at index `policy`.
    pub fn push(&mut self, policy: usize, outcome: Outcome) {
        self.outcomes.push((policy, outcome));
    }

    /// The outcomes, by policy index.
    pub fn outcomes(&self) -> &[(usize, Outcome)] {
        &self.outcomes
    }

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
