//! edge-auth's [`RefreshStore`] over PostgreSQL: families and hashed tokens.

use chrono::{DateTime, Utc};
use edge_auth::{RefreshStore, Rotation, StoreError, TokenHash};
use edge_db::{Db, DbError, FromRow, Row, column};

/// Refresh-token families in the `refresh_token_families` / `refresh_tokens` tables.
#[derive(Debug, Clone)]
pub struct PgRefreshStore {
    db: Db,
}

impl PgRefreshStore {
    /// A store over `db`.
    pub fn new(db: Db) -> Self {
        PgRefreshStore { db }
    }
}

/// A presented token with its family's state.
struct Presented {
    token: i64,
    family: i64,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    user_id: i64,
    revoked_at: Option<DateTime<Utc>>,
    family_expires_at: DateTime<Utc>,
}

impl FromRow for Presented {
    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Presented {
            token: column(row, "id")?,
            family: column(row, "family_id")?,
            expires_at: column(row, "expires_at")?,
            used_at: column(row, "used_at")?,
            user_id: column(row, "user_id")?,
            revoked_at: column(row, "revoked_at")?,
            family_expires_at: column(row, "family_expires_at")?,
        })
    }
}

fn at(seconds: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::try_from(seconds).unwrap_or(i64::MAX), 0)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn store_error(e: DbError) -> StoreError {
    StoreError(Box::new(e))
}

fn user_id(subject: &str) -> Result<i64, StoreError> {
    subject
        .parse()
        .map_err(|_| StoreError(format!("subject {subject:?} is not a user id").into()))
}

impl RefreshStore for PgRefreshStore {
    async fn create_family(
        &self,
        subject: &str,
        first: TokenHash,
        expires_at: u64,
        family_expires_at: u64,
    ) -> Result<(), StoreError> {
        let user = user_id(subject)?;
        let hash = first.0.to_vec();
        let (expires, family_expires) = (at(expires_at), at(family_expires_at));
        self.db
            .transaction(|tx| {
                let hash = hash.clone();
                Box::pin(async move {
                    let (family,): (i64,) = tx
                        .query_one(
                            "INSERT INTO refresh_token_families (user_id, expires_at) VALUES ($1, $2) RETURNING id",
                            &[&user, &family_expires],
                        )
                        .await?;
                    tx.execute(
                        "INSERT INTO refresh_tokens (family_id, token_hash, expires_at) VALUES ($1, $2, $3)",
                        &[&family, &hash, &expires],
                    )
                    .await?;
                    Ok::<_, DbError>(())
                })
            })
            .await
            .map_err(store_error)
    }

    async fn rotate(
        &self,
        presented: TokenHash,
        next: TokenHash,
        next_expires_at: u64,
        now: u64,
    ) -> Result<Rotation, StoreError> {
        let (presented, next) = (presented.0.to_vec(), next.0.to_vec());
        let (next_expires, now) = (at(next_expires_at), at(now));
        self.db
            .transaction(|tx| {
                let (presented, next) = (presented.clone(), next.clone());
                Box::pin(async move {
                    let found: Option<Presented> = tx
                        .query_opt(
                            "SELECT t.id, t.family_id, t.expires_at, t.used_at, f.user_id, f.revoked_at,
                                    f.expires_at AS family_expires_at
                             FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id
                             WHERE t.token_hash = $1
                             FOR UPDATE OF t, f",
                            &[&presented],
                        )
                        .await?;
                    let Some(Presented { token, family, expires_at, used_at, user_id, revoked_at, family_expires_at }) = found else {
                        return Ok(Rotation::Invalid);
                    };
                    if revoked_at.is_some() || expires_at <= now || family_expires_at <= now {
                        return Ok(Rotation::Invalid);
                    }
                    let next_expires = next_expires.min(family_expires_at);
                    if used_at.is_some() {
                        tx.execute("UPDATE refresh_token_families SET revoked_at = $2 WHERE id = $1", &[&family, &now])
                            .await?;
                        return Ok(Rotation::Reused {
                            subject: user_id.to_string(),
                        });
                    }
                    tx.execute("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1", &[&token, &now])
                        .await?;
                    tx.execute(
                        "INSERT INTO refresh_tokens (family_id, token_hash, expires_at) VALUES ($1, $2, $3)",
                        &[&family, &next, &next_expires],
                    )
                    .await?;
                    Ok::<_, DbError>(Rotation::Rotated {
                        subject: user_id.to_string(),
                    })
                })
            })
            .await
            .map_err(store_error)
    }

    async fn revoke_family(
        &self,
        presented: TokenHash,
        subject: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let presented = presented.0.to_vec();
        let user = user_id(subject)?;
        let conn = self.db.conn().await.map_err(store_error)?;
        let revoked = conn
            .execute(
                "UPDATE refresh_token_families SET revoked_at = coalesce(revoked_at, $2)
                 WHERE id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)
                   AND user_id = $3",
                &[&presented, &at(now), &user],
            )
            .await
            .map_err(store_error)?;
        Ok(revoked > 0)
    }
}
