//! Tower middleware: [`RequestFilterLayer`] runs the [`Filter`](crate::Filter)'s checks
//! before the inner service. The body is collected up to the limit (413 beyond it,
//! without reading further) and handed on rebuilt, so the request body type must
//! be constructible from `Bytes` (axum's `Body` and `Full<Bytes>` are).
//!
//! ```
//! use edge_filter::{Filter, tower::RequestFilterLayer};
//! use http_body_util::Full;
//! use bytes::Bytes;
//! use tower::ServiceBuilder;
//!
//! let service = ServiceBuilder::new()
//!     .layer(RequestFilterLayer::new(Filter::builder().max_body(64 * 1024).build()?))
//!     .service_fn(|_req: http::Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(String::from("ok")))
//!     });
//! # Ok::<(), edge_filter::ConfigError>(())
//! ```

mod service;

pub use service::{RequestFilter, RequestFilterLayer, ResponseFuture};
