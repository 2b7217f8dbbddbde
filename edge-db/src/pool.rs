//! The pool ([`Db`]), a checked-out connection ([`Conn`]), statistics and the health probe.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::{Object, Pool};

use crate::config::DbBuilder;
use crate::query::Handle;
use crate::shared::{Shared, SharedSlots};
use crate::transaction::RetryPolicy;
use crate::{DbError, ErrorKind};

/// A PostgreSQL connection pool. Cheap to clone; clones share the pool.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    /// How the pool connects, for [`Db::listen`]'s connection.
    connector: crate::listen::Connector,
    shared: Arc<SharedSlots>,
    retry: RetryPolicy,
    acquire_timeout: Duration,
}

/// A snapshot of the pool's occupancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// The most connections the pool may open.
    pub max_size: usize,
    /// Connections open now (idle or in use).
    pub size: usize,
    /// Open connections not in use.
    pub idle: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

impl Db {
    /// Start configuring a pool for `url` (`postgres://user:password@host:port/database`).
    pub fn builder(url: impl Into<String>) -> DbBuilder {
        DbBuilder::new(url)
    }

    pub(crate) fn from_parts(
        pool: Pool,
        connector: crate::listen::Connector,
        shared: usize,
        retry: RetryPolicy,
        acquire_timeout: Duration,
    ) -> Self {
        Db {
            pool,
            connector,
            shared: Arc::new(SharedSlots::new(shared)),
            retry,
            acquire_timeout,
        }
    }

    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Listen to `channel` (`NOTIFY channel, 'payload'`) on a connection of its
    /// own, made like the pool's: the payloads, in order, until that
    /// connection closes. `channel` is a plain identifier (`[a-z_][a-z0-9_]*`).
    ///
    /// ```no_run
    /// # async fn run(db: edge_db::Db) -> Result<(), edge_db::DbError> {
    /// use futures_util::StreamExt;
    ///
    /// let mut changes = db.listen("settings_changed").await?;
    /// while let Some(payload) = changes.next().await {
    ///     println!("settings changed: {payload}");
    /// }
    /// // The connection closed: listen again, and re-read what may have changed.
    /// # Ok(()) }
    /// ```
    pub async fn listen(&self, channel: &str) -> Result<crate::Notifications, DbError> {
        self.connector.listen(channel).await
    }

    /// Check out a connection, waiting at most the acquire timeout.
    pub async fn conn(&self) -> Result<Conn, DbError> {
        Ok(Conn {
            inner: self.checkout().await?,
        })
    }

    /// A connection shared with other callers, for single statements outside a
    /// transaction: concurrent callers' statements are pipelined on it rather than
    /// each waiting for a connection of its own. Takes the next of the
    /// [`shared_connections`](crate::DbBuilder::shared_connections) in turn (opening it
    /// if it is not open, or was closed by a database restart); with none configured,
    /// a connection checked out for this caller alone.
    ///
    /// A slow statement delays the statements queued behind it on the same
    /// connection: use it for quick reads, and [`conn`](Db::conn) for the rest.
    pub async fn shared(&self) -> Result<Shared, DbError> {
        match self.shared.pick() {
            Some((_, Some(open))) => Ok(Shared::new(open)),
            Some((slot, None)) => {
                let fresh = Arc::new(self.checkout().await?);
                Ok(Shared::new(self.shared.install(slot, fresh)))
            }
            None => Ok(Shared::new(Arc::new(self.checkout().await?))),
        }
    }

    async fn checkout(&self) -> Result<Object, DbError> {
        let started = Instant::now();
        let checked_out = self.pool.get().await.map_err(DbError::from);
        crate::metrics::waited(started.elapsed());
        match &checked_out {
            Ok(_) => crate::metrics::pool(&self.stats_now()),
            Err(error) => crate::metrics::failed(error),
        }
        checked_out
    }

    /// The pool's occupancy now (connections kept for sharing count as in use);
    /// also sets the pool's [metrics](crate::metrics) gauges.
    pub fn stats(&self) -> PoolStats {
        let stats = self.stats_now();
        crate::metrics::pool(&stats);
        stats
    }

    fn stats_now(&self) -> PoolStats {
        let status = self.pool.status();
        PoolStats {
            max_size: status.max_size,
            size: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }

    /// The health probe: one `SELECT 1` round trip, bounded by the acquire timeout
    /// (plus the same again for the query). Returns the round-trip time.
    pub async fn ping(&self) -> Result<Duration, DbError> {
        let started = Instant::now();
        let probe = async {
            let conn = self.conn().await?;
            conn.execute("SELECT 1", &[]).await
        };
        match tokio::time::timeout(self.acquire_timeout * 2, probe).await {
            Ok(result) => result.map(|_| started.elapsed()),
            Err(_) => Err(DbError::new(
                ErrorKind::Unavailable,
                "database health probe timed out",
            )),
        }
    }

    /// Close the pool: idle and shared connections are dropped and new checkouts fail.
    pub fn close(&self) {
        self.pool.close();
        self.shared.clear();
    }
}

/// A connection checked out of the pool; returned to it when dropped.
///
/// Its query methods prepare each statement once per connection and reuse it.
#[derive(Debug)]
pub struct Conn {
    pub(crate) inner: Object,
}

impl Conn {
    pub(crate) fn handle(&self) -> Handle<'_> {
        Handle::Client(&self.inner)
    }

    /// The underlying `tokio_postgres` client, for what these helpers do not cover
    /// (`COPY`, `LISTEN`). Queries made through it are not counted.
    pub fn client(&mut self) -> &mut tokio_postgres::Client {
        &mut self.inner
    }

    crate::query::query_methods!();
}
