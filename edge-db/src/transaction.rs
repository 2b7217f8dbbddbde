//! Transactions that commit, roll back, and retry serialization failures and deadlocks.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deadpool_postgres::Transaction;
use tokio_postgres::IsolationLevel;

use crate::query::Handle;
use crate::{Db, DbError};

/// A boxed, `Send` future borrowing for `'a`: what a transaction body returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How transactions retry serialization failures and deadlocks (SQLSTATE 40001, 40P01).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The pause before retry `n` is `n * backoff`.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            backoff: Duration::from_millis(5),
        }
    }
}

/// The isolation level of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Isolation {
    /// PostgreSQL's default.
    #[default]
    ReadCommitted,
    /// One snapshot for the whole transaction.
    RepeatableRead,
    /// Serializable; conflicting transactions fail with 40001 and are retried.
    Serializable,
}

impl From<Isolation> for IsolationLevel {
    fn from(isolation: Isolation) -> Self {
        match isolation {
            Isolation::ReadCommitted => IsolationLevel::ReadCommitted,
            Isolation::RepeatableRead => IsolationLevel::RepeatableRead,
            Isolation::Serializable => IsolationLevel::Serializable,
        }
    }
}

/// An open transaction, handed to the body given to [`Db::transaction`].
pub struct Tx<'c> {
    inner: Transaction<'c>,
    retryable: AtomicBool,
}

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}

impl Tx<'_> {
    fn handle(&self) -> Handle<'_> {
        Handle::Tx(&self.inner, &self.retryable)
    }

    crate::query::query_methods!();
}

impl Db {
    /// Run `body` in a READ COMMITTED transaction; see [`Db::transaction_with`].
    pub async fn transaction<T, E, F>(&self, body: F) -> Result<T, E>
    where
        F: for<'a, 'c> FnMut(&'a Tx<'c>) -> BoxFuture<'a, Result<T, E>>,
        E: From<DbError>,
    {
        self.transaction_with(Isolation::ReadCommitted, body).await
    }

    /// Run `body` in a transaction: commit when it returns `Ok`, roll back when it
    /// returns `Err`. When a statement or the commit fails with a serialization
    /// failure or deadlock, the whole body runs again in a new transaction, up to
    /// the pool's [`RetryPolicy`]; `body` is therefore `FnMut` and must not have
    /// effects outside the database.
    ///
    /// ```no_run
    /// # async fn demo(db: edge_db::Db) -> Result<(), edge_db::DbError> {
    /// use edge_db::Isolation;
    /// let id: i64 = db
    ///     .transaction_with(Isolation::Serializable, |tx| Box::pin(async move {
    ///         let (id,): (i64,) = tx.query_one("INSERT INTO t (v) VALUES ($1) RETURNING id", &[&1i32]).await?;
    ///         tx.execute("INSERT INTO audit (t_id) VALUES ($1)", &[&id]).await?;
    ///         Ok::<_, edge_db::DbError>(id)
    ///     }))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction_with<T, E, F>(&self, isolation: Isolation, mut body: F) -> Result<T, E>
    where
        F: for<'a, 'c> FnMut(&'a Tx<'c>) -> BoxFuture<'a, Result<T, E>>,
        E: From<DbError>,
    {
        let policy = self.retry_policy();
        let mut attempt = 1;
        loop {
            let mut conn = self.conn().await?;
            let transaction = conn
                .inner
                .build_transaction()
                .isolation_level(isolation.into())
                .start()
                .await
                .map_err(DbError::from)?;
            let tx = Tx {
                inner: transaction,
                retryable: AtomicBool::new(false),
            };
            let outcome = body(&tx).await;
            // Either return, or fall through to another attempt.
            match outcome {
                Ok(value) => match tx.inner.commit().await.map_err(DbError::from) {
                    Ok(()) => return Ok(value),
                    Err(e) if e.is_serialization_failure() && attempt < policy.max_attempts => {}
                    Err(e) => return Err(e.into()),
                },
                Err(e) => {
                    let retryable = tx.retryable.load(Ordering::Relaxed);
                    // A failed rollback leaves the connection closed; the pool replaces it.
                    let _ = tx.inner.rollback().await;
                    if !retryable || attempt >= policy.max_attempts {
                        return Err(e);
                    }
                }
            }
            tracing::debug!(
                attempt,
                "retrying transaction after a serialization failure"
            );
            tokio::time::sleep(policy.backoff * attempt).await;
            attempt += 1;
        }
    }
}
