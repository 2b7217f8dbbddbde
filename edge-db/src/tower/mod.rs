//! Tower middleware installing a per-request [`QueryCount`](crate::QueryCount).
//!
//! ```
//! use edge_db::tower::QueryCounterLayer;
//! use tower::ServiceBuilder;
//!
//! let service = ServiceBuilder::new()
//!     .layer(QueryCounterLayer::new())
//!     .service_fn(|req: http::Request<String>| async move {
//!         // Handlers read the counter from the request extensions.
//!         let count = req.extensions().get::<edge_db::QueryCount>().cloned();
//!         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
//!     });
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::QueryCounterLayer;
pub use service::QueryCounter;
