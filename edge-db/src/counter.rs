//! The per-request query counter.
//!
//! A [`QueryCount`] is installed per request by the tower layer or actix-web
//! middleware: it goes into the request extensions (and the response's), and the
//! request's future runs in its scope, so every query made through [`Db`](crate::Db)
//! while handling the request is counted. When the response is ready the count is
//! recorded in the [`SPAN_FIELD`] field of the current `tracing` span, if that span
//! declared it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The `tracing` span field the count is recorded in: declare it as
/// `db_queries = tracing::field::Empty` on the request span.
pub const SPAN_FIELD: &str = "db_queries";

tokio::task_local! {
    static CURRENT: QueryCount;
}

/// How many queries one request made. Cheap to clone; clones share the count.
#[derive(Debug, Clone, Default)]
pub struct QueryCount(Arc<AtomicU64>);

impl QueryCount {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of queries counted so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn increment(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Record the count in the current span's [`SPAN_FIELD`].
    pub fn record_in_current_span(&self) {
        tracing::Span::current().record(SPAN_FIELD, self.get());
    }
}

/// Run `future` with `count` as the current counter: queries it makes are counted.
///
/// The middleware does this for each request; call it yourself for work that a
/// request spawns onto other tasks.
pub fn count_queries<F: Future>(
    count: QueryCount,
    future: F,
) -> tokio::task::futures::TaskLocalFuture<QueryCount, F> {
    CURRENT.scope(count, future)
}

/// Count one query against the current counter, if there is one.
pub(crate) fn record_query() {
    crate::metrics::query();
    let _ = CURRENT.try_with(QueryCount::increment);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_only_inside_the_scope() {
        let count = QueryCount::new();
        record_query();
        count_queries(count.clone(), async {
            record_query();
            record_query();
        })
        .await;
        record_query();
        assert_eq!(count.get(), 2);
    }
}
