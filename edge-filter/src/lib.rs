#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
pub mod actix;
mod core;
mod error;
mod filter;
pub mod metrics;
mod protocol;
pub mod routes;
pub mod security_log;
#[cfg(feature = "tower")]
pub mod tower;

pub use core::builtin::default_rules;
pub use core::inspect::{EXCERPT_BYTES, Finding, Inspector, is_sensitive_location};
pub use core::normalize::normalize;
pub use core::rules::{Category, Rule, RuleSet, SQL_TOKENIZER};
pub use error::ConfigError;
pub use filter::{
    DEFAULT_BODY_TIMEOUT, Filter, FilterBuilder, KnownSender, Mode, Rejection, RequestContext,
    Sender,
};
pub use protocol::{AfterHead, BodyHint};
pub use security_log::{FIELD_BYTES, PATH_BYTES, SecurityEvent, SecurityLog, SecurityLogBuilder};
