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
mod identity;
mod issuer;
pub mod metrics;
mod refresh;
pub mod response;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "oidc")]
#[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
pub mod oidc;
#[cfg(feature = "tower")]
pub mod tower;

pub use config::ValidatorBuilder;
pub use core::algorithm::Algorithm;
pub use core::bearer::{bearer_token, bearer_token_from};
pub use core::validator::{Decision, Validator};
pub use edge_core::{Clock, ManualClock, SystemClock};
pub use error::{AuthError, AuthErrorKind, ConfigError};
pub use identity::Identity;
pub use issuer::{AccessToken, IssueError, TokenIssuer};
pub use refresh::{
    DEFAULT_SESSION_TTL, MemoryRefreshStore, RefreshError, RefreshStore, RefreshToken,
    RefreshTokens, Rotation, StoreError, TokenHash,
};

/// The `tracing` span field the authenticated subject is recorded in: declare it as
/// `user = tracing::field::Empty` on the request span.
pub const SPAN_FIELD: &str = "user";
