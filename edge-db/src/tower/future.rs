use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;

use crate::counter::QueryCount;

pin_project! {
    /// The response future of [`QueryCounter`](super::QueryCounter).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: TaskLocalFuture<QueryCount, F>,
        count: QueryCount,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: TaskLocalFuture<QueryCount, F>, count: QueryCount) -> Self {
        ResponseFuture { inner, count }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut result = ready!(this.inner.poll(cx));
        this.count.record_in_current_span();
        if let Ok(response) = &mut result {
            response.extensions_mut().insert(this.count.clone());
        }
        Poll::Ready(result)
    }
}
