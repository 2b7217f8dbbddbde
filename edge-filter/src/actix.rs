//! actix-web middleware: [`RequestFilter`] runs the [`Filter`]'s checks before the
//! routes. The body is read as it streams in and refused with 413 as soon as it
//! passes the limit (chunked bodies too); a body that passes is handed on intact.
//!
//! ```
//! use actix_web::{App, web};
//! use edge_filter::{Filter, actix::RequestFilter};
//!
//! let filter = Filter::builder().max_body(64 * 1024).build()?;
//! let app = App::new().wrap(RequestFilter::new(filter)).route("/", web::post().to(|| async { "ok" }));
//! # Ok::<(), edge_filter::ConfigError>(())
//! ```

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{
    CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, TRANSFER_ENCODING,
};
use actix_web::{HttpMessage, HttpResponse};
use futures_util::TryFutureExt;
use futures_util::future::{Either, LocalBoxFuture, MapOk};

/// Made at compile time: a non-standard name given as `&str` is copied per lookup.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

use crate::filter::{Filter, Rejection, RequestContext, Sender};
use crate::protocol::{AfterHead, BodyHint};

/// The middleware factory: `App::new().wrap(RequestFilter::new(filter))`.
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestFilter {
    filter: Filter,
}

impl RequestFilter {
    /// Run `filter`'s checks. The security log's request id is edge-core's
    /// [`RequestId`](edge_core::RequestId) extension (left by edge-log's access
    /// logger), else a well-formed `X-Request-Id`; its client IP is the
    /// [`ClientIp`](edge_core::ClientIp) extension (resolved behind trusted
    /// proxies), else the socket peer.
    pub fn new(filter: Filter) -> Self {
        RequestFilter { filter }
    }
}

/// Who sent a request, read from it only when a finding is logged.
struct ActixSender<'r>(&'r ServiceRequest);

impl Sender for ActixSender<'_> {
    fn request_id(&self) -> String {
        let header = self
            .0
            .headers()
            .get(X_REQUEST_ID)
            .map(HeaderValue::as_bytes);
        edge_core::RequestId::of(self.0.extensions().get(), header).to_owned()
    }

    /// The client as an outer layer resolved it (behind trusted proxies), else the peer.
    fn client_ip(&self) -> Option<std::net::IpAddr> {
        let resolved = self
            .0
            .extensions()
            .get::<edge_core::ClientIp>()
            .map(|c| c.ip());
        resolved.or_else(|| self.0.peer_addr().map(|a| a.ip()))
    }

    fn trace(&self) -> Option<edge_core::TraceContext> {
        self.0.extensions().get().copied()
    }
}

/// The request as the core's checks see it.
fn context<'a>(request: &'a ServiceRequest, sender: &'a ActixSender<'a>) -> RequestContext<'a> {
    RequestContext {
        method: request.method().as_str(),
        path: request.path(),
        sender,
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequestFilter
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequestFilterMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestFilterMiddleware {
            service: Rc::new(service),
            config: self.clone(),
        }))
    }
}

/// The middleware built by [`RequestFilter`].
pub struct RequestFilterMiddleware<S> {
    service: Rc<S>,
    config: RequestFilter,
}

impl<S> std::fmt::Debug for RequestFilterMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestFilterMiddleware")
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for RequestFilterMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    /// Requests without a body (most) are checked before the inner service is
    /// called and pass through a named future; reading a body needs a boxed one.
    type Future = Either<
        MapOk<S::Future, Passed<B>>,
        LocalBoxFuture<'static, Result<Self::Response, Self::Error>>,
    >;

    forward_ready!(service);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        let filter = &self.config.filter;
        let pass: Passed<B> = ServiceResponse::map_into_left_body;
        let head = {
            let sender = ActixSender(&request);
            let headers = request
                .headers()
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes()));
            filter.check_request(
                &context(&request, &sender),
                request.query_string(),
                headers,
                body_hint(&request),
            )
        };
        let filter = match head {
            Ok(AfterHead::Done) => {
                return Either::Left(self.service.call(request).map_ok(pass));
            }
            Ok(AfterHead::ReadBody(filter)) => filter,
            Err(rejection) => {
                return Either::Right(Box::pin(ready(Ok(reject(request, rejection)))));
            }
        };
        let service = Rc::clone(&self.service);
        Either::Right(Box::pin(async move {
            let checked = match filter.read_body(request.take_payload()).await {
                Ok(body) => {
                    // Put the body back for the handlers.
                    request.set_payload(Payload::from(body.clone()));
                    let content_type = request.headers().get(CONTENT_TYPE);
                    let content_type = content_type.and_then(|v| v.to_str().ok());
                    let sender = ActixSender(&request);
                    filter.check_request_body(&context(&request, &sender), content_type, &body)
                }
                Err(rejection) => Err(rejection),
            };
            match checked {
                Ok(()) => Ok(service.call(request).await?.map_into_left_body()),
                Err(rejection) => Ok(reject(request, rejection)),
            }
        }))
    }
}

/// How a passed request's response is handed on.
type Passed<B> = fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>;

/// The rejection as a problem response, the rejection kept in its extensions.
fn reject<B>(request: ServiceRequest, rejection: Rejection) -> ServiceResponse<EitherBody<B>> {
    let status = edge_core::http02::status_to_http02(rejection.status());
    let rendered = rejection.body(request.extensions().get());
    let content_type = edge_core::http02::content_type_to_http02(&rendered);
    let mut response = HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, content_type))
        .body(rendered.body);
    response.extensions_mut().insert(rejection);
    request.into_response(response).map_into_right_body()
}

/// The body as HTTP/1.1's framing headers declare it (actix-web's payload says
/// no more before it is read).
fn body_hint(request: &ServiceRequest) -> BodyHint {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        _ if request.headers().contains_key(TRANSFER_ENCODING) => BodyHint::Unknown,
        Some(length) => BodyHint::Length(length),
        None => BodyHint::Empty,
    }
}
