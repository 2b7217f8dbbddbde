use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::ResponseFuture;
use crate::{Decision, Validator, response};

/// Validates the bearer token of each request; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct Auth<S> {
    pub(super) inner: S,
    pub(super) validator: Validator,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Auth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        match self
            .validator
            .decide(request.method(), request.uri().path(), request.headers())
        {
            Decision::Public => ResponseFuture::pass(self.inner.call(request), None),
            Decision::Authenticated(identity) => {
                tracing::Span::current().record(crate::SPAN_FIELD, identity.subject());
                request.extensions_mut().insert(identity.clone());
                ResponseFuture::pass(self.inner.call(request), Some(identity))
            }
            Decision::Rejected(error) => {
                let id = request.extensions().get::<edge_core::RequestId>();
                ResponseFuture::reject(response::rejection(&error, self.validator.realm(), id))
            }
        }
    }
}
