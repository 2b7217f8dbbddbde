//! The Edge test harness, over the local servers of `edge-local-servers`:
//!
//! - **Tests** use [`harness`]: one throwaway PostgreSQL and one Redis per test
//!   process on free loopback ports (or `TEST_DATABASE_URL` / `TEST_REDIS_URL`), a
//!   fresh database per test, and a clear failure when a server binary is missing.
//! - **Auth tests** use [`jwt`] to craft valid and hostile tokens; middleware tests
//!   use [`spans`] to see what was recorded on the request span.
//! - The servers themselves ([`postgres`], [`redis`]) are re-exported from
//!   `edge-local-servers`, which the reference API's embedded database uses too.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod harness;
pub mod jwt;
pub mod metrics;
pub mod spans;

pub use edge_local_servers::{ServerError, free_port, is_root, postgres, redis};
