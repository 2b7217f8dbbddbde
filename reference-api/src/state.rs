//! What every handler shares.

use std::sync::Arc;

use actix_web::web::Bytes;
use edge_db::Db;

use crate::config::Config;

/// Application state, cloned into every worker.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database pool.
    pub db: Db,
    /// The configuration.
    pub config: Arc<Config>,
    /// The OpenAPI document, serialized once.
    pub openapi: Bytes,
}
