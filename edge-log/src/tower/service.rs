//! [`AccessLoggerLayer`] and [`AccessLogger`].

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::USER_AGENT;
use http::{HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;

use super::LoggedBody;
use crate::{AccessLog, REQUEST_ID_HEADER, RequestHead, RequestId, SpanFields, TRACEPARENT_HEADER};

type PeerFrom = Arc<dyn Fn(&http::Extensions) -> Option<IpAddr> + Send + Sync>;
type FieldsFrom = Arc<dyn Fn(&http::response::Parts, &mut SpanFields) + Send + Sync>;

/// Logs every request to an [`AccessLog`].
#[derive(Clone)]
#[must_use]
pub struct AccessLoggerLayer {
    log: AccessLog,
    peer_from: PeerFrom,
    fields_from: Option<FieldsFrom>,
}

impl std::fmt::Debug for AccessLoggerLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLoggerLayer")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl AccessLoggerLayer {
    /// Log to `log`; the client address is edge-core's
    /// [`peer_addr`](edge_core::peer_addr) (a `SocketAddr` extension, or with the
    /// `axum` feature `ConnectInfo<SocketAddr>`), if any.
    pub fn new(log: AccessLog) -> Self {
        AccessLoggerLayer {
            log,
            peer_from: Arc::new(edge_core::peer_addr),
            fields_from: None,
        }
    }

    /// Fill fields from the response (its extensions, where the other layers left
    /// their state) instead of, or besides, the request span. What it sets wins
    /// over span fields of the same name.
    ///
    /// ```
    /// use edge_log::{AccessLog, tower::AccessLoggerLayer};
    ///
    /// #[derive(Clone)]
    /// struct CacheLabel(&'static str); // a type some inner layer puts in responses
    ///
    /// let layer = AccessLoggerLayer::new(AccessLog::builder().build()?).fields_from(|response, fields| {
    ///     fields.cache = response.extensions.get::<CacheLabel>().map(|c| c.0.to_owned());
    /// });
    /// # drop(layer);
    /// # Ok::<(), edge_log::ConfigError>(())
    /// ```
    pub fn fields_from(
        mut self,
        fields_from: impl Fn(&http::response::Parts, &mut SpanFields) + Send + Sync + 'static,
    ) -> Self {
        self.fields_from = Some(Arc::new(fields_from));
        self
    }

    /// Where the client address is found in the request's extensions.
    pub fn peer_from(
        mut self,
        peer_from: impl Fn(&http::Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    ) -> Self {
        self.peer_from = Arc::new(peer_from);
        self
    }
}

impl<S> Layer<S> for AccessLoggerLayer {
    type Service = AccessLogger<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessLogger {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service built by [`AccessLoggerLayer`].
#[derive(Debug, Clone)]
pub struct AccessLogger<S> {
    inner: S,
    layer: AccessLoggerLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AccessLogger<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = Response<LoggedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let headers = request.headers();
        let head = RequestHead {
            method: request.method().as_str(),
            path: request.uri().path(),
            request_id: headers.get(REQUEST_ID_HEADER).map(HeaderValue::as_bytes),
            traceparent: headers.get(TRACEPARENT_HEADER).map(HeaderValue::as_bytes),
            user_agent: headers.get(USER_AGENT).map(HeaderValue::as_bytes),
            peer: (self.layer.peer_from)(request.extensions()),
        };
        let entry = self.layer.log.start(&head, |name| {
            headers.get_all(name).iter().filter_map(|v| v.to_str().ok())
        });
        let id = entry.request_id().clone();
        request.extensions_mut().insert(id.clone());
        request.extensions_mut().insert(entry.trace());
        if let Some(client) = entry.client_ip() {
            request.extensions_mut().insert(client);
        }
        let call = {
            let _entered = entry.span().enter();
            self.inner.call(request)
        };
        ResponseFuture {
            inner: call.instrument(entry.span().clone()),
            entry: Some(entry),
            id,
            fields_from: self.layer.fields_from.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`AccessLogger`]: the inner service's, in the
    /// request span; then the request id is echoed and the body wrapped to write
    /// the access line when it ends. Errors become responses further out; the
    /// line is then written when the [`RequestLog`](crate::RequestLog) drops.
    /// A named type, not a boxed one: no allocation per request.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: tracing::instrument::Instrumented<F>,
        entry: Option<crate::RequestLog>,
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

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<LoggedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Ok(value) = HeaderValue::from_str(this.id.as_str()) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        let (parts, body) = response.into_parts();
        let mut entry = this.entry.take();
        if let Some(entry) = entry.as_mut() {
            entry.set_status(parts.status.as_u16());
            if let Some(fields_from) = this.fields_from {
                fields_from(&parts, entry.fields_mut());
            }
        }
        Poll::Ready(Ok(Response::from_parts(
            parts,
            LoggedBody::new(body, entry),
        )))
    }
}
