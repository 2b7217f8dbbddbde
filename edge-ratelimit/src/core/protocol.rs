//! The request protocol both adapters drive: after a check, refuse or pass the
//! request inward, then label the response. The adapters only convert types.
//!
//! 1. Check the request ([`RateLimiter::check_local`], or [`RateLimiter::check`]
//!    when the store is Redis).
//! 2. [`RateLimiter::step`] with the state an enclosing limiter left in the
//!    request's extensions: [`Step::Refuse`] answers without calling inward;
//!    [`Step::Pass`] names the state to leave in the request's extensions and the
//!    verdict to label the response with.
//! 3. On the way out, [`RateLimiter::label`] with the state a limiter inside left
//!    in the response's extensions: the state to leave there and the header lines
//!    to set (replacing, not appending to, what that limiter wrote).

use std::sync::{Arc, OnceLock};

use http::StatusCode;

use crate::core::decision::{RateLimitState, Verdict, ceil_secs, policy_value, ratelimit_value};
use crate::core::limiter::RateLimiter;
use crate::core::policy_set::PolicySet;

/// A rate-limit response header. Each adapter maps it to its own header name type
/// ([`LimitHeader::name`] for `http` 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitHeader {
    /// `X-RateLimit-Limit`: requests allowed per window.
    Limit,
    /// `X-RateLimit-Remaining`: requests still allowed now.
    Remaining,
    /// `X-RateLimit-Reset`: seconds until capacity frees.
    Reset,
    /// `RateLimit` (IETF draft): `"policy";r=remaining;t=reset`.
    RateLimit,
    /// `RateLimit-Policy` (IETF draft): `"policy";q=limit;w=window`.
    RateLimitPolicy,
    /// `Retry-After` on a 429.
    RetryAfter,
}

impl LimitHeader {
    /// Every header, in the order a response gets them.
    pub const ALL: [LimitHeader; 6] = [
        LimitHeader::Limit,
        LimitHeader::Remaining,
        LimitHeader::Reset,
        LimitHeader::RateLimit,
        LimitHeader::RateLimitPolicy,
        LimitHeader::RetryAfter,
    ];

    /// The header's name, lower case.
    pub const fn as_str(self) -> &'static str {
        match self {
            LimitHeader::Limit => "x-ratelimit-limit",
            LimitHeader::Remaining => "x-ratelimit-remaining",
            LimitHeader::Reset => "x-ratelimit-reset",
            LimitHeader::RateLimit => "ratelimit",
            LimitHeader::RateLimitPolicy => "ratelimit-policy",
            LimitHeader::RetryAfter => "retry-after",
        }
    }

    /// The header's name as an `http` 1 name (made at compile time: a name
    /// parsed per request costs more than the rest of the line).
    pub fn name(self) -> http::HeaderName {
        use http::HeaderName;
        const LIMIT: HeaderName = HeaderName::from_static(LimitHeader::Limit.as_str());
        const REMAINING: HeaderName = HeaderName::from_static(LimitHeader::Remaining.as_str());
        const RESET: HeaderName = HeaderName::from_static(LimitHeader::Reset.as_str());
        const RATELIMIT: HeaderName = HeaderName::from_static(LimitHeader::RateLimit.as_str());
        const POLICY: HeaderName = HeaderName::from_static(LimitHeader::RateLimitPolicy.as_str());
        match self {
            LimitHeader::Limit => LIMIT,
            LimitHeader::Remaining => REMAINING,
            LimitHeader::Reset => RESET,
            LimitHeader::RateLimit => RATELIMIT,
            LimitHeader::RateLimitPolicy => POLICY,
            LimitHeader::RetryAfter => http::header::RETRY_AFTER,
        }
    }
}

/// One rate-limit header's value, for an adapter to turn into its own
/// `HeaderValue` ([`Label::header_value`] for `http` 1): the values that
/// never change (a policy's limit and `RateLimit-Policy`, small numbers) come
/// from tables the limiter made once, so a response costs no formatting, copy
/// or validation for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitValue {
    /// The limit of the limiter's policy at this index.
    Limit(usize),
    /// The `RateLimit-Policy` value of the limiter's policy at this index.
    Policy(usize),
    /// A number.
    Number(u64),
    /// Text made for this response (the `RateLimit` field).
    Text(String),
}

/// The header lines that describe a verdict.
pub type HeaderLines = smallvec::SmallVec<[(LimitHeader, LimitValue); 6]>;

