//! The Edge reference API: a CRUD backend composing the edge-* crates (SPEC §4).
//!
//! `main.rs` parses the configuration and calls [`run`]; [`app::app`] is the
//! middleware stack and routes, in order, in one function.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod app;
pub mod config;
pub mod db;
pub mod embedded_pg;
pub mod problem;
pub mod request_id;
pub mod routes;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::web::Bytes;
use edge_db::Db;
use utoipa::OpenApi;

use crate::config::Config;
use crate::state::AppState;

/// Why the API could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database URL or pool settings are invalid.
    #[error("invalid database configuration: {0}")]
    DbConfig(#[from] edge_db::ConfigError),
    /// The database could not be reached or migrated.
    #[error("database: {0}")]
    Db(#[from] edge_db::DbError),
    /// Binding or serving HTTP failed.
    #[error("cannot serve on {address}: {source}")]
    Serve {
        /// The listen address.
        address: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// How long start-up waits for an external database that is still coming up.
const DATABASE_WAIT: Duration = Duration::from_secs(30);

/// Connect and migrate the database, then serve until SIGINT/SIGTERM; in-flight
/// requests are finished before this returns.
pub async fn run(config: Config, database_url: String) -> Result<(), StartError> {
    let db = Db::builder(database_url)
        .max_size(config.db_pool_size as usize)
        .build()?;
    db::migrate(&db, DATABASE_WAIT).await?;

    let openapi = serde_json::to_vec(&routes::openapi::ApiDoc::openapi()).unwrap_or_default();
    let state = AppState {
        db: db.clone(),
        config: Arc::new(config),
        openapi: Bytes::from(openapi),
    };
    let address = state.config.listen;
    let serve_error = |source| StartError::Serve { address, source };
    let server = HttpServer::new({
        let state = state.clone();
        move || app::app(state.clone())
    })
    .shutdown_timeout(15)
    .bind(address)
    .map_err(serve_error)?;
    for bound in server.addrs() {
        tracing::info!(address = %bound, "listening on http://{bound}");
    }
    server.run().await.map_err(serve_error)?;
    tracing::info!("stopped serving; closing the database pool");
    db.close();
    Ok(())
}
