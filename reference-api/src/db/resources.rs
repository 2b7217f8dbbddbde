//! Resources, and their changes with the audit row in the same transaction.

use chrono::{DateTime, Utc};
use edge_db::{DbError, FromRow, Row, Tx, column};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::audit;

/// A stored resource, as the API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Resource {
    /// Its id.
    pub id: i64,
    /// The account that created it.
    pub owner_id: i64,
    /// 1-200 characters.
    pub name: String,
    /// Up to 10 000 characters.
    pub description: Option<String>,
    /// Up to 20 unique tags of 1-32 characters.
    pub tags: Vec<String>,
    /// A JSON object of up to 64 KiB.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    /// 1 on creation, +1 on every replacement.
    pub version: i32,
    /// When it was created.
    #[serde(serialize_with = "crate::db::rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    /// When it was last replaced.
    #[serde(serialize_with = "crate::db::rfc3339::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl FromRow for Resource {
    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Resource {
            id: column(row, "id")?,
            owner_id: column(row, "owner_id")?,
            name: column(row, "name")?,
            description: column(row, "description")?,
            tags: column(row, "tags")?,
            data: column(row, "data")?,
            version: column(row, "version")?,
            created_at: column(row, "created_at")?,
            updated_at: column(row, "updated_at")?,
        })
    }
}

impl Resource {
    fn snapshot(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The writable fields of a resource (already validated).
#[derive(Debug, Clone)]
pub struct Fields {
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The tags.
    pub tags: Vec<String>,
    /// The data object.
    pub data: Option<Value>,
}

/// One resource.
pub async fn get(conn: &edge_db::Shared, id: i64) -> Result<Option<Resource>, DbError> {
    conn.query_opt(
        "SELECT id, owner_id, name, description, tags, data, version, created_at, updated_at
         FROM resources WHERE id = $1",
        &[&id],
    )
    .await
}

/// One page, newest first: resources with ids below `before` (all when `None`), at
/// most `limit` of them plus one more to tell whether another page follows.
pub async fn page(
    conn: &edge_db::Shared,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Resource>, DbError> {
    conn.query_all(
        "SELECT id, owner_id, name, description, tags, data, version, created_at, updated_at
         FROM resources WHERE ($1::BIGINT IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
        &[&before, &(limit + 1)],
    )
    .await
}

/// Create a resource and its `create` audit row.
pub async fn create(tx: &Tx<'_>, owner: i64, fields: &Fields) -> Result<Resource, DbError> {
    let created: Resource = tx
        .query_one(
            "INSERT INTO resources (owner_id, name, description, tags, data) VALUES ($1, $2, $3, $4, $5)
             RETURNING id, owner_id, name, description, tags, data, version, created_at, updated_at",
            &[&owner, &fields.name, &fields.description, &fields.tags, &fields.data],
        )
        .await?;
    audit::record(
        tx,
        owner,
        audit::Action::Create,
        created.id,
        None,
        Some(&created.snapshot()),
    )
    .await?;
    Ok(created)
}

/// The resource with `id`, locked until the transaction ends.
pub async fn lock(tx: &Tx<'_>, id: i64) -> Result<Option<Resource>, DbError> {
    tx.query_opt(
        "SELECT id, owner_id, name, description, tags, data, version, created_at, updated_at
         FROM resources WHERE id = $1 FOR UPDATE",
        &[&id],
    )
    .await
}

/// Replace a (locked) resource's fields, bump its version, and audit the change.
pub async fn replace(
    tx: &Tx<'_>,
    actor: i64,
    before: &Resource,
    fields: &Fields,
) -> Result<Resource, DbError> {
    let after: Resource = tx
        .query_one(
            "UPDATE resources SET name = $2, description = $3, tags = $4, data = $5,
                 version = version + 1, updated_at = now()
             WHERE id = $1
             RETURNING id, owner_id, name, description, tags, data, version, created_at, updated_at",
            &[&before.id, &fields.name, &fields.description, &fields.tags, &fields.data],
        )
        .await?;
    audit::record(
        tx,
        actor,
        audit::Action::Update,
        before.id,
        Some(&before.snapshot()),
        Some(&after.snapshot()),
    )
    .await?;
    Ok(after)
}

/// Delete a (locked) resource and audit it.
pub async fn delete(tx: &Tx<'_>, actor: i64, before: &Resource) -> Result<(), DbError> {
    tx.execute("DELETE FROM resources WHERE id = $1", &[&before.id])
        .await?;
    audit::record(
        tx,
        actor,
        audit::Action::Delete,
        before.id,
        Some(&before.snapshot()),
        None,
    )
    .await
}
