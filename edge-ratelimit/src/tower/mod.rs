//! Tower middleware: [`RateLimitingLayer`] checks every request before the inner
//! service; allowed responses get the rate-limit headers, rejected requests get
//! 429 (or 503 when the store fails closed) without reaching the inner service.
//!
//! The client IP comes from a `SocketAddr` request extension by default; with axum,
//! read `ConnectInfo` instead:
//!
//! ```
//! use std::net::SocketAddr;
//! use axum::extract::ConnectInfo;
//! use edge_ratelimit::{KeyKind, Policy, RateLimiter, tower::RateLimitingLayer};
//!
//! let limiter = RateLimiter::builder()
//!     .policy(Policy::new("ip", "600/1m".parse()?, KeyKind::ClientIp)?)
//!     .build()?;
//! let layer = RateLimitingLayer::new(limiter)
//!     .peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()));
//! # Ok::<(), edge_ratelimit::ConfigError>(())
//! ```

mod layer;
mod service;

pub use layer::RateLimitingLayer;
pub use service::{RateLimiting, ResponseFuture};