/// What to do with a checked request.
#[derive(Debug)]
#[must_use]
pub enum Step {
    /// Answer with this refusal; do not call inward.
    Refuse(Box<Refusal>),
    /// Call inward.
    Pass {
        /// Leave this in the request's extensions for limiters inside.
        state: Option<RateLimitState>,
        /// Label the response with this verdict on the way out
        /// ([`RateLimiter::label`]); `None` when an enclosing limiter describes
        /// the request more tightly and labels it itself.
        label: Option<Verdict>,
    },
}

/// A refused request's response: 429, or 503 when the store is down and the
/// limiter fails closed.
#[derive(Debug)]
pub struct Refusal {
    /// 429 or 503.
    pub status: StatusCode,
    /// The verdict: kept in the response's extensions.
    pub verdict: Verdict,
    /// The state (kept in the response's extensions) and the headers.
    pub label: Label,
}

impl Refusal {
    /// The body and its media type: RFC 9457 problem+json (or what the renderer
    /// installed with [`edge_core::set_renderer`] makes of the problem), with
    /// the request's id when it has one (edge-core's
    /// [`RequestId`](edge_core::RequestId) extension). Made only for a refusal:
    /// an allowed request never looks the id up.
    pub fn body(&self, request_id: Option<&edge_core::RequestId>) -> edge_core::Rendered {
        match crate::core::decision::problem(&self.verdict) {
            Some(problem) => problem.request_id(request_id).render(),
            None => edge_core::Rendered {
                content_type: edge_core::PROBLEM_JSON,
                body: String::new(),
            },
        }
    }
}

/// How a response is described: the state to leave in its extensions (for an
/// access log and for limiters outside) and the header lines to set, whose
/// values [`Label::header_value`] makes.
#[derive(Debug, Default)]
pub struct Label {
    /// Leave this in the response's extensions.
    pub state: Option<RateLimitState>,
    /// Set these, replacing what a limiter inside wrote: one value per header.
    pub headers: HeaderLines,
    /// The policies the values refer to (those of the labelling, whatever a
    /// reconfiguration did since).
    set: Option<arc_swap::Guard<Arc<PolicySet>>>,
}

impl Label {
    /// A header line's value as an `http` 1 `HeaderValue` (`None` for text
    /// that is not a valid header value).
    pub fn header_value(&self, value: LimitValue) -> Option<http::HeaderValue> {
        resolve(self.set.as_deref().map(|set| &set.values), value)
    }

    /// The same in actix-web's `http` 0.2 types.
    #[cfg(feature = "actix")]
    pub(crate) fn header_value02(
        &self,
        value: LimitValue,
    ) -> Option<actix_web::http::header::HeaderValue> {
        resolve(self.set.as_deref().map(|set| &set.values02), value)
    }
}

/// `value` from `fixed` (the labelling's tables), or made when it is a number
/// or text.
fn resolve<V: ValueType>(fixed: Option<&FixedValues<V>>, value: LimitValue) -> Option<V> {
    match (fixed, value) {
        (Some(fixed), value) => fixed.value(value),
        (None, LimitValue::Number(n)) => Some(number::<V>(n)),
        (None, LimitValue::Text(text)) => V::text(text),
        (None, LimitValue::Limit(_) | LimitValue::Policy(_)) => None,
    }
}

/// A header value type (`http` 1's, or actix-web's `http` 0.2 one) and its
/// table of small numbers, made once per process.
pub(crate) trait ValueType: Clone + Sized + 'static {
    fn number(n: u64) -> Self;
    fn text(text: String) -> Option<Self>;
    /// The numbers up to [`SMALL_NUMBERS`], shared (a clone is a reference count).
    fn small_numbers() -> &'static [Self];
}

/// The largest number the small-number tables hold: every reset of windows up
/// to 17 minutes and the remaining count of quotas up to 1024.
const SMALL_NUMBERS: u64 = 1024;

impl ValueType for http::HeaderValue {
    fn number(n: u64) -> Self {
        http::HeaderValue::from(n)
    }

    fn text(text: String) -> Option<Self> {
        http::HeaderValue::try_from(text).ok()
    }

    fn small_numbers() -> &'static [Self] {
        static SMALL: OnceLock<Vec<http::HeaderValue>> = OnceLock::new();
        SMALL.get_or_init(|| (0..=SMALL_NUMBERS).map(Self::number).collect())
    }
}

