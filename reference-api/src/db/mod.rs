//! Database access: the migrations (`migrations/` at the workspace root) and the
//! queries, as named functions returning typed rows.

pub mod audit;
pub mod refresh_tokens;
pub mod resources;
pub mod rfc3339;
pub mod settings;
pub mod signing_key;
pub mod users;

use std::time::{Duration, Instant};

use edge_db::{Db, DbError};

mod embedded {
    refinery::embed_migrations!("../migrations");
}
use embedded::migrations;

/// Apply pending migrations, waiting up to `wait` for a database that is still starting.
pub async fn migrate(db: &Db, wait: Duration) -> Result<(), DbError> {
    let deadline = Instant::now() + wait;
    loop {
        match db.migrate(migrations::runner()).await {
            Ok(report) if report.applied.is_empty() => {
                tracing::info!("database schema is up to date");
                return Ok(());
            }
            Ok(report) => {
                tracing::info!(applied = ?report.applied, "database migrations applied");
                return Ok(());
            }
            Err(e) if e.is_unavailable() && Instant::now() < deadline => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
