//! actix-web middleware: [`RateLimit`] checks every request before the routes.
//!
//! ```
//! use actix_web::{App, web};
//! use edge_ratelimit::{KeyKind, Policy, RateLimiter, actix::RateLimit};
//!
//! // Build the limiter once, outside `HttpServer::new`, so workers share it.
//! let limiter = RateLimiter::builder()
//!     .policy(Policy::new("ip", "600/1m".parse()?, KeyKind::ClientIp)?)
//!     .build()?;
//! let app = App::new().wrap(RateLimit::new(limiter)).route("/", web::get().to(|| async { "ok" }));
//! # Ok::<(), edge_ratelimit::ConfigError>(())
//! ```

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use actix_web::body::EitherBody;
use actix_web::dev::{
    Extensions, Service, ServiceRequest, ServiceResponse, Transform, forward_ready,
};
use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::{HttpMessage, HttpResponse};
use futures_util::future::{Either, LocalBoxFuture};

use edge_core::ClientIp;

use crate::{RateLimitState, RateLimiter, RequestInfo, Verdict, response};

// Made at compile time: a name given as `&str` is parsed (and a non-standard one
// copied) on every lookup.
const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// Borrows the subject from the extensions: no copy per request.
type Subject = Arc<dyn Fn(&Extensions) -> Option<&str>>;
type Key = Arc<dyn Fn(&ServiceRequest) -> Option<String>>;

/// The middleware factory: `App::new().wrap(RateLimit::new(limiter))`.
#[derive(Clone)]
#[must_use]
pub struct RateLimit {
    limiter: RateLimiter,
    subject: Subject,
    key: Key,
    fixed: Arc<[FixedHeaders]>,
}

/// The header values of one policy that never change, made once.
struct FixedHeaders {
    policy: Arc<str>,
    limit: HeaderValue,
    policy_value: HeaderValue,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl RateLimit {
    /// Check with `limiter`; no subject until [`RateLimit::subject_from`].
    pub fn new(limiter: RateLimiter) -> Self {
        let fixed = limiter
            .policies()
            .iter()
            .zip(limiter.names())
            .filter_map(|(policy, name)| {
                let limit = policy.quota.limit();
                let window = crate::core::decision::ceil_secs(policy.quota.period_ms());
                Some(FixedHeaders {
                    policy: Arc::clone(name),
                    limit: HeaderValue::from(limit),
                    policy_value: HeaderValue::try_from(crate::core::decision::policy_value(
                        name, limit, window,
                    ))
                    .ok()?,
                })
            })
            .collect();
        RateLimit {
            fixed,
            limiter,
            subject: Arc::new(|_: &Extensions| None),
            key: Arc::new(|_: &ServiceRequest| None),
        }
    }

    /// The key of `KeyKind::Custom` policies, from the whole request (e.g. an API
    /// key header or a tenant in the path).
    pub fn key_from(mut self, key: impl Fn(&ServiceRequest) -> Option<String> + 'static) -> Self {
        self.key = Arc::new(key);
        self
    }

    /// Where the authenticated subject is found in the request extensions (e.g.
    /// `|ext| ext.get::<edge_auth::Identity>().map(|i| i.subject())`), borrowed
    /// from them.
    pub fn subject_from(mut self, subject: impl Fn(&Extensions) -> Option<&str> + 'static) -> Self {
        self.subject = Arc::new(subject);
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for RateLimit
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RateLimitMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RateLimitMiddleware {
            service: Rc::new(service),
            config: Rc::new(self.clone()),
        }))
    }
}

/// The middleware built by [`RateLimit`].
pub struct RateLimitMiddleware<S> {
    service: Rc<S>,
    config: Rc<RateLimit>,
}