#[cfg(feature = "actix")]
impl ValueType for actix_web::http::header::HeaderValue {
    fn number(n: u64) -> Self {
        actix_web::http::header::HeaderValue::from(n)
    }

    fn text(text: String) -> Option<Self> {
        actix_web::http::header::HeaderValue::try_from(text).ok()
    }

    fn small_numbers() -> &'static [Self] {
        static SMALL: OnceLock<Vec<actix_web::http::header::HeaderValue>> = OnceLock::new();
        SMALL.get_or_init(|| (0..=SMALL_NUMBERS).map(Self::number).collect())
    }
}

/// Each policy's values that never change, in one header value type.
#[derive(Debug)]
pub(crate) struct FixedValues<V> {
    limit: Vec<V>,
    policy: Vec<Option<V>>,
}

impl<V: ValueType> FixedValues<V> {
    pub(crate) fn of(policies: &[crate::Policy], names: &[Arc<str>]) -> Self {
        let (limit, policy) = policies
            .iter()
            .zip(names)
            .map(|(policy, name)| {
                let limit = policy.quota.limit();
                let window = ceil_secs(policy.quota.period_ms());
                (
                    number::<V>(limit.into()),
                    V::text(policy_value(name, limit, window)),
                )
            })
            .unzip();
        FixedValues { limit, policy }
    }

    /// `value` as a `V` (`None` for text that is not a valid header value).
    pub(crate) fn value(&self, value: LimitValue) -> Option<V> {
        match value {
            LimitValue::Limit(i) => self.limit.get(i).cloned(),
            LimitValue::Policy(i) => self.policy.get(i).cloned().flatten(),
            LimitValue::Number(n) => Some(number::<V>(n)),
            LimitValue::Text(text) => V::text(text),
        }
    }
}

/// `n` as a `V`: shared from the table when small, made otherwise.
fn number<V: ValueType>(n: u64) -> V {
    usize::try_from(n)
        .ok()
        .and_then(|i| V::small_numbers().get(i))
        .cloned()
        .unwrap_or_else(|| V::number(n))
}

impl RateLimiter {
    /// Step 2 of the protocol: refuse the request, or pass it inward. `outer` is
    /// the [`RateLimitState`] an enclosing limiter left in the request's
    /// extensions.
    pub fn step(&self, verdict: Verdict, outer: Option<&RateLimitState>) -> Step {
        if let Some(status) = crate::core::decision::refusal_status(&verdict) {
            let label = self.label(&verdict, None).unwrap_or_default();
            return Step::Refuse(Box::new(Refusal {
                status,
                verdict,
                label,
            }));
        }
        if keep_inner(outer, &verdict) {
            return Step::Pass {
                state: None,
                label: None,
            };
        }
        Step::Pass {
            state: verdict.state().cloned(),
            label: Some(verdict),
        }
    }

    /// Step 3 of the protocol: how to describe the response, given the state a
    /// limiter inside left in its extensions (`inner`); `None` when that state is
    /// tighter and stays. Records the state in the current span.
    pub fn label(&self, verdict: &Verdict, inner: Option<&RateLimitState>) -> Option<Label> {
        if keep_inner(inner, verdict) {
            return None;
        }
        let Some(state) = verdict.state() else {
            return Some(Label::default());
        };
        crate::core::decision::record_in_span(state);
        // The limiter's own policy (not one of another limiter, nor one a
        // reconfiguration replaced): its fixed values.
        let set = self.policy_set();
        let own = set.index_of(state);
        let mut headers = HeaderLines::new();
        headers.push((
            LimitHeader::Limit,
            own.map_or(LimitValue::Number(state.limit.into()), LimitValue::Limit),
        ));
        headers.push((
            LimitHeader::Remaining,
            LimitValue::Number(state.remaining.into()),
        ));
        headers.push((LimitHeader::Reset, LimitValue::Number(state.reset_secs)));
        headers.push((
            LimitHeader::RateLimit,
            LimitValue::Text(ratelimit_value(state)),
        ));
        headers.push((
            LimitHeader::RateLimitPolicy,
            own.map_or_else(
                || LimitValue::Text(policy_value(&state.policy, state.limit, state.window_secs)),
                LimitValue::Policy,
            ),
        ));
        if let Verdict::Limited {
            retry_after_secs, ..
        } = verdict
        {
            headers.push((
                LimitHeader::RetryAfter,
                LimitValue::Number(*retry_after_secs),
            ));
        }
        Some(Label {
            state: Some(state.clone()),
            headers,
            set: Some(set),
        })
    }
}

