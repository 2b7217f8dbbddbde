use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use tower_layer::Layer;
use tower_service::Service;

use super::body::{BoxError, CacheBody};
use crate::{Begin, Cache, Handling, Miss, Passing, Reply, X_CACHE};

/// Applies [`ResponseCache`] to a service.
#[derive(Debug, Clone)]
#[must_use]
pub struct ResponseCacheLayer {
    cache: Cache,
}

impl ResponseCacheLayer {
    /// Cache responses in `cache`.
    pub fn new(cache: Cache) -> Self {
        ResponseCacheLayer { cache }
    }
}

impl<S> Layer<S> for ResponseCacheLayer {
    type Service = ResponseCache<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResponseCache {
            inner,
            cache: self.cache.clone(),
        }
    }
}

/// Caches the responses of the inner service; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct ResponseCache<S> {
    inner: S,
    cache: Cache,
}

pin_project_lite::pin_project! {
    /// The response future of [`ResponseCache`]: ready at once for a hit in
    /// memory; boxed otherwise, since Redis lookups, the backend and stores are async.
    pub struct ResponseFuture<T, E> {
        #[pin]
        state: State<T, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<T, E> {
        Ready { response: Option<Result<T, E>> },
        Boxed { future: Pin<Box<dyn Future<Output = Result<T, E>> + Send>> },
    }
}

impl<T, E> ResponseFuture<T, E> {
    fn ready(response: Result<T, E>) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(response),
            },
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

impl<T, E> std::fmt::Debug for ResponseFuture<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<T, E> Future for ResponseFuture<T, E> {
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            // Polled again after completing, it stays pending rather than panic.
            StateProj::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(response),
                None => Poll::Pending,
            },
            StateProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ResponseCache<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError> + Send,
{
    type Response = Response<CacheBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let action = self.cache.classify(
            request.method(),
            request.uri().path(),
            request.uri().query(),
            request.headers(),
        );
        let action = match self.cache.answer_now(action) {
            Ok(reply) => return ResponseFuture::ready(Ok(from_reply(&reply))),
            Err(action) => action,
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let cache = self.cache.clone();
        ResponseFuture::boxed(async move {
            let pending = match cache.begin(action).await {
                Begin::Answer(reply) => return Ok(from_reply(&reply)),
                Begin::CallInner(pending) => pending,
            };
            let response = inner.call(request).await?;
            let length = response.body().size_hint().exact();
            let handling = cache
                .respond(pending, response.status(), response.headers(), length)
                .await;
            Ok(match handling {
                Handling::Store(miss) => store(miss, response).await,
                Handling::Pass(passing) => pass(&cache, passing, response).await,
            })
        })
    }
}

fn from_reply<B>(reply: &Reply) -> Response<CacheBody<B>> {
    let mut response = Response::new(CacheBody::full(reply.body()));
    *response.status_mut() = reply.status();
    *response.headers_mut() = reply.headers();
    response.extensions_mut().insert(reply.cache_status());
    response
}

/// Read the body and store the response; answer with the cache's reply.
async fn store<B>(miss: Miss, response: Response<B>) -> Response<CacheBody<B>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = response.into_parts();
    match body.collect().await {
        Ok(collected) => {
            let reply = miss
                .complete(parts.status, parts.headers, collected.to_bytes())
                .await;
            let mut response = from_reply(&reply);
            // Keep what the inner service put in the extensions (for later layers).
            let mut extensions = std::mem::take(&mut parts.extensions);
            extensions.extend(std::mem::take(response.extensions_mut()));
            *response.extensions_mut() = extensions;
            response
        }
        Err(error) => failed(parts, error.into(), miss.passing()),
    }
}

/// Hand on a response the cache does not store, gzipped when worth it.
async fn pass<B>(cache: &Cache, passing: Passing, response: Response<B>) -> Response<CacheBody<B>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = response.into_parts();
    label(&mut parts, passing);
    if !passing.compress() {
        return Response::from_parts(parts, CacheBody::inner(body));
    }
    match body.collect().await {
        Ok(collected) => {
            let body = cache.compress(&mut parts.headers, collected.to_bytes());
            parts.headers.insert(CONTENT_LENGTH, body.len().into());
            Response::from_parts(parts, CacheBody::full(body))
        }
        Err(error) => failed(parts, error.into(), passing),
    }
}

fn label(parts: &mut http::response::Parts, passing: Passing) {
    if let Some(x_cache) = passing.x_cache() {
        parts.headers.insert(X_CACHE, x_cache);
    }
    parts.extensions.insert(passing.cache_status());
}

fn failed<B>(
    mut parts: http::response::Parts,
    error: BoxError,
    passing: Passing,
) -> Response<CacheBody<B>> {
    parts.headers.remove(CONTENT_LENGTH);
    label(&mut parts, passing);
    Response::from_parts(parts, CacheBody::failed(error))
}
