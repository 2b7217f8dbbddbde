//! The outcome of a check, and the headers that describe it.

use std::sync::Arc;

/// The state of the most restrictive policy for one request. Put into the
/// request's and response's extensions for later layers (an access log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitState {
    /// The policy's name.
    pub policy: Arc<str>,
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests still allowed now.
    pub remaining: u32,
    /// Seconds until capacity frees (at least 1 when none is left).
    pub reset_secs: u64,
    /// The policy's window in seconds.
    pub window_secs: u64,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through; describe `state` in the response headers.
    Allowed(RateLimitState),
    /// Reject it with 429 and `Retry-After: retry_after_secs`.
    Limited {
        /// The most restrictive rejecting policy.
        state: RateLimitState,
        /// Whole seconds until a retry can succeed (at least 1).
        retry_after_secs: u64,
    },
    /// The shared store is unreachable and the limiter fails closed: 503.
    Unavailable,
    /// No policy applies to this request.
    Unlimited,
}

impl Verdict {
    /// The state to describe in headers, if any.
    pub fn state(&self) -> Option<&RateLimitState> {
        match self {
            Verdict::Allowed(state) | Verdict::Limited { state, .. } => Some(state),
            Verdict::Unavailable | Verdict::Unlimited => None,
        }
    }
}

/// The response headers for `verdict`: `X-RateLimit-Limit`, `-Remaining`, `-Reset`,
/// the IETF `RateLimit` and `RateLimit-Policy` fields, and `Retry-After` on 429.
pub fn headers(verdict: &Verdict) -> Vec<(&'static str, String)> {
    let mut headers = Vec::with_capacity(6);
    if let Some(state) = verdict.state() {
        headers.push(("x-ratelimit-limit", state.limit.to_string()));
        headers.push(("x-ratelimit-remaining", state.remaining.to_string()));
        headers.push(("x-ratelimit-reset", state.reset_secs.to_string()));
        headers.push((
            "ratelimit",
            format!(
                "\"{}\";r={};t={}",
                state.policy, state.remaining, state.reset_secs
            ),
        ));
        headers.push((
            "ratelimit-policy",
            format!(
                "\"{}\";q={};w={}",
                state.policy, state.limit, state.window_secs
            ),
        ));
    }
    if let Verdict::Limited {
        retry_after_secs, ..
    } = verdict
    {
        headers.push(("retry-after", retry_after_secs.to_string()));
    }
    headers
}

/// Whole seconds for `ms`, rounded up, at least 1.
pub(crate) fn ceil_secs(ms: u64) -> u64 {
    ms.div_ceil(1000).max(1)
}

/// Record `state` in the current span's [`SPAN_FIELD`](crate::SPAN_FIELD) as
/// `policy:remaining/limit`.
pub(crate) fn record_in_span(state: &RateLimitState) {
    tracing::Span::current().record(
        crate::SPAN_FIELD,
        tracing::field::display(format_args!(
            "{}:{}/{}",
            state.policy, state.remaining, state.limit
        )),
    );
}
