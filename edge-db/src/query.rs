//! Cached, parameterized, counted query execution shared by [`Conn`](crate::Conn) and [`Tx`](crate::Tx).
//!
//! SQL is taken as `&'static str`: statements are fixed text with `$1, $2, ...`
//! placeholders, so values always travel as parameters and never build SQL.

use std::sync::atomic::{AtomicBool, Ordering};

use deadpool_postgres::{ClientWrapper, Transaction};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

use crate::DbError;
use crate::counter::record_query;

/// Query parameters: `&[&a, &b]`.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// What a query runs on: a pooled client, or an open transaction (which also
/// remembers whether a retryable failure happened in it).
pub(crate) enum Handle<'a> {
    Client(&'a ClientWrapper),
    Tx(&'a Transaction<'a>, &'a AtomicBool),
}

impl Handle<'_> {
    fn observe<T>(&self, result: Result<T, tokio_postgres::Error>) -> Result<T, DbError> {
        result.map_err(|e| {
            let err = DbError::from(e);
            crate::metrics::failed(&err);
            if let Handle::Tx(_, retryable) = self
                && err.is_serialization_failure()
            {
                retryable.store(true, Ordering::Relaxed);
            }
            err
        })
    }

    async fn prepare(&self, sql: &str) -> Result<Statement, DbError> {
        record_query();
        let prepared = match self {
            Handle::Client(c) => c.prepare_cached(sql).await,
            Handle::Tx(t, _) => t.prepare_cached(sql).await,
        };
        self.observe(prepared)
    }

    pub(crate) async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, DbError> {
        let statement = self.prepare(sql).await?;
        let result = match self {
            Handle::Client(c) => c.execute(&statement, params).await,
            Handle::Tx(t, _) => t.execute(&statement, params).await,
        };
        self.observe(result)
    }

    pub(crate) async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, DbError> {
        let statement = self.prepare(sql).await?;
        let result = match self {
            Handle::Client(c) => c.query(&statement, params).await,
            Handle::Tx(t, _) => t.query(&statement, params).await,
        };
        self.observe(result)
    }

    pub(crate) async fn query_opt(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, DbError> {
        let statement = self.prepare(sql).await?;
        let result = match self {
            Handle::Client(c) => c.query_opt(&statement, params).await,
            Handle::Tx(t, _) => t.query_opt(&statement, params).await,
        };
        self.observe(result)
    }

    pub(crate) async fn batch_execute(&self, sql: &str) -> Result<(), DbError> {
        record_query();
        let result = match self {
            Handle::Client(c) => c.batch_execute(sql).await,
            Handle::Tx(t, _) => t.batch_execute(sql).await,
        };
        self.observe(result)
    }
}

/// The query methods of [`Conn`](crate::Conn) and [`Tx`](crate::Tx), written once.
macro_rules! query_methods {
    () => {
        /// Run a statement; returns the number of rows it affected.
        pub async fn execute(
            &self,
            sql: &'static str,
            params: $crate::Params<'_>,
        ) -> Result<u64, $crate::DbError> {
            self.handle().execute(sql, params).await
        }

        /// Run a query and map every row.
        pub async fn query_all<T: $crate::FromRow>(
            &self,
            sql: &'static str,
            params: $crate::Params<'_>,
        ) -> Result<Vec<T>, $crate::DbError> {
            self.handle()
                .query(sql, params)
                .await?
                .iter()
                .map(T::from_row)
                .collect()
        }

        /// Run a query that returns at most one row (more is an error).
        pub async fn query_opt<T: $crate::FromRow>(
            &self,
            sql: &'static str,
            params: $crate::Params<'_>,
        ) -> Result<Option<T>, $crate::DbError> {
            self.handle()
                .query_opt(sql, params)
                .await?
                .as_ref()
                .map(T::from_row)
                .transpose()
        }

        /// Run a query that returns exactly one row; none is
        /// [`ErrorKind::NotFound`]($crate::ErrorKind::NotFound).
        pub async fn query_one<T: $crate::FromRow>(
            &self,
            sql: &'static str,
            params: $crate::Params<'_>,
        ) -> Result<T, $crate::DbError> {
            self.query_opt(sql, params)
                .await?
                .ok_or_else(|| $crate::DbError::not_found())
        }

        /// Run parameterless statements separated by `;` (no statement cache).
        pub async fn batch_execute(&self, sql: &'static str) -> Result<(), $crate::DbError> {
            self.handle().batch_execute(sql).await
        }
    };
}
pub(crate) use query_methods;
