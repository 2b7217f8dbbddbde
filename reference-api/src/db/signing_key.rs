//! The token-signing key kept in the database when no `JWT_SECRET` is configured:
//! the first instance to start generates it; every instance reads the same row.

use edge_db::{Conn, DbError};

/// The stored key, generating and storing `fresh` first when there is none
/// (concurrent first starts agree on one row).
pub async fn get_or_create(conn: &Conn, fresh: &[u8]) -> Result<Vec<u8>, DbError> {
    conn.execute(
        "INSERT INTO signing_keys (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        &[&fresh],
    )
    .await?;
    let (secret,): (Vec<u8>,) = conn
        .query_one("SELECT secret FROM signing_keys WHERE id = 1", &[])
        .await?;
    Ok(secret)
}

/// Replace the stored key with `fresh` (instances pick it up when they restart).
pub async fn replace(conn: &Conn, fresh: &[u8]) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO signing_keys (id, secret) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET secret = excluded.secret, created_at = now()",
        &[&fresh],
    )
    .await?;
    Ok(())
}
