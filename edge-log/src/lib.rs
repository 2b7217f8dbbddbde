#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod error;
pub mod fields;
mod health;
mod log;
pub mod metrics;
mod record;
mod writer;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

pub use edge_core::{
    ClientIp, MAX_REQUEST_ID_LEN, REQUEST_ID_HEADER, RequestId, TRACEPARENT_HEADER, TraceContext,
    TraceId, TrustedProxies, is_well_formed,
};
pub use error::ConfigError;
pub use fields::{FieldsLayer, RateLimitField, SpanFields};
pub use health::{CheckState, Health, HealthReport};
pub use log::{AccessLog, AccessLogBuilder, CLIENT_CLOSED_REQUEST, RequestHead, RequestLog};
pub use record::{AccessRecord, Format};
pub use writer::LogWriter;
