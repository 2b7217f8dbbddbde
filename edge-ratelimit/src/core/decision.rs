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
    /// A per-client policy applies, the client's address is unknown and the
    /// limiter refuses such requests ([`MissingClient::Refuse`](crate::MissingClient)): 500.
    NoClientAddress,
    /// No policy applies to this request.
    Unlimited,
}

impl Verdict {
    /// The state to describe in headers, if any.
    pub fn state(&self) -> Option<&RateLimitState> {
        match self {
            Verdict::Allowed(state) | Verdict::Limited { state, .. } => Some(state),
            Verdict::Unavailable | Verdict::NoClientAddress | Verdict::Unlimited => None,
        }
    }
}

/// The status of a verdict that refuses.
pub(crate) fn refusal_status(verdict: &Verdict) -> Option<http::StatusCode> {
    match verdict {
        Verdict::Limited { .. } => Some(http::StatusCode::TOO_MANY_REQUESTS),
        Verdict::Unavailable => Some(http::StatusCode::SERVICE_UNAVAILABLE),
        Verdict::NoClientAddress => Some(http::StatusCode::INTERNAL_SERVER_ERROR),
        Verdict::Allowed(_) | Verdict::Unlimited => None,
    }
}

/// The problem of a verdict that refuses.
pub(crate) fn problem(verdict: &Verdict) -> Option<edge_core::Problem> {
    use http::StatusCode;
    let (status, code, detail) = match verdict {
        Verdict::Limited {
            retry_after_secs,
            state,
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "the {} limit of {} requests is used up; retry in {retry_after_secs} s",
                state.policy, state.limit
            ),
        ),
        Verdict::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "the rate-limit store is unavailable; retry shortly".to_owned(),
        ),
        Verdict::NoClientAddress => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server cannot tell the client's address, so it cannot apply its rate limits"
                .to_owned(),
        ),
        Verdict::Allowed(_) | Verdict::Unlimited => return None,
    };
    Some(edge_core::Problem::new(status, code, detail))
}

/// `"policy";q=limit;w=window`: the `RateLimit-Policy` value (fixed per policy).
pub(crate) fn policy_value(policy: &str, limit: u32, window_secs: u64) -> String {
    structured(policy, "\";q=", limit.into(), ";w=", window_secs)
}

/// `"policy";r=remaining;t=reset`: the `RateLimit` value.
pub(crate) fn ratelimit_value(state: &RateLimitState) -> String {
    structured(
        &state.policy,
        "\";r=",
        state.remaining.into(),
        ";t=",
        state.reset_secs,
    )
}

// Built by hand: `format!` costs several times more on this hot path.
// Sized exactly: a header value takes the string's buffer as it is only when
// it has no spare capacity (else `Bytes` allocates a header of its own).
fn structured(policy: &str, a: &str, x: u64, b: &str, y: u64) -> String {
    let (x, y) = (
        edge_core::text::Decimal::new(x),
        edge_core::text::Decimal::new(y),
    );
    let (x, y) = (x.as_str(), y.as_str());
    let mut value = String::with_capacity(1 + policy.len() + a.len() + x.len() + b.len() + y.len());
    value.push('"');
    value.push_str(policy);
    value.push_str(a);
    value.push_str(x);
    value.push_str(b);
    value.push_str(y);
    value
}

/// Whole seconds for `ms`, rounded up, at least 1.
pub(crate) fn ceil_secs(ms: u64) -> u64 {
    ms.div_ceil(1000).max(1)
}

/// Record `state` in the current span's [`SPAN_FIELD`](crate::SPAN_FIELD) as
/// `policy:remaining/limit` — done where a limiter's state becomes the one that
/// describes the response (the tightest of a stack's limiters), so the span and
/// the headers agree.
pub(crate) fn record_in_span(state: &RateLimitState) {
    tracing::Span::current().record(
        crate::SPAN_FIELD,
        tracing::field::display(format_args!(
            "{}:{}/{}",
            state.policy, state.remaining, state.limit
        )),
    );
}