/// Whether a response (or request) already described by `other` (another
/// limiter's state) should keep that description instead of `ours`: it is
/// tighter (fewer remaining, or as few and a longer wait). A refusal always
/// describes itself.
fn keep_inner(other: Option<&RateLimitState>, ours: &Verdict) -> bool {
    match (other, ours) {
        (_, Verdict::Limited { .. }) => false,
        (Some(other), Verdict::Allowed(ours)) => {
            (other.remaining, std::cmp::Reverse(other.reset_secs))
                < (ours.remaining, std::cmp::Reverse(ours.reset_secs))
        }
        (Some(_), Verdict::Unlimited | Verdict::Unavailable | Verdict::NoClientAddress) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(policy: &str, remaining: u32, reset_secs: u64) -> RateLimitState {
        RateLimitState {
            policy: Arc::from(policy),
            limit: 10,
            remaining,
            reset_secs,
            window_secs: 60,
        }
    }

    #[test]
    fn the_tighter_state_describes_the_request() {
        let loose = Verdict::Allowed(state("ip", 9, 60));
        let tight = state("user", 2, 60);
        assert!(keep_inner(Some(&tight), &loose));
        assert!(!keep_inner(
            Some(&state("ip", 9, 60)),
            &Verdict::Allowed(tight.clone())
        ));
        // As few remaining: the longer wait is tighter.
        assert!(keep_inner(
            Some(&state("a", 2, 90)),
            &Verdict::Allowed(state("b", 2, 30))
        ));
        assert!(!keep_inner(
            Some(&tight),
            &Verdict::Limited {
                state: state("x", 0, 5),
                retry_after_secs: 5
            }
        ));
        assert!(keep_inner(Some(&tight), &Verdict::Unlimited));
        assert!(!keep_inner(None, &loose));
    }

    fn lines(label: &Label) -> Vec<(&'static str, String)> {
        label
            .headers
            .iter()
            .map(|(h, v)| {
                let value = label.header_value(v.clone()).unwrap();
                (h.as_str(), value.to_str().unwrap().to_owned())
            })
            .collect()
    }

    #[test]
    fn labels_carry_every_header_with_or_without_the_fixed_values() {
        let limiter = RateLimiter::builder()
            .policy(
                crate::Policy::new("ip", "600/1m".parse().unwrap(), crate::KeyKind::ClientIp)
                    .unwrap(),
            )
            .build()
            .unwrap();
        let own = state("ip", 17, 42);
        let own = RateLimitState {
            policy: Arc::clone(&limiter.policy_set().names[0]),
            limit: 600,
            ..own
        };
        // Same name, not the limiter's policy: the values are computed.
        let foreign = RateLimitState {
            policy: Arc::from("ip"),
            ..own
        };
        let expected = [
            ("x-ratelimit-limit", "600".to_owned()),
            ("x-ratelimit-remaining", "17".to_owned()),
            ("x-ratelimit-reset", "42".to_owned()),
            ("ratelimit", "\"ip\";r=17;t=42".to_owned()),
            ("ratelimit-policy", "\"ip\";q=600;w=60".to_owned()),
        ];
        for state in [own.clone(), foreign] {
            let label = limiter
                .label(&Verdict::Allowed(state.clone()), None)
                .unwrap();
            assert_eq!(lines(&label), expected);
            assert_eq!(label.state, Some(state));
        }
        let limited = Verdict::Limited {
            state: RateLimitState {
                remaining: 0,
                ..own
            },
            retry_after_secs: 7,
        };
        let Step::Refuse(refusal) = limiter.step(limited, None) else {
            panic!("a limited verdict is refused");
        };
        assert_eq!(refusal.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            refusal
                .body(None)
                .body
                .contains("\"code\":\"rate_limited\"")
        );
        assert_eq!(
            lines(&refusal.label).last().unwrap(),
            &("retry-after", "7".to_owned())
        );
        assert!(
            limiter
                .label(&Verdict::Unlimited, None)
                .unwrap()
                .headers
                .is_empty()
        );
    }

    #[test]
    fn header_names_are_lower_case_http_names() {
        for header in LimitHeader::ALL {
            assert_eq!(header.name().as_str(), header.as_str());
        }
    }

    #[test]
    fn numbers_small_and_large() {
        for n in [0, 1, 999, 1024, 1025, u64::MAX] {
            let value: http::HeaderValue = number(n);
            assert_eq!(value.to_str().unwrap(), n.to_string());
        }
    }
}
