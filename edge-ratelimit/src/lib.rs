#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod core;
mod error;
pub mod metrics;
mod store;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "tower")]
pub mod tower;

pub use config::RateLimiterBuilder;
pub use core::decision::{RateLimitState, Verdict};
pub use core::key::{RequestInfo, client_ip};
pub use core::limiter::{FailMode, MissingClient, RateLimiter};
pub use core::policy::{KeyKind, Policy, Quota, Scope};
pub use core::protocol::{HeaderLines, Label, LimitHeader, LimitValue, Refusal, Step};
pub use edge_core::{ClientIp, ClientIpHeader, TrustedProxies};
pub use edge_core::{Clock, ManualClock, Subject, SystemClock};
pub use error::{ConfigError, StoreError};
#[cfg(feature = "redis")]
pub use store::redis::RedisStore;
pub use store::{Acquired, Acquisition, Hit, KeyValue, Outcome, RateLimitStore};

/// The `tracing` span field the tightest policy is recorded in, as `policy:remaining/limit`.
pub const SPAN_FIELD: &str = "ratelimit";
