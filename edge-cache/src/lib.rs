#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache;
mod config;
mod core;
mod error;
pub mod metrics;
mod protocol;
mod route;
mod stats;

#[cfg(feature = "redis")]
mod redis;
mod shared;
mod store;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

pub use cache::{Action, Cache, Lookup, Miss, Pass, Read, Ttls, Write};
pub use config::CacheBuilder;
pub use core::conditional::{etag_of, if_match, if_none_match};
pub use core::encoding::Accepts;
pub use core::reply::{CacheStatus, Reply, X_CACHE};
pub use edge_core::{Clock, ManualClock, SystemClock};
pub use error::{ConfigError, TierError};
pub use protocol::{Begin, Handling, Passing, Pending};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisTier;
pub use route::{Route, Unlisted};
pub use stats::CacheStats;
pub use store::{CacheStore, Epoch, Found, Message, Messages, StoreFuture};

/// The `tracing` span field the cache status is recorded in: `hit`, `miss` or `bypass`.
pub const SPAN_FIELD: &str = "cache";
