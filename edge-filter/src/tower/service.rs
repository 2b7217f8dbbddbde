use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use tower_layer::Layer;
use tower_service::Service;

use crate::filter::{Filter, Rejection, RequestContext};

type PeerFn = std::sync::Arc<dyn Fn(&http::Extensions) -> Option<std::net::IpAddr> + Send + Sync>;

/// Applies [`FilterService`] to a service.
#[derive(Clone)]
#[must_use]
pub struct FilterLayer {
    filter: Filter,
    peer: PeerFn,
}

impl std::fmt::Debug for FilterLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterLayer")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl FilterLayer {
    /// Run `filter`'s checks. Request ids for the security log come from
    /// `X-Request-Id`; the client IP from a `SocketAddr` request extension until
    /// [`FilterLayer::peer_from`] says otherwise.
    pub fn new(filter: Filter) -> Self {
        FilterLayer {
            filter,
            peer: std::sync::Arc::new(|ext: &http::Extensions| {
                ext.get::<SocketAddr>().map(SocketAddr::ip)
            }),
        }
    }

    /// Where the peer address is in the request extensions (axum:
    /// `|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())`).
    pub fn peer_from(
        mut self,
        peer: impl Fn(&http::Extensions) -> Option<std::net::IpAddr> + Send + Sync + 'static,
    ) -> Self {
        self.peer = std::sync::Arc::new(peer);
        self
    }
}

impl<S> Layer<S> for FilterLayer {
    type Service = FilterService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FilterService {
            inner,
            filter: self.filter.clone(),
            peer: self.peer.clone(),
        }
    }
}

/// Filters each request; see the [module docs](super).
#[derive(Clone)]
pub struct FilterService<S> {
    inner: S,
    filter: Filter,
    peer: PeerFn,
}

impl<S: std::fmt::Debug> std::fmt::Debug for FilterService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterService")
            .field("inner", &self.inner)
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`FilterService`]: the inner service's own for a
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for FilterService<S>
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
        // The client as an outer layer resolved it (behind trusted proxies), else the peer.
        let peer = request
            .extensions()
            .get::<edge_core::ClientIp>()
            .map(|c| c.ip())
            .or_else(|| (self.peer)(request.extensions()));
        let declared = match check_head(&self.filter, &request, peer) {
            Ok(Head::Complete) => return ResponseFuture::inner(self.inner.call(request)),
            Ok(Head::Body(declared)) => declared,
            // (An async block, not `ready`: it holds no `S::Error`, so it is `Send`.)
            Err(rejection) => return ResponseFuture::boxed(async move { Ok(reject(rejection)) }),
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let filter = self.filter.clone();
        ResponseFuture::boxed(async move {
            let (parts, body) = request.into_parts();
            match check_body(&filter, &parts, peer, body, declared).await {
                Ok(body) => inner.call(Request::from_parts(parts, body)).await,
                Err(rejection) => Ok(reject(rejection)),
            }
        })
    }
}

/// What is left to check after the head.
enum Head {
    /// Nothing: the request has no body.
    Complete,
    /// The body, of this declared length (none when chunked).
    Body(Option<u64>),
}

/// What the checks log about a request: the request id is edge-core's
/// [`RequestId`](edge_core::RequestId) extension (edge-log's access layer puts it
/// there, generated or taken from the header), else `X-Request-Id`.
fn context<'a>(
    parts: (
        &'a http::Method,
        &'a http::Uri,
        &'a http::HeaderMap,
        &'a http::Extensions,
    ),
    peer: Option<std::net::IpAddr>,
) -> RequestContext<'a> {
    let (method, uri, headers, extensions) = parts;
    RequestContext {
        request_id: extensions
            .get::<edge_core::RequestId>()
            .map(edge_core::RequestId::as_str)
            .or_else(|| headers.get("x-request-id").and_then(|v| v.to_str().ok()))
            .unwrap_or(""),
        client_ip: peer,
        method: method.as_str(),
        path: uri.path(),
    }
}

/// The checks of the request head: headers, path, query, parameters; and, for a
/// request without a body, whether its route needs one.
fn check_head<B: Body>(
    filter: &Filter,
    request: &Request<B>,
    peer: Option<std::net::IpAddr>,
) -> Result<Head, Rejection> {
    let context = context(
        (
            request.method(),
            request.uri(),
            request.headers(),
            request.extensions(),
        ),
        peer,
    );
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()));
    filter.check_head(&context, request.uri().query().unwrap_or(""), headers)?;
    // Whether there is a body is the body's own answer, never the framing
    // headers': over HTTP/2 (and HTTP/3) a body needs neither.
    let body = request.body();
    let hint = body.size_hint().exact();
    if body.is_end_stream() || hint == Some(0) {
        filter.check_missing_body(&context)?;
        return Ok(Head::Complete);
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .or(hint);
    Ok(Head::Body(declared))
}

/// The checks of a body as it streams in: length, media type, JSON syntax,
/// attacks, schema. Gives the body back, whole, for the inner service.
async fn check_body<B>(
    filter: &Filter,
    parts: &http::request::Parts,
    peer: Option<std::net::IpAddr>,
    body: B,
    declared: Option<u64>,
) -> Result<B, Rejection>
where
    B: Body<Data = Bytes> + From<Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let context = context(
        (&parts.method, &parts.uri, &parts.headers, &parts.extensions),
        peer,
    );
    filter.check_declared_length(declared)?;
    let collect = Limited::new(body, filter.max_body()).collect();
    let collected = match filter.body_timeout() {
        Some(timeout) => tokio::time::timeout(timeout, collect)
            .await
            .map_err(|_| Rejection::BodyTimeout { timeout })?,
        None => collect.await,
    };
    let bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(Rejection::PayloadTooLarge {
                limit: filter.max_body(),
            });
        }
        Err(_) => {
            return Err(Rejection::InvalidJson {
                message: "the body could not be read".to_owned(),
            });
        }
    };
    if bytes.is_empty() {
        filter.check_missing_body(&context)?;
        return Ok(B::from(bytes));
    }
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    filter.check_media_type(content_type)?;
    filter.check_json_body(&context, &bytes)?;
    Ok(B::from(bytes))
}

fn reject<B: From<String>>(rejection: Rejection) -> Response<B> {
    let mut response = Response::new(B::from(rejection.problem_body()));
    *response.status_mut() = rejection.status();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response.extensions_mut().insert(rejection);
    response
}
