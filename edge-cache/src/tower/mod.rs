//! Tower middleware: [`ResponseCacheLayer`] answers cacheable GETs from the
//! [`Cache`](crate::Cache), stores the backend's cacheable answers, and
//! invalidates after writes. Response bodies are buffered only when their length
//! is known (to store or gzip them); streams pass through untouched.
//!
//! ```
//! use edge_cache::{Cache, tower::ResponseCacheLayer};
//! use tower::ServiceBuilder;
//!
//! let cache = Cache::builder().build()?;
//! let service = ServiceBuilder::new()
//!     .layer(ResponseCacheLayer::new(cache))
//!     .service_fn(|_req: http::Request<()>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(String::from("hello")))
//!     });
//! # Ok::<(), edge_cache::ConfigError>(())
//! ```

mod body;
mod service;

pub use body::{BoxError, CacheBody};
pub use service::{ResponseCache, ResponseCacheLayer, ResponseFuture};
