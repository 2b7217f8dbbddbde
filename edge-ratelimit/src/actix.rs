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

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{
    Extensions, Service, ServiceRequest, ServiceResponse, Transform, forward_ready,
};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::{HttpMessage, HttpResponse};
use futures_util::future::LocalBoxFuture;

use crate::{RateLimitState, RateLimiter, RequestInfo, response};

type Subject = Arc<dyn Fn(&Extensions) -> Option<String>>;
type Key = Arc<dyn Fn(&ServiceRequest) -> Option<String>>;

/// The middleware factory: `App::new().wrap(RateLimit::new(limiter))`.
#[derive(Clone)]
#[must_use]
pub struct RateLimit {
    limiter: RateLimiter,
    subject: Subject,
    key: Key,
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
        RateLimit {
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
    /// `|ext| ext.get::<edge_auth::Identity>().map(|i| i.subject().to_owned())`).
    pub fn subject_from(
        mut self,
        subject: impl Fn(&Extensions) -> Option<String> + 'static,
    ) -> Self {
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
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let config = Rc::clone(&self.config);
        Box::pin(async move {
            let subject = (config.subject)(&request.extensions());
            let custom = (config.key)(&request);
            let verdict = {
                let headers = request.headers();
                let info = RequestInfo {
                    method: request.method().as_str(),
                    path: request.path(),
                    peer: request.peer_addr().map(|a| a.ip()),
                    forwarded_for: headers
                        .get_all("x-forwarded-for")
                        .filter_map(|v| v.to_str().ok())
                        .collect(),
                    forwarded: headers
                        .get_all("forwarded")
                        .filter_map(|v| v.to_str().ok())
                        .collect(),
                    subject: subject.as_deref(),
                    custom: custom.as_deref(),
                };
                config.limiter.check(&info).await
            };
            if let Some(state) = verdict.state() {
                request.extensions_mut().insert(state.clone());
            }
            let mut response = match response::rejection(&verdict) {
                Some((status, body)) => {
                    let status = StatusCode::from_u16(status.as_u16())
                        .unwrap_or(StatusCode::TOO_MANY_REQUESTS);
                    let mut rejection = HttpResponse::build(status)
                        .insert_header((
                            CONTENT_TYPE,
                            HeaderValue::from_static("application/problem+json"),
                        ))
                        .body(body);
                    rejection.extensions_mut().insert(verdict.clone());
                    request.into_response(rejection).map_into_right_body()
                }
                None => service.call(request).await?.map_into_left_body(),
            };
            // Several limiters in a stack: the tightest state describes the response.
            let inner = response
                .response()
                .extensions()
                .get::<RateLimitState>()
                .cloned();
            if !response::keep_inner(inner.as_ref(), &verdict) {
                if let Some(state) = verdict.state() {
                    crate::core::decision::record_in_span(state);
                    response
                        .response_mut()
                        .extensions_mut()
                        .insert(state.clone());
                }
                for (name, value) in response::headers(&verdict) {
                    // Takes the string's buffer: no copy.
                    if let Ok(value) = HeaderValue::try_from(value) {
                        response
                            .headers_mut()
                            .insert(HeaderName::from_static(name), value);
                    }
                }
            }
            Ok(response)
        })
    }
}
