use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::ResponseFuture;
use crate::counter::{QueryCount, count_queries};

/// Gives each request a [`QueryCount`] (in its extensions and its response's) and
/// counts the queries made while the inner service handles it.
#[derive(Debug, Clone)]
pub struct QueryCounter<S> {
    pub(super) inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for QueryCounter<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let count = QueryCount::new();
        request.extensions_mut().insert(count.clone());
        ResponseFuture::new(
            count_queries(count.clone(), self.inner.call(request)),
            count,
        )
    }
}
