//! actix-web middleware: [`RateLimiting`] checks every request before the routes.
//!
//! ```
//! use actix_web::{App, web};
//! use edge_ratelimit::{KeyKind, Policy, RateLimiter, actix::RateLimiting};
//!
//! // Build the limiter once, outside `HttpServer::new`, so workers share it.
//! let limiter = RateLimiter::builder()
//!     .policy(Policy::new("ip", "600/1m".parse()?, KeyKind::ClientIp)?)
//!     .build()?;
//! let app = App::new().wrap(RateLimiting::new(limiter)).route("/", web::get().to(|| async { "ok" }));
//! # Ok::<(), edge_ratelimit::ConfigError>(())
//! ```

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::EitherBody;
use actix_web::dev::{
    Extensions, Service, ServiceRequest, ServiceResponse, Transform, forward_ready,
};
use actix_web::http::header::{CONTENT_TYPE, HeaderName};
use actix_web::{HttpMessage, HttpResponse};
use futures_util::future::{Either, LocalBoxFuture};

use edge_core::{ClientIp, Subject};

use crate::{Label, LimitHeader, RateLimitState, RateLimiter, Refusal, RequestInfo, Step, Verdict};

/// Borrows the subject from the extensions: no copy per request.
type SubjectFn = for<'a> fn(&'a Extensions) -> Option<&'a str>;

fn no_subject(_: &Extensions) -> Option<&str> {
    None
}

fn read_subject<T: Subject>(extensions: &Extensions) -> Option<&str> {
    extensions.get::<T>().map(T::subject)
}
type Key = Arc<dyn Fn(&ServiceRequest) -> Option<String>>;

/// The middleware factory: `App::new().wrap(RateLimiting::new(limiter))`.
#[derive(Clone)]
#[must_use]
pub struct RateLimiting {
    limiter: RateLimiter,
    subject: SubjectFn,
    key: Key,
}

impl std::fmt::Debug for RateLimiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiting")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl RateLimiting {
    /// Check with `limiter`; no subject until [`RateLimiting::subject`].
    pub fn new(limiter: RateLimiter) -> Self {
        RateLimiting {
            limiter,
            subject: no_subject,
            key: Arc::new(|_: &ServiceRequest| None),
        }
    }

    /// The key of `KeyKind::Custom` policies, from the whole request (e.g. an API
    /// key header or a tenant in the path).
    pub fn key_from(mut self, key: impl Fn(&ServiceRequest) -> Option<String> + 'static) -> Self {
        self.key = Arc::new(key);
        self
    }

    /// Key `Subject` policies by the authenticated caller: the `T` an auth layer
    /// left in the request's extensions (edge-auth's `Identity`, or any type
    /// implementing edge-core's [`Subject`]), borrowed from them.
    pub fn subject<T: Subject>(mut self) -> Self {
        self.subject = read_subject::<T>;
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for RateLimiting
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RateLimitingMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RateLimitingMiddleware {
            service: Rc::new(service),
            config: Rc::new(self.clone()),
        }))
    }
}

/// The middleware built by [`RateLimiting`].
pub struct RateLimitingMiddleware<S> {
    service: Rc<S>,
    config: Rc<RateLimiting>,
}

impl<S> std::fmt::Debug for RateLimitingMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitingMiddleware")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for RateLimitingMiddleware<S>
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
        ResponseFuture<S::Future>,
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
            let step = self
                .config
                .limiter
                .step(verdict, request.extensions().get());
            return match step {
                Step::Refuse(refusal) => {
                    Either::Right(Box::pin(ready(Ok(refused(request, refusal)))))
                }
                Step::Pass { state, label } => {
                    pass_inward(&request, state);
                    Either::Left(ResponseFuture {
                        inner: self.service.call(request),
                        label,
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
            let limiter = &config.limiter;
            let verdict = {
                let info = request_info(&request, limiter, subject.as_deref(), custom.as_deref());
                limiter.check(&info).await
            };
            let step = limiter.step(verdict, request.extensions().get());
            match step {
                Step::Refuse(refusal) => Ok(refused(request, refusal)),
                Step::Pass { state, label } => {
                    pass_inward(&request, state);
                    let mut response = service.call(request).await?.map_into_left_body();
                    if let Some(verdict) = label {
                        finish(&mut response, limiter, &verdict);
                    }
                    Ok(response)
                }
            }
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

/// A [`Refusal`] as the request's response.
fn refused<B>(request: ServiceRequest, refusal: Box<Refusal>) -> ServiceResponse<EitherBody<B>> {
    let status = edge_core::http02::status_to_http02(refusal.status);
    let rendered = refusal.body(request.extensions().get());
    let content_type = edge_core::http02::content_type_to_http02(&rendered);
    let mut response = HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, content_type))
        .body(rendered.body);
    apply(&mut response, refusal.label);
    response.extensions_mut().insert(refusal.verdict);
    request.into_response(response).map_into_right_body()
}

fn pass_inward(request: &ServiceRequest, state: Option<RateLimitState>) {
    if let Some(state) = state {
        request.extensions_mut().insert(state);
    }
}

fn finish<B>(response: &mut ServiceResponse<B>, limiter: &RateLimiter, verdict: &Verdict) {
    let label = limiter.label(verdict, response.response().extensions().get());
    if let Some(label) = label {
        apply(response.response_mut(), label);
    }
}

/// Leave the label's state in the response's extensions and set its headers.
fn apply<B>(response: &mut HttpResponse<B>, mut label: Label) {
    if let Some(state) = label.state.take() {
        response.extensions_mut().insert(state);
    }
    let headers = response.headers_mut();
    for (header, value) in std::mem::take(&mut label.headers) {
        if let Some(value) = label.header_value02(value) {
            headers.insert(header_name(header), value);
        }
    }
}

/// A [`LimitHeader`] as actix-web's header name, made at compile time (a name
/// parsed per request costs more than the rest of the line).
fn header_name(header: LimitHeader) -> HeaderName {
    const LIMIT: HeaderName = HeaderName::from_static(LimitHeader::Limit.as_str());
    const REMAINING: HeaderName = HeaderName::from_static(LimitHeader::Remaining.as_str());
    const RESET: HeaderName = HeaderName::from_static(LimitHeader::Reset.as_str());
    const RATELIMIT: HeaderName = HeaderName::from_static(LimitHeader::RateLimit.as_str());
    const POLICY: HeaderName = HeaderName::from_static(LimitHeader::RateLimitPolicy.as_str());
    match header {
        LimitHeader::Limit => LIMIT,
        LimitHeader::Remaining => REMAINING,
        LimitHeader::Reset => RESET,
        LimitHeader::RateLimit => RATELIMIT,
        LimitHeader::RateLimitPolicy => POLICY,
        LimitHeader::RetryAfter => actix_web::http::header::RETRY_AFTER,
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RateLimitingMiddleware`] for a request checked
    /// in process: the inner service's, then the verdict's headers. A named type,
    /// not a boxed one: no allocation per request.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        label: Option<Verdict>,
        config: Rc<RateLimiting>,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl<F, B> Future for ResponseFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?.map_into_left_body();
        if let Some(verdict) = this.label.take() {
            finish(&mut response, &this.config.limiter, &verdict);
        }
        Poll::Ready(Ok(response))
    }
}
