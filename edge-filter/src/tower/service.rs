use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use tower_layer::Layer;
use tower_service::Service;

use crate::filter::{Filter, Rejection, RequestContext, Sender};
use crate::protocol::{AfterHead, BodyHint};

type PeerFn = std::sync::Arc<dyn Fn(&http::Extensions) -> Option<std::net::IpAddr> + Send + Sync>;

/// Applies [`RequestFilter`] to a service.
#[derive(Clone)]
#[must_use]
pub struct RequestFilterLayer {
    filter: Filter,
    peer: PeerFn,
}

impl std::fmt::Debug for RequestFilterLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestFilterLayer")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl RequestFilterLayer {
    /// Run `filter`'s checks. Request ids for the security log come from
    /// `X-Request-Id`; the client IP from edge-core's
    /// [`peer_addr`](edge_core::peer_addr) (a `SocketAddr` extension, or with
    /// the `axum` feature `ConnectInfo<SocketAddr>`) until
    /// [`RequestFilterLayer::peer_from`] says otherwise.
    pub fn new(filter: Filter) -> Self {
        RequestFilterLayer {
            filter,
            peer: std::sync::Arc::new(edge_core::peer_addr),
        }
    }

    /// Where the peer address is in the request extensions.
    pub fn peer_from(
        mut self,
        peer: impl Fn(&http::Extensions) -> Option<std::net::IpAddr> + Send + Sync + 'static,
    ) -> Self {
        self.peer = std::sync::Arc::new(peer);
        self
    }
}

impl<S> Layer<S> for RequestFilterLayer {
    type Service = RequestFilter<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestFilter {
            inner,
            filter: self.filter.clone(),
            peer: self.peer.clone(),
        }
    }
}

/// Filters each request; see the [module docs](super).
#[derive(Clone)]
pub struct RequestFilter<S> {
    inner: S,
    filter: Filter,
    peer: PeerFn,
}

impl<S: std::fmt::Debug> std::fmt::Debug for RequestFilter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestFilter")
            .field("inner", &self.inner)
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RequestFilter`]: the inner service's own for a
    /// request without a body (checked before it runs); boxed when the body must
    /// be read first (or for a rejection).
    pub struct ResponseFuture<F, T, E> {
        #[pin]
        state: State<F, T, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, T, E> {
        Inner { #[pin] future: F },
        Boxed { future: Pin<Box<dyn Future<Output = Result<T, E>> + Send>> },
    }
}

impl<F, T, E> ResponseFuture<F, T, E> {
    fn inner(future: F) -> Self {
        ResponseFuture {
            state: State::Inner { future },
        }
    }

    fn boxed(future: impl Future<Output = Result<T, E>> + Send + 'static) -> Self {
        ResponseFuture {
            state: State::Boxed {
                future: Box::pin(future),
            },
        }
    }
}

impl<F, T, E> std::fmt::Debug for ResponseFuture<F, T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, T, E> Future for ResponseFuture<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestFilter<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Body<Data = Bytes> + From<Bytes> + Send + 'static,
    ReqBody::Error: std::error::Error + Send + Sync + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let head = {
            let headers = request
                .headers()
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes()));
            let query = request.uri().query().unwrap_or("");
            let sender = TowerSender {
                headers: request.headers(),
                extensions: request.extensions(),
                peer: &self.peer,
            };
            let context = context(request.method(), request.uri(), &sender);
            self.filter
                .check_request(&context, query, headers, body_hint(&request))
        };
        let filter = match head {
            Ok(AfterHead::Done) => return ResponseFuture::inner(self.inner.call(request)),
            Ok(AfterHead::ReadBody(filter)) => filter,
            // (An async block, not `ready`: it holds no `S::Error`, so it is `Send`.)
            Err(rejection) => {
                let response = reject(rejection, request.extensions().get());
                return ResponseFuture::boxed(async move { Ok(response) });
            }
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let peer = std::sync::Arc::clone(&self.peer);
        ResponseFuture::boxed(async move {
            let (parts, body) = request.into_parts();
            let checked = match filter.read_body(body.into_data_stream()).await {
                Ok(body) => {
                    let content_type = parts
                        .headers
                        .get(CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok());
                    let sender = TowerSender {
                        headers: &parts.headers,
                        extensions: &parts.extensions,
                        peer: &peer,
                    };
                    let context = context(&parts.method, &parts.uri, &sender);
                    filter
                        .check_request_body(&context, content_type, &body)
                        .map(|()| body)
                }
                Err(rejection) => Err(rejection),
            };
            match checked {
                Ok(body) => {
                    inner
                        .call(Request::from_parts(parts, ReqBody::from(body)))
                        .await
                }
                Err(rejection) => Ok(reject(rejection, parts.extensions.get())),
            }
        })
    }
}

/// Who sent a request, read from it only when a finding is logged: the
/// request id is edge-core's [`RequestId`](edge_core::RequestId) extension
/// (edge-log's access layer puts it there), else a well-formed `X-Request-Id`;
/// the client is the [`ClientIp`](edge_core::ClientIp) an outer layer resolved
/// behind trusted proxies, else the peer.
struct TowerSender<'a> {
    headers: &'a http::HeaderMap,
    extensions: &'a http::Extensions,
    peer: &'a PeerFn,
}

impl Sender for TowerSender<'_> {
    fn request_id(&self) -> String {
        let header = self.headers.get(edge_core::REQUEST_ID_HEADER);
        edge_core::RequestId::of(self.extensions.get(), header.map(HeaderValue::as_bytes))
            .to_owned()
    }

    fn client_ip(&self) -> Option<std::net::IpAddr> {
        let resolved = self.extensions.get::<edge_core::ClientIp>().map(|c| c.ip());
        resolved.or_else(|| (self.peer)(self.extensions))
    }

    fn trace(&self) -> Option<edge_core::TraceContext> {
        self.extensions.get().copied()
    }
}

/// The request as the core's checks see it.
fn context<'a>(
    method: &'a http::Method,
    uri: &'a http::Uri,
    sender: &'a TowerSender<'a>,
) -> RequestContext<'a> {
    RequestContext {
        method: method.as_str(),
        path: uri.path(),
        sender,
    }
}

/// Whether there is a body is the body's own answer, never the framing headers':
/// over HTTP/2 (and HTTP/3) a body needs neither.
fn body_hint<B: Body>(request: &Request<B>) -> BodyHint {
    let body = request.body();
    let hint = body.size_hint().exact();
    if body.is_end_stream() {
        return BodyHint::Empty;
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match (hint, declared) {
        (Some(length), _) => BodyHint::Length(length),
        // A declared length refuses an oversized body early; a declared 0 is
        // not trusted over a body that says nothing.
        (None, Some(length)) if length > 0 => BodyHint::Length(length),
        _ => BodyHint::Unknown,
    }
}

fn reject<B: From<String>>(
    rejection: Rejection,
    request_id: Option<&edge_core::RequestId>,
) -> Response<B> {
    let rendered = rejection.body(request_id);
    let content_type = rendered.content_type_value();
    let mut response = Response::new(B::from(rendered.body));
    *response.status_mut() = rejection.status();
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response.extensions_mut().insert(rejection);
    response
}