impl<S> std::fmt::Debug for RateLimitMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitMiddleware")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for RateLimitMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    /// With an in-process store the check is made before the inner service is
    /// called, and the response passes through a named future; a Redis check
    /// (a round trip) needs a boxed one.
    type Future = Either<
        CheckedResponse<S::Future>,
        LocalBoxFuture<'static, Result<Self::Response, Self::Error>>,
    >;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let custom = (self.config.key)(&request);
        let local = {
            let extensions = request.extensions();
            let subject = (self.config.subject)(&extensions);
            let info = request_info(&request, &self.config.limiter, subject, custom.as_deref());
            self.config.limiter.check_local(&info)
        };
        if let Some(verdict) = local {
            return match rejection(&verdict) {
                Some(rejection) => {
                    let mut response = request.into_response(rejection).map_into_right_body();
                    finish(&mut response, &verdict, &self.config.fixed);
                    Either::Right(Box::pin(ready(Ok(response))))
                }
                None => {
                    let verdict = pass_inward(&request, verdict);
                    Either::Left(CheckedResponse {
                        inner: self.service.call(request),
                        verdict,
                        config: Rc::clone(&self.config),
                    })
                }
            };
        }
        // Checked after an await: the subject is copied.
        let subject = (self.config.subject)(&request.extensions()).map(str::to_owned);
        let service = Rc::clone(&self.service);
        let config = Rc::clone(&self.config);
        Either::Right(Box::pin(async move {
            let verdict = {
                let info = request_info(
                    &request,
                    &config.limiter,
                    subject.as_deref(),
                    custom.as_deref(),
                );
                config.limiter.check(&info).await
            };
            if let Some(rejection) = rejection(&verdict) {
                let mut response = request.into_response(rejection).map_into_right_body();
                finish(&mut response, &verdict, &config.fixed);
                return Ok(response);
            }
            let verdict = pass_inward(&request, verdict);
            let mut response = service.call(request).await?.map_into_left_body();
            if let Some(verdict) = verdict {
                finish(&mut response, &verdict, &config.fixed);
            }
            Ok(response)
        }))
    }
}

/// What the limiter reads of a request.
fn request_info<'a>(
    request: &'a ServiceRequest,
    limiter: &RateLimiter,
    subject: Option<&'a str>,
    custom: Option<&'a str>,
) -> RequestInfo<'a> {
    let peer = request.peer_addr().map(|a| a.ip());
    // Resolved by an outer layer, else here (the header is read only behind a proxy).
    let client = request
        .extensions()
        .get::<ClientIp>()
        .map(|c| c.ip())
        .or_else(|| {
            limiter.trusted_proxies().resolve_lines(peer, |name| {
                request
                    .headers()
                    .get_all(name.as_str())
                    .filter_map(|v| v.to_str().ok())
            })
        });
    RequestInfo {
        method: request.method().as_str(),
        path: request.path(),
        peer,
        client,
        forwarded: Vec::new(),
        subject,
        custom,
    }
}

/// The 429 (or 503) for a refused request, the verdict kept in its extensions.
fn rejection(verdict: &Verdict) -> Option<HttpResponse> {
    let (status, body) = response::rejection(verdict)?;
    let status = edge_core::http02::status_to_http02(status);
    let mut rejection = HttpResponse::build(status)
        .insert_header((
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ))
        .body(body);
    rejection.extensions_mut().insert(verdict.clone());
    Some(rejection)
}

/// Leave an allowed request's state in its extensions for the limiters inside;
/// returns the verdict to label the response with, or `None` when an enclosing
/// limiter's state is tighter (that limiter labels it).
fn pass_inward(request: &ServiceRequest, verdict: Verdict) -> Option<Verdict> {
    let mut extensions = request.extensions_mut();
    if response::outer_is_tighter(extensions.get::<RateLimitState>(), &verdict) {
        return None;
    }
    if let Some(state) = verdict.state() {
        extensions.insert(state.clone());
    }
    Some(verdict)
}

/// Label the response with the verdict — unless a limiter inside already put a
/// tighter state on it: several limiters in a stack, the tightest describes it.
fn finish<B>(response: &mut ServiceResponse<B>, verdict: &Verdict, fixed: &[FixedHeaders]) {
    let keep_inner = response::keep_inner(
        response.response().extensions().get::<RateLimitState>(),
        verdict,
    );
    if keep_inner {
        return;
    }
    if let Some(state) = verdict.state() {
        crate::core::decision::record_in_span(state);
        response
            .response_mut()
            .extensions_mut()
            .insert(state.clone());
    }
    insert_headers(response.headers_mut(), verdict, fixed);
}

pin_project_lite::pin_project! {
    /// The response future of [`RateLimitMiddleware`] for a request checked
    /// in process: the inner service's, then the verdict's headers. A named type,
    /// not a boxed one: no allocation per request.
    pub struct CheckedResponse<F> {
        #[pin]
        inner: F,
        verdict: Option<Verdict>,
        config: Rc<RateLimit>,
    }
}

