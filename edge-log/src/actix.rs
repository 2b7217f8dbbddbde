//! actix-web middleware: [`AccessLogger`] takes or makes the request id, runs the
//! rest of the stack inside the request span, echoes `X-Request-Id`, and writes
//! the access line when the response body ends. Wrap it last (outermost).
//!
//! ```
//! use actix_web::{App, web};
//! use edge_log::{AccessLog, actix::AccessLogger};
//!
//! let log = AccessLog::builder().build()?; // once, outside `HttpServer::new`
//! let app = App::new()
//!     .wrap(AccessLogger::new(log))
//!     .route("/", web::get().to(|| async { "ok" }));
//! # Ok::<(), edge_log::ConfigError>(())
//! ```

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{
    Extensions, Service, ServiceRequest, ServiceResponse, Transform, forward_ready,
};
use actix_web::http::header::{HeaderName, HeaderValue, USER_AGENT};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest};
use tracing::Instrument;

use crate::{AccessLog, REQUEST_ID_HEADER, RequestHead, RequestId, RequestLog, SpanFields};

/// `X-Request-Id` in actix-web's header types, made at compile time (a `&str`
/// name would be parsed and copied per lookup).
const ACTIX_REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);
const ACTIX_TRACEPARENT: HeaderName = HeaderName::from_static(crate::TRACEPARENT_HEADER);

type FieldsFrom = Rc<dyn Fn(&HttpRequest, &Extensions, &mut SpanFields)>;

/// The middleware factory: `App::new().wrap(AccessLogger::new(log))`.
#[derive(Clone)]
#[must_use]
pub struct AccessLogger {
    log: AccessLog,
    fields_from: Option<FieldsFrom>,
}

impl std::fmt::Debug for AccessLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLogger")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl AccessLogger {
    /// Log every request to `log`.
    pub fn new(log: AccessLog) -> Self {
        AccessLogger {
            log,
            fields_from: None,
        }
    }

    /// Fill fields from the request and the response's extensions — where the
    /// other layers leave their state — instead of, or besides, the request span.
    /// What it sets wins over span fields of the same name. Reading extensions
    /// costs far less than recording span fields through a subscriber: with this
    /// hook, [`FieldsLayer`](crate::FieldsLayer) need not be installed at all.
    ///
    /// ```
    /// use actix_web::HttpMessage;
    /// use edge_log::{AccessLog, actix::AccessLogger};
    ///
    /// #[derive(Clone)]
    /// struct User(String); // a type an auth layer puts in request extensions
    ///
    /// let logger = AccessLogger::new(AccessLog::builder().build()?)
    ///     .fields_from(|request, _response_extensions, fields| {
    ///         fields.user = request.extensions().get::<User>().map(|u| u.0.clone());
    ///     });
    /// # drop(logger);
    /// # Ok::<(), edge_log::ConfigError>(())
    /// ```
    pub fn fields_from(
        mut self,
        fields_from: impl Fn(&HttpRequest, &Extensions, &mut SpanFields) + 'static,
    ) -> Self {
        self.fields_from = Some(Rc::new(fields_from));
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for AccessLogger
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<LoggedBody<B>>;
    type Error = actix_web::Error;
    type Transform = AccessLoggerMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AccessLoggerMiddleware {
            service: Rc::new(service),
            log: self.log.clone(),
            fields_from: self.fields_from.clone(),
        }))
    }
}

/// The middleware built by [`AccessLogger`].
pub struct AccessLoggerMiddleware<S> {
    service: Rc<S>,
    log: AccessLog,
    fields_from: Option<FieldsFrom>,
}

impl<S> std::fmt::Debug for AccessLoggerMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLoggerMiddleware")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for AccessLoggerMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<LoggedBody<B>>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let headers = request.headers();
        let head = RequestHead {
            method: request.method().as_str(),
            path: request.path(),
            request_id: headers.get(ACTIX_REQUEST_ID).map(HeaderValue::as_bytes),
            traceparent: headers.get(ACTIX_TRACEPARENT).map(HeaderValue::as_bytes),
            user_agent: headers.get(USER_AGENT).map(HeaderValue::as_bytes),
            peer: request.peer_addr().map(|a| a.ip()),
        };
        let entry = self.log.start(&head, |name| {
            headers
                .get_all(name.as_str())
                .filter_map(|v| v.to_str().ok())
        });
        let id = entry.request_id().clone();
        let mut extensions = request.extensions_mut();
        extensions.insert(id.clone());
        extensions.insert(entry.trace());
        if let Some(client) = entry.client_ip() {
            extensions.insert(client);
        }
        drop(extensions);
        let span = entry.span().clone();
        ResponseFuture {
            inner: self.service.call(request).instrument(span),
            entry: Some(entry),
            id,
            fields_from: self.fields_from.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`AccessLoggerMiddleware`]: the inner service's,
    /// run in the request span; then the request id is echoed and the response
    /// body wrapped to write the access line when it ends. A dropped future
    /// (client gone) still logs, as 499, when its [`RequestLog`] drops. A named
    /// type, not a boxed one: no allocation per request.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: tracing::instrument::Instrumented<F>,
        entry: Option<RequestLog>,
        id: RequestId,
        fields_from: Option<FieldsFrom>,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<F, B> Future for ResponseFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
    B: MessageBody,
{
    type Output = Result<ServiceResponse<LoggedBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let mut entry = this.entry.take();
        let mut response = match result {
            Ok(response) => response,
            Err(error) => {
                if let Some(mut entry) = entry {
                    entry.set_status(error.as_response_error().status_code().as_u16());
                    entry.finish();
                }
                return Poll::Ready(Err(error));
            }
        };
        if let Ok(value) = HeaderValue::from_str(this.id.as_str()) {
            response.headers_mut().insert(ACTIX_REQUEST_ID, value);
        }
        if let Some(entry) = entry.as_mut() {
            entry.set_status(response.status().as_u16());
            if let Some(fields_from) = this.fields_from {
                fields_from(
                    response.request(),
                    &response.response().extensions(),
                    entry.fields_mut(),
                );
            }
        }
        Poll::Ready(Ok(response.map_body(|_, body| LoggedBody { body, entry })))
    }
}

pin_project_lite::pin_project! {
    /// A response body that counts its bytes and writes the access line when it
    /// ends (or is dropped — the [`RequestLog`] writes it then — e.g. for HEAD or
    /// when the client leaves).
    pub struct LoggedBody<B> {
        #[pin]
        body: B,
        entry: Option<RequestLog>,
    }
}

impl<B> std::fmt::Debug for LoggedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggedBody").finish_non_exhaustive()
    }
}

impl<B: MessageBody> MessageBody for LoggedBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.project();
        let next = this.body.poll_next(cx);
        match &next {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(entry) = this.entry.as_mut() {
                    entry.add_bytes(chunk.len() as u64);
                }
            }
            Poll::Ready(None | Some(Err(_))) => {
                if let Some(entry) = this.entry.take() {
                    entry.finish();
                }
            }
            Poll::Pending => {}
        }
        next
    }

    /// Keeps actix-web's fast path for bodies already in memory: head and body
    /// go out in one write.
    fn try_into_bytes(self) -> Result<Bytes, Self> {
        let LoggedBody { body, entry } = self;
        match body.try_into_bytes() {
            Ok(bytes) => {
                if let Some(mut entry) = entry {
                    entry.add_bytes(bytes.len() as u64);
                    entry.finish();
                }
                Ok(bytes)
            }
            Err(body) => Err(LoggedBody { body, entry }),
        }
    }
}
