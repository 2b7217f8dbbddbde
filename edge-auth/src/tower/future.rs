use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use crate::Identity;

pin_project! {
    /// The response future of [`Auth`](super::Auth): the inner service's, or a rejection.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProjection]
    enum Kind<F, B> {
        Pass { #[pin] future: F, identity: Option<Identity> },
        Reject { response: Option<Response<B>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    /// The inner service's answer; an authenticated caller's [`Identity`] is
    /// also left in the response's extensions, where an outer layer (the
    /// access log) can read who it was.
    pub(super) fn pass(future: F, identity: Option<Identity>) -> Self {
        ResponseFuture {
            kind: Kind::Pass { future, identity },
        }
    }

    pub(super) fn reject(response: Response<B>) -> Self {
        ResponseFuture {
            kind: Kind::Reject {
                response: Some(response),
            },
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Kind::Pass { .. } => f.write_str("ResponseFuture::Pass"),
            Kind::Reject { .. } => f.write_str("ResponseFuture::Reject"),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProjection::Pass { future, identity } => {
                let mut response = std::task::ready!(future.poll(cx))?;
                if let Some(identity) = identity.take() {
                    response.extensions_mut().insert(identity);
                }
                Poll::Ready(Ok(response))
            }
            KindProjection::Reject { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
        }
    }
}
