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
        headers.push(("x-ratelimit-limit", decimal(state.limit.into())));
        headers.push(("x-ratelimit-remaining", decimal(state.remaining.into())));
        headers.push(("x-ratelimit-reset", decimal(state.reset_secs)));
        headers.push(("ratelimit", ratelimit_value(state)));
        headers.push((
            "ratelimit-policy",
            policy_value(&state.policy, state.limit, state.window_secs),
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
fn structured(policy: &str, a: &str, x: u64, b: &str, y: u64) -> String {
    let mut value = String::with_capacity(policy.len() + 32);
    value.push('"');
    value.push_str(policy);
    value.push_str(a);
    push_decimal(&mut value, x);
    value.push_str(b);
    push_decimal(&mut value, y);
    value
}

fn decimal(n: u64) -> String {
    edge_core::text::Decimal::new(n).as_str().to_owned()
}

/// Append `n` in decimal, without the formatting machinery.
fn push_decimal(out: &mut String, n: u64) {
    out.push_str(edge_core::text::Decimal::new(n).as_str());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_an_allowed_request() {
        let state = RateLimitState {
            policy: Arc::from("ip"),
            limit: 600,
            remaining: 599,
            reset_secs: 60,
            window_secs: 60,
        };
        let headers = headers(&Verdict::Allowed(state));
        assert_eq!(
            headers,
            [
                ("x-ratelimit-limit", "600".to_owned()),
                ("x-ratelimit-remaining", "599".to_owned()),
                ("x-ratelimit-reset", "60".to_owned()),
                ("ratelimit", "\"ip\";r=599;t=60".to_owned()),
                ("ratelimit-policy", "\"ip\";q=600;w=60".to_owned()),
            ]
        );
    }
}
