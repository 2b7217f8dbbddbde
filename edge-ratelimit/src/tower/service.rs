use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use tower_service::Service;

use super::RateLimitLayer;
use crate::{RateLimitState, RateLimiter, RequestInfo, Verdict, response};

/// A check that waits on Redis, then the inner service.
type Waiting<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

pin_project_lite::pin_project! {
    /// The response future. A request checked in process (the default store)
    /// goes through a named future, without an allocation; a Redis check, which
    /// waits on a round trip, through a boxed one.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, B, E> {
        // Checked and allowed: the inner service's response, then the headers.
        Checked {
            #[pin]
            inner: F,
            verdict: Option<Verdict>,
        },
        // Refused without calling the inner service.
        Refused { response: Option<Response<B>> },
        // Waiting on Redis.
        Waiting { future: Waiting<Response<B>, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    fn new(state: State<F, B, E>) -> Self {
        ResponseFuture { state }
    }
}

impl<F, B, E> std::fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Checked { .. } => "checked",
            State::Refused { .. } => "refused",
            State::Waiting { .. } => "waiting on Redis",
        };
        f.debug_tuple("ResponseFuture").field(&state).finish()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Checked { inner, verdict } => {
                let mut response = std::task::ready!(inner.poll(cx))?;
                if let Some(verdict) = verdict.take() {
                    finish(&mut response, &verdict);
                }
                Poll::Ready(Ok(response))
            }
            StateProj::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled again after it answered: it has nothing more.
                None => Poll::Pending,
            },
            StateProj::Waiting { future } => future.as_mut().poll(cx),
        }
    }
}

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
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let layer = &self.layer;
        let peer = (layer.peer)(request.extensions());
        let custom = (layer.key)(request.headers(), request.extensions());
        let local = {
            let subject = (layer.subject)(request.extensions());
            let info = request_info(&request, &layer.limiter, peer, subject, custom.as_deref());
            layer.limiter.check_local(&info)
        };
        if let Some(verdict) = local {
            if let Some(mut refusal) = refusal(&verdict) {
                finish(&mut refusal, &verdict);
                return ResponseFuture::new(State::Refused {
                    response: Some(refusal),
                });
            }
            let verdict = pass_inward(&mut request, verdict);
            return ResponseFuture::new(State::Checked {
                inner: self.inner.call(request),
                verdict,
            });
        }
        // Checked after an await: the subject is copied.
        let subject = (layer.subject)(request.extensions()).map(str::to_owned);
        // Use the service that was readied; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        ResponseFuture::new(State::Waiting {
            future: Box::pin(async move {
                let verdict = {
                    let info = request_info(
                        &request,
                        &layer.limiter,
                        peer,
                        subject.as_deref(),
                        custom.as_deref(),
                    );
                    layer.limiter.check(&info).await
                };
                if let Some(mut refusal) = refusal(&verdict) {
                    finish(&mut refusal, &verdict);
                    return Ok(refusal);
                }
                let verdict = pass_inward(&mut request, verdict);
                let mut response = inner.call(request).await?;
                if let Some(verdict) = verdict {
                    finish(&mut response, &verdict);
                }
                Ok(response)
            }),
        })
    }
}

/// What the limiter reads of a request.
fn request_info<'a, B>(
    request: &'a Request<B>,
    limiter: &RateLimiter,
    peer: Option<std::net::IpAddr>,
    subject: Option<&'a str>,
    custom: Option<&'a str>,
) -> RequestInfo<'a> {
    // Resolved by an outer layer, else here (the header is read only behind a proxy).
    let client = request
        .extensions()
        .get::<edge_core::ClientIp>()
        .map(|c| c.ip())
        .or_else(|| {
            limiter
                .trusted_proxies()
                .resolve_from(peer, request.headers())
        });
    RequestInfo {
        method: request.method().as_str(),
        path: request.uri().path(),
        peer,
        client,
        forwarded: Vec::new(),
        subject,
        custom,
    }
}

/// The 429 (or 503) for a refused request, the verdict kept in its extensions.
fn refusal<B: From<String>>(verdict: &Verdict) -> Option<Response<B>> {
    let (status, body) = response::rejection(verdict)?;
    let mut response = Response::new(B::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response.extensions_mut().insert(verdict.clone());
    Some(response)
}

/// Leave an allowed request's state in its extensions for the limiters inside;
/// returns the verdict to label the response with, or `None` when an enclosing
/// limiter's state is tighter (that limiter labels it).
fn pass_inward<B>(request: &mut Request<B>, verdict: Verdict) -> Option<Verdict> {
    if response::outer_is_tighter(request.extensions().get::<RateLimitState>(), &verdict) {
        return None;
    }
    if let Some(state) = verdict.state() {
        request.extensions_mut().insert(state.clone());
    }
    Some(verdict)
}

/// Label the response with the verdict — unless a limiter inside already put a
/// tighter state on it: several limiters in a stack, the tightest describes it.
fn finish<B>(response: &mut Response<B>, verdict: &Verdict) {
    if response::keep_inner(response.extensions().get::<RateLimitState>(), verdict) {
        return;
    }
    if let Some(state) = verdict.state() {
        crate::core::decision::record_in_span(state);
        response.extensions_mut().insert(state.clone());
    }
    if !matches!(verdict, Verdict::Unlimited) {
        // Replace (not append to) what a limiter inside wrote: one value per header.
        let headers = response.headers_mut();
        for (name, value) in response::header_pairs(verdict) {
            headers.insert(name, value);
        }
    }
}
