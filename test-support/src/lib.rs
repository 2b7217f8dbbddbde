//! Local PostgreSQL and Redis servers started from the machine's own binaries.
//!
//! Two users share this code:
//!
//! - **Tests** use [`harness`]: one throwaway PostgreSQL and one Redis per test
//!   process on free loopback ports (or `TEST_DATABASE_URL` / `TEST_REDIS_URL`), a
//!   fresh database per test, and a clear failure when a server binary is missing.
//! - **Auth tests** use [`jwt`] to craft valid and hostile tokens; middleware tests
//!   use [`spans`] to see what was recorded on the request span.
//! - **The reference API** uses [`postgres::PgServer`] with a persistent data
//!   directory as its embedded default when no `DATABASE_URL` is given.
//!
//! Every server runs under a small watchdog shell that reads our stdin: when the
//! owning process exits, even by `SIGKILL`, the pipe closes and the watchdog stops
//! the server (and removes throwaway data), so no server outlives its owner.
//! PostgreSQL refuses to run as root; as root the servers run as the `postgres`
//! system user (or `nobody`) through `runuser`.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
pub mod harness;
pub mod jwt;
pub mod postgres;
mod process;
pub mod redis;
pub mod spans;

pub use error::ServerError;
pub use process::{free_port, is_root};
