//! A [`Verdict`] as HTTP: the headers for every response, and the 429/503 bodies.
//! Used by both adapters.

use http::{HeaderName, HeaderValue, StatusCode};

use crate::Verdict;
pub use crate::core::decision::headers;

/// The rejection status and problem+json body for a verdict that rejects.
pub fn rejection(verdict: &Verdict) -> Option<(StatusCode, String)> {
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
        Verdict::Allowed(_) | Verdict::Unlimited => return None,
    };
    Some((
        status,
        edge_core::Problem::new(status, code, detail).to_json(),
    ))
}

/// Whether a response already described by `inner` (an inner limiter's state)
/// should keep that description instead of `ours`: it is tighter (fewer
/// remaining, or as few and a longer wait).
pub fn keep_inner(inner: Option<&crate::RateLimitState>, ours: &Verdict) -> bool {
    match (inner, ours) {
        (_, Verdict::Limited { .. }) => false,
        (Some(inner), Verdict::Allowed(ours)) => {
            (inner.remaining, std::cmp::Reverse(inner.reset_secs))
                < (ours.remaining, std::cmp::Reverse(ours.reset_secs))
        }
        (Some(_), Verdict::Unlimited | Verdict::Unavailable) => true,
        (None, _) => false,
    }
}

/// Whether an enclosing limiter already describes the request more tightly than
/// `ours` — its state is the one it left in the request's extensions before
/// calling inward. It will label the response on the way out, so this limiter
/// need not (each rate-limit header is then written once, not overwritten).
pub fn outer_is_tighter(outer: Option<&crate::RateLimitState>, ours: &Verdict) -> bool {
    keep_inner(outer, ours)
}

/// The headers as `http` types, for the tower adapter.
pub fn header_pairs(verdict: &Verdict) -> impl Iterator<Item = (HeaderName, HeaderValue)> {
    headers(verdict).into_iter().filter_map(|(name, value)| {
        Some((
            HeaderName::from_static(name),
            // Takes the string's buffer: no copy.
            HeaderValue::try_from(value).ok()?,
        ))
    })
}
