use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::RateLimitingLayer;
use crate::{Label, RateLimitState, RateLimiter, Refusal, RequestInfo, Step, Verdict};

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
            label: Option<(Verdict, RateLimiter)>,
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
            StateProj::Checked { inner, label } => {
                let mut response = std::task::ready!(inner.poll(cx))?;
                if let Some((verdict, limiter)) = label.take() {
                    finish(&mut response, &limiter, &verdict);
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
pub struct RateLimiting<S> {
    pub(super) inner: S,
    pub(super) layer: RateLimitingLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimiting<S>
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
            return match layer.limiter.step(verdict, request.extensions().get()) {
                Step::Refuse(refusal) => ResponseFuture::new(State::Refused {
                    response: Some(refused(refusal, request.extensions().get())),
                }),
                Step::Pass { state, label } => {
                    pass_inward(&mut request, state);
                    ResponseFuture::new(State::Checked {
                        inner: self.inner.call(request),
                        label: label.map(|verdict| (verdict, layer.limiter.clone())),
                    })
                }
            };
        }
        // Checked after an await: the subject is copied.
        let subject = (layer.subject)(request.extensions()).map(str::to_owned);
        // Use the service that was readied; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limiter = layer.limiter.clone();
        ResponseFuture::new(State::Waiting {
            future: Box::pin(async move {
                let verdict = {
                    let info = request_info(
                        &request,
                        &limiter,
                        peer,
                        subject.as_deref(),
                        custom.as_deref(),
                    );
                    limiter.check(&info).await
                };
                match limiter.step(verdict, request.extensions().get()) {
                    Step::Refuse(refusal) => Ok(refused(refusal, request.extensions().get())),
                    Step::Pass { state, label } => {
                        pass_inward(&mut request, state);
                        let mut response = inner.call(request).await?;
                        if let Some(verdict) = label {
                            finish(&mut response, &limiter, &verdict);
                        }
                        Ok(response)
                    }
                }
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

/// A [`Refusal`] as a response.
fn refused<B: From<String>>(
    refusal: Box<Refusal>,
    request_id: Option<&edge_core::RequestId>,
) -> Response<B> {
    let rendered = refusal.body(request_id);
    let content_type = rendered.content_type_value();
    let mut response = Response::new(B::from(rendered.body));
    *response.status_mut() = refusal.status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, content_type);
    apply(&mut response, refusal.label);
    response.extensions_mut().insert(refusal.verdict);
    response
}

fn pass_inward<B>(request: &mut Request<B>, state: Option<RateLimitState>) {
    if let Some(state) = state {
        request.extensions_mut().insert(state);
    }
}

fn finish<B>(response: &mut Response<B>, limiter: &RateLimiter, verdict: &Verdict) {
    if let Some(label) = limiter.label(verdict, response.extensions().get()) {
        apply(response, label);
    }
}

fn apply<B>(response: &mut Response<B>, mut label: Label) {
    if let Some(state) = label.state.take() {
        response.extensions_mut().insert(state);
    }
    let headers = response.headers_mut();
    for (header, value) in std::mem::take(&mut label.headers) {
        if let Some(value) = label.header_value(value) {
            headers.insert(header.name(), value);
        }
    }
}