impl<F> std::fmt::Debug for CheckedResponse<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedResponse")
            .field("verdict", &self.verdict)
            .finish_non_exhaustive()
    }
}

impl<F, B> Future for CheckedResponse<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?.map_into_left_body();
        if let Some(verdict) = this.verdict.take() {
            finish(&mut response, &verdict, &this.config.fixed);
        }
        Poll::Ready(Ok(response))
    }
}

/// The headers of [`response::headers`], with the values fixed per policy made
/// once (`X-RateLimit-Limit`, `RateLimit-Policy`) and the rest without
/// intermediate strings where `http` can.
fn insert_headers(headers: &mut HeaderMap, verdict: &Verdict, fixed: &[FixedHeaders]) {
    let Some(state) = verdict.state() else {
        return;
    };
    let fixed = fixed.iter().find(|f| Arc::ptr_eq(&f.policy, &state.policy));
    let limit = fixed.map_or_else(|| HeaderValue::from(state.limit), |f| f.limit.clone());
    headers.insert(X_RATELIMIT_LIMIT, limit);
    headers.insert(
        X_RATELIMIT_REMAINING,
        shared_decimal(state.remaining.into()),
    );
    headers.insert(X_RATELIMIT_RESET, shared_decimal(state.reset_secs));
    if let Ok(value) = HeaderValue::try_from(crate::core::decision::ratelimit_value(state)) {
        headers.insert(RATELIMIT, value);
    }
    let policy = match fixed {
        Some(f) => Some(f.policy_value.clone()),
        None => HeaderValue::try_from(crate::core::decision::policy_value(
            &state.policy,
            state.limit,
            state.window_secs,
        ))
        .ok(),
    };
    if let Some(policy) = policy {
        headers.insert(RATELIMIT_POLICY, policy);
    }
    if let Verdict::Limited {
        retry_after_secs, ..
    } = verdict
    {
        headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
}

/// The largest number [`shared_decimal`] keeps made: every reset of windows up to 17
/// minutes and the remaining count of quotas up to 1024.
const SMALL_DECIMALS: u64 = 1024;

/// `n` as a header value; those up to [`SMALL_DECIMALS`] made once and shared
/// (a clone is a reference count), larger ones allocated.
fn shared_decimal(n: u64) -> HeaderValue {
    static SMALL: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    let small = SMALL.get_or_init(|| (0..=SMALL_DECIMALS).map(HeaderValue::from).collect());
    usize::try_from(n)
        .ok()
        .and_then(|i| small.get(i))
        .map_or_else(|| HeaderValue::from(n), HeaderValue::clone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyKind, Policy};

    #[test]
    fn decimals_are_the_numbers_text() {
        for n in [
            0,
            1,
            9,
            10,
            60,
            999,
            1023,
            1024,
            1025,
            999_999_999,
            u64::MAX,
        ] {
            assert_eq!(shared_decimal(n).to_str().unwrap(), n.to_string());
        }
    }

    #[test]
    fn headers_match_the_core_with_and_without_fixed_values() {
        let limiter = RateLimiter::builder()
            .policy(Policy::new("ip", "600/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
            .build()
            .unwrap();
        let config = RateLimit::new(limiter.clone());
        let state = RateLimitState {
            policy: Arc::clone(&limiter.names()[0]),
            limit: 600,
            remaining: 17,
            reset_secs: 42,
            window_secs: 60,
        };
        let foreign = RateLimitState {
            policy: Arc::from("ip"), // same name, not the limiter's: computed values
            ..state
        };
        for verdict in [
            Verdict::Allowed(state.clone()),
            Verdict::Allowed(foreign),
            Verdict::Limited {
                state: RateLimitState {
                    remaining: 0,
                    ..state
                },
                retry_after_secs: 7,
            },
            Verdict::Unlimited,
        ] {
            let mut headers = HeaderMap::new();
            insert_headers(&mut headers, &verdict, &config.fixed);
            let mut ours: Vec<(String, String)> = headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                .collect();
            ours.sort();
            let mut core: Vec<(String, String)> = response::headers(&verdict)
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v))
                .collect();
            core.sort();
            assert_eq!(ours, core);
        }
    }
}
