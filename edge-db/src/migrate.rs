//! Migrations applied at start-up with [refinery](https://docs.rs/refinery).
//!
//! Embed a folder of `V{n}__{name}.sql` files in your binary with
//! `refinery::embed_migrations!("migrations")` and apply them with [`Db::migrate`].
//! Several instances starting at once are serialized by an advisory lock, and
//! applied migrations are recorded, so running them again is a no-op.

use crate::{Db, DbError, ErrorKind};

/// The advisory-lock key that serializes concurrent migration runs.
const MIGRATION_LOCK: i64 = 0x0065_6467_655f_6462; // "edge_db" in ASCII

/// What a [`Db::migrate`] run applied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrationReport {
    /// The migrations applied by this run, as `V{version}__{name}`, in order.
    pub applied: Vec<String>,
}

impl Db {
    /// Apply `runner`'s pending migrations, holding an advisory lock meanwhile.
    pub async fn migrate(&self, runner: refinery::Runner) -> Result<MigrationReport, DbError> {
        let mut conn = self.conn().await?;
        let client = conn.client();
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let result = runner.run_async(client).await;
        let unlocked = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        let report = result.map_err(|e| {
            DbError::new(ErrorKind::Migration, format!("migrations failed: {e}")).with_source(e)
        })?;
        unlocked?;
        Ok(MigrationReport {
            applied: report
                .applied_migrations()
                .iter()
                .map(|m| format!("V{}__{}", m.version(), m.name()))
                .collect(),
        })
    }
}
