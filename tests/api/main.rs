//! Black-box tests of the reference API: the built binary, over real HTTP,
//! against real PostgreSQL servers started by the test harness.

mod support;

mod auth;
mod cache;
mod contract;
mod cors;
mod deploy;
mod errors;
mod filter;
mod health;
mod logging;
mod metrics;
mod ratelimit;
mod resources;
mod scaleout;
mod settings;
mod startup;
