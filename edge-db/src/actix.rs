//! actix-web middleware installing a per-request [`QueryCount`].
//!
//! ```
//! use actix_web::{App, HttpMessage, HttpRequest, web};
//! use edge_db::actix::QueryCounter;
//!
//! let app = App::new().wrap(QueryCounter::new()).route(
//!     "/",
//!     web::get().to(|req: HttpRequest| async move {
//!         let count = req.extensions().get::<edge_db::QueryCount>().map(|c| c.get());
//!         format!("{count:?}")
//!     }),
//! );
//! ```

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpMessage;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use tokio::task::futures::TaskLocalFuture;

use crate::counter::{QueryCount, count_queries};

/// The middleware factory: `App::new().wrap(QueryCounter::new())`.
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct QueryCounter;

impl QueryCounter {
    /// A new factory.
    pub fn new() -> Self {
        QueryCounter
    }
}

impl<S, B> Transform<S, ServiceRequest> for QueryCounter
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = QueryCounterMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(QueryCounterMiddleware { service }))
    }
}

/// The middleware built by [`QueryCounter`].
#[derive(Debug)]
pub struct QueryCounterMiddleware<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for QueryCounterMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let count = QueryCount::new();
        request.extensions_mut().insert(count.clone());
        ResponseFuture {
            inner: count_queries(count.clone(), self.service.call(request)),
            count: Some(count),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`QueryCounterMiddleware`]: the inner service's,
    /// run with the request's counter, which then goes into the response's
    /// extensions. A named type, not a boxed one: no allocation per request.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: TaskLocalFuture<QueryCount, F>,
        count: Option<QueryCount>,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl<F, B> Future for ResponseFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some(count) = this.count.take() {
            count.record_in_current_span();
            response.response_mut().extensions_mut().insert(count);
        }
        Poll::Ready(Ok(response))
    }
}
