//! The audit trail of resource changes.

use chrono::{DateTime, Utc};
use edge_db::{Conn, DbError, FromRow, Row, Tx, column};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// What happened to a resource.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// It was created.
    Create,
    /// It was replaced.
    Update,
    /// It was deleted.
    Delete,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// One audit row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Its id (entries of one resource are in id order).
    pub id: i64,
    /// Who made the change (null if that account is gone).
    pub actor_id: Option<i64>,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// The resource changed.
    pub resource_id: i64,
    /// The resource before the change (null for `create`).
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The resource after the change (null for `delete`).
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    /// When.
    #[serde(serialize_with = "crate::db::rfc3339::serialize")]
    pub at: DateTime<Utc>,
}

impl FromRow for AuditEntry {
    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(AuditEntry {
            id: column(row, "id")?,
            actor_id: column(row, "actor_id")?,
            action: column(row, "action")?,
            resource_id: column(row, "resource_id")?,
            before: column(row, "before")?,
            after: column(row, "after")?,
            at: column(row, "at")?,
        })
    }
}

/// Write one audit row inside the change's transaction.
pub async fn record(
    tx: &Tx<'_>,
    actor: i64,
    action: Action,
    resource: i64,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO audit_log (actor_id, action, resource_id, before, after) VALUES ($1, $2, $3, $4, $5)",
        &[&actor, &action.as_str(), &resource, &before, &after],
    )
    .await
    .map(drop)
}

/// The owner of `resource` as its first audit row recorded it (the trail
/// outlives the resource); `None` when it has no trail.
pub async fn owner_of(conn: &Conn, resource: i64) -> Result<Option<i64>, DbError> {
    let row: Option<(Option<String>,)> = conn
        .query_opt(
            "SELECT coalesce(after, before)->>'owner_id' FROM audit_log
             WHERE resource_id = $1 ORDER BY id LIMIT 1",
            &[&resource],
        )
        .await?;
    Ok(row.and_then(|(owner,)| owner?.parse().ok()))
}

/// Up to `limit + 1` entries for `resource` after the entry `after` (from the
/// start when `None`), oldest first: the extra one tells whether a page follows.
pub async fn page(
    conn: &Conn,
    resource: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    conn.query_all(
        "SELECT id, actor_id, action, resource_id, before, after, at FROM audit_log
         WHERE resource_id = $1 AND ($2::BIGINT IS NULL OR id > $2) ORDER BY id LIMIT $3",
        &[&resource, &after, &(limit + 1)],
    )
    .await
}
