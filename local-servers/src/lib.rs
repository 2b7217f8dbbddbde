//! PostgreSQL and Redis servers started from the machine's own binaries.
//!
//! Two users share this code: the reference API, whose embedded default is a
//! [`postgres::PgServer`] with a persistent data directory when no
//! `DATABASE_URL` is given, and the test harness (`edge-test-support`), which
//! starts throwaway servers on free loopback ports.
//!
//! Every server runs under a small watchdog shell that reads our stdin: when the
//! owning process exits, even by `SIGKILL`, the pipe closes and the watchdog stops
//! the server (and removes throwaway data), so no server outlives its owner.
//! PostgreSQL refuses to run as root; as root the servers run as the `postgres`
//! system user (or `nobody`) through `runuser`.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
pub mod postgres;
mod process;
pub mod redis;

pub use error::ServerError;
pub use process::{free_port, is_root};
