#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod core;
mod error;

pub use core::inspect::{EXCERPT_BYTES, Finding, Inspector};
pub use core::normalize::normalize;
pub use core::rules::{Category, Rule, RuleSet, default_rules};
pub use error::ConfigError;
