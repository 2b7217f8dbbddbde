//! Accounts.

use chrono::{DateTime, Utc};
use edge_db::{Conn, DbError, FromRow, Row, Tx, column};

/// One account.
#[derive(Debug, Clone)]
pub struct User {
    /// Its id.
    pub id: i64,
    /// The name as registered (unique case-insensitively).
    pub username: String,
    /// The Argon2id PHC string.
    pub password_hash: String,
    /// `user` or `admin`.
    pub role: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

impl FromRow for User {
    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(User {
            id: column(row, "id")?,
            username: column(row, "username")?,
            password_hash: column(row, "password_hash")?,
            role: column(row, "role")?,
            created_at: column(row, "created_at")?,
        })
    }
}

/// Create an account; a taken name (any case) is a `Conflict` error.
pub async fn insert(
    conn: &Conn,
    username: &str,
    password_hash: &str,
    role: &str,
) -> Result<User, DbError> {
    conn.query_one(
        "INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3)
         RETURNING id, username, password_hash, role, created_at",
        &[&username, &password_hash, &role],
    )
    .await
}

/// The account named `username`, compared case-insensitively.
pub async fn by_username(conn: &Conn, username: &str) -> Result<Option<User>, DbError> {
    conn.query_opt(
        "SELECT id, username, password_hash, role, created_at FROM users WHERE lower(username) = lower($1)",
        &[&username],
    )
    .await
}

/// The account with `id`.
pub async fn by_id(conn: &Conn, id: i64) -> Result<Option<User>, DbError> {
    conn.query_opt(
        "SELECT id, username, password_hash, role, created_at FROM users WHERE id = $1",
        &[&id],
    )
    .await
}

/// Give the account named `username` (case-insensitively) `role`; `false` when
/// there is no such account. Only operators do this (`grant-admin`).
pub async fn set_role(conn: &Conn, username: &str, role: &str) -> Result<bool, DbError> {
    let updated = conn
        .execute(
            "UPDATE users SET role = $2 WHERE lower(username) = lower($1)",
            &[&username, &role],
        )
        .await?;
    Ok(updated > 0)
}

/// The names of the accounts with the admin role, in name order.
const ADMINS: &str = "SELECT username FROM users WHERE role = 'admin' ORDER BY lower(username)";

/// The names of the accounts with the admin role, in name order.
pub async fn admins(conn: &Conn) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String,)> = conn.query_all(ADMINS, &[]).await?;
    Ok(rows.into_iter().map(|(name,)| name).collect())
}

/// Make the accounts named `names` (case-insensitively) the admins, and no
/// other; returns the names that have no account (then nothing changes).
pub async fn set_admins(tx: &Tx<'_>, names: &[String]) -> Result<Vec<String>, DbError> {
    let lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    let found: Vec<(String,)> = tx
        .query_all(
            "SELECT lower(username) FROM users WHERE lower(username) = ANY($1)",
            &[&lower],
        )
        .await?;
    let missing: Vec<String> = names
        .iter()
        .zip(&lower)
        .filter(|(_, l)| !found.iter().any(|(f,)| f == *l))
        .map(|(name, _)| name.clone())
        .collect();
    if missing.is_empty() {
        tx.execute(
            "UPDATE users SET role = CASE WHEN lower(username) = ANY($1) THEN 'admin' ELSE 'user' END
             WHERE role = 'admin' OR lower(username) = ANY($1)",
            &[&lower],
        )
        .await?;
    }
    Ok(missing)
}

/// [`admins`] within a transaction.
pub async fn admins_in(tx: &Tx<'_>) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String,)> = tx.query_all(ADMINS, &[]).await?;
    Ok(rows.into_iter().map(|(name,)| name).collect())
}
