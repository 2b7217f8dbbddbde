#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod counter;
mod error;
mod listen;
pub mod metrics;
#[cfg(feature = "migrations")]
mod migrate;
mod pool;
mod query;
mod row;
mod shared;
#[cfg(feature = "tls")]
mod tls;
mod transaction;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "tower")]
pub mod tower;

pub use config::DbBuilder;
pub use counter::{QueryCount, SPAN_FIELD, count_queries};
pub use error::{ConfigError, DbError, ErrorKind};
pub use listen::Notifications;
#[cfg(feature = "migrations")]
pub use migrate::MigrationReport;
pub use pool::{Conn, Db, PoolStats};
pub use query::Params;
pub use row::{FromRow, column};
pub use shared::Shared;
pub use tokio_postgres::{Row, types::ToSql};
pub use transaction::{BoxFuture, Isolation, RetryPolicy, Tx};
