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

use std::future::{Ready, ready};

use actix_web::HttpMessage;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::LocalBoxFuture;

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
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let count = QueryCount::new();
        request.extensions_mut().insert(count.clone());
        let response = count_queries(count.clone(), self.service.call(request));
        Box::pin(async move {
            let mut response = response.await?;
            count.record_in_current_span();
            response.response_mut().extensions_mut().insert(count);
            Ok(response)
        })
    }
}
