//! What every handler shares.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use actix_web::web::Bytes;
use edge_auth::{RefreshTokens, TokenIssuer, Validator};
use edge_cache::Cache;
use edge_db::Db;
use edge_filter::Filter;
use edge_log::{AccessLog, Health};
use edge_ratelimit::RateLimiter;

use crate::config::Config;
use crate::db::refresh_tokens::PgRefreshStore;
use crate::passwords::Passwords;

/// Application state, cloned into every worker.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database pool.
    pub db: Db,
    /// The configuration.
    pub config: Arc<Config>,
    /// The OpenAPI document, serialized once.
    pub openapi: Bytes,
    /// Validates access tokens.
    pub validator: Validator,
    /// Issues access tokens.
    pub issuer: TokenIssuer,
    /// Issues, rotates and revokes refresh tokens.
    pub refresh: RefreshTokens<PgRefreshStore>,
    /// Hashes and checks passwords.
    pub passwords: Passwords,
    /// Per-IP limits (and the login limit), checked before authentication.
    pub ip_limits: RateLimiter,
    /// Per-user and read/write limits, checked after authentication.
    pub user_limits: RateLimiter,
    /// Body limits and attack detection, with the security log.
    pub filter: Filter,
    /// Cached GET responses of resources, shared by every worker (and, with
    /// Redis, every instance).
    pub cache: Cache,
    /// The access log (one JSON line per request on stdout).
    pub access_log: AccessLog,
    /// The dependencies `/healthz` and `/readyz` probe.
    pub health: Health,
    /// The version of the live settings this process applied.
    pub settings: crate::settings::Applied,
    /// Set at SIGTERM/SIGINT: `/readyz` answers 503 from then on.
    pub draining: Arc<AtomicBool>,
    /// Renders `GET /metrics`; `None` until [`crate::metrics::install`] is
    /// called (by [`crate::run`]).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}
