use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use tower_service::Service;

use super::RateLimitLayer;
use crate::{RateLimitState, RequestInfo, Verdict, response};

/// The response future: boxed, since a check may wait on Redis.
pub type ResponseFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// Rate-limits each request; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct RateLimit<S> {
    pub(super) inner: S,
    pub(super) layer: RateLimitLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // Use the service that was readied; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let peer = (layer.peer)(request.extensions());
            let subject = (layer.subject)(request.extensions());
            let custom = (layer.key)(request.headers(), request.extensions());
            let verdict = {
                let headers = request.headers();
                let info = RequestInfo {
                    method: request.method().as_str(),
                    path: request.uri().path(),
                    peer,
                    forwarded_for: headers
                        .get_all("x-forwarded-for")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .collect(),
                    forwarded: headers
                        .get_all("forwarded")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .collect(),
                    subject: subject.as_deref(),
                    custom: custom.as_deref(),
                };
                layer.limiter.check(&info).await
            };
            if let Some(state) = verdict.state() {
                request.extensions_mut().insert(state.clone());
            }
            let mut response = match response::rejection(&verdict) {
                Some((status, body)) => {
                    let mut response = Response::new(ResBody::from(body));
                    *response.status_mut() = status;
                    response.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/problem+json"),
                    );
                    response.extensions_mut().insert(verdict.clone());
                    response
                }
                None => inner.call(request).await?,
            };
            // Several limiters in a stack: the tightest state describes the response.
            if !response::keep_inner(response.extensions().get::<RateLimitState>(), &verdict) {
                if let Some(state) = verdict.state() {
                    crate::core::decision::record_in_span(state);
                    response.extensions_mut().insert(state.clone());
                }
                if !matches!(verdict, Verdict::Unlimited) {
                    response
                        .headers_mut()
                        .extend(response::header_pairs(&verdict));
                }
            }
            Ok(response)
        })
    }
}
