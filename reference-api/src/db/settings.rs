//! The live settings' row: one versioned JSON document, its changes audited
//! and announced on `NOTIFY edge_settings` in the transaction that makes them.

use edge_db::{Conn, DbError, Tx};
use serde_json::Value;

/// The channel every change is announced on (its payload: the new version).
pub const CHANNEL: &str = "edge_settings";

/// The stored settings: their version and document.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Incremented by every change (the settings' ETag).
    pub version: i64,
    /// The document, without its version.
    pub document: Value,
}

/// The stored settings, storing `initial` as version 1 first when there are
/// none (concurrent first starts agree on one row).
pub async fn get_or_init(conn: &Conn, initial: &Value) -> Result<Stored, DbError> {
    conn.execute(
        "INSERT INTO settings (id, version, document) VALUES (1, 1, $1)
         ON CONFLICT (id) DO NOTHING",
        &[initial],
    )
    .await?;
    get(conn).await
}

/// The stored settings.
pub async fn get(conn: &Conn) -> Result<Stored, DbError> {
    let (version, document): (i64, Value) = conn
        .query_one("SELECT version, document FROM settings WHERE id = 1", &[])
        .await?;
    Ok(Stored { version, document })
}

/// The stored settings, locked until the transaction ends.
pub async fn lock(tx: &Tx<'_>) -> Result<Stored, DbError> {
    let (version, document): (i64, Value) = tx
        .query_one(
            "SELECT version, document FROM settings WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await?;
    Ok(Stored { version, document })
}

/// Store `document` as the version after `current`, audit the change as
/// `actor`'s (`None`: the operator, through SIGHUP) from `audited_before` to
/// `audited_after` (the documents with what else changed, such as the admins)
/// and announce it.
pub async fn replace(
    tx: &Tx<'_>,
    actor: Option<i64>,
    current: &Stored,
    document: &Value,
    (audited_before, audited_after): (&Value, &Value),
) -> Result<Stored, DbError> {
    let version = current.version + 1;
    tx.execute(
        "UPDATE settings SET version = $1, document = $2, updated_at = now(), updated_by = $3
         WHERE id = 1",
        &[&version, document, &actor],
    )
    .await?;
    tx.execute(
        "INSERT INTO settings_audit (actor_id, version, before, after) VALUES ($1, $2, $3, $4)",
        &[&actor, &version, audited_before, audited_after],
    )
    .await?;
    tx.execute(
        "SELECT pg_notify('edge_settings', $1)",
        &[&version.to_string()],
    )
    .await?;
    Ok(Stored {
        version,
        document: document.clone(),
    })
}
