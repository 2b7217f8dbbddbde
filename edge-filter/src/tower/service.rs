use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
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

/// The response future: boxed, since the body is read before the inner service runs.
pub type ResponseFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

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
    type Future = ResponseFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let filter = self.filter.clone();
        let peer = (self.peer)(request.extensions());
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            match check(&filter, &parts, peer, body).await {
                Ok(body) => inner.call(Request::from_parts(parts, body)).await,
                Err(rejection) => Ok(reject(rejection)),
            }
        })
    }
}

async fn check<B>(
    filter: &Filter,
    parts: &http::request::Parts,
    peer: Option<std::net::IpAddr>,
    body: B,
) -> Result<B, Rejection>
where
    B: Body<Data = Bytes> + From<Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let context = RequestContext {
        request_id,
        client_ip: peer,
        method: parts.method.as_str(),
        path: parts.uri.path(),
    };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()));
    filter.check_head(&context, parts.uri.query().unwrap_or(""), headers)?;
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.unwrap_or(0) == 0 && !parts.headers.contains_key(TRANSFER_ENCODING) {
        filter.check_missing_body(&context)?;
        return Ok(body);
    }
    filter.check_declared_length(declared)?;
    let bytes = match Limited::new(body, filter.max_body()).collect().await {
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
