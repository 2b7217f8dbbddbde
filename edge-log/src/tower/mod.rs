//! Tower middleware: [`AccessLoggerLayer`] takes or makes the request id, runs the
//! inner service inside the request span, echoes `X-Request-Id`, and writes the
//! access line when the response body ends. Put it outermost.
//!
//! ```
//! use std::net::SocketAddr;
//! use edge_log::{AccessLog, tower::AccessLoggerLayer};
//!
//! let layer = AccessLoggerLayer::new(AccessLog::builder().build()?)
//!     // Where the client address is (axum: `ConnectInfo<SocketAddr>`).
//!     .peer_from(|ext| ext.get::<SocketAddr>().map(|a| a.ip()));
//! # drop(layer);
//! # Ok::<(), edge_log::ConfigError>(())
//! ```

mod body;
mod service;

pub use body::LoggedBody;
pub use service::{AccessLogger, AccessLoggerLayer, ResponseFuture};
