//! The database layer's measurements, recorded through the [`metrics`] facade
//! (feature `metrics`, on by default): the application installs a recorder —
//! a Prometheus exporter, say — and these appear in it; without one, recording
//! costs next to nothing.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `edge_db_pool_connections` | gauge | `state`: `idle` or `in_use` |
//! | `edge_db_pool_max` | gauge | |
//! | `edge_db_pool_wait_seconds` | histogram | |
//! | `edge_db_queries_total` | counter | |
//! | `edge_db_errors_total` | counter | `kind` ([`ErrorKind::as_str`](crate::ErrorKind::as_str)) |
//!
//! The pool gauges are set at every checkout and every call of
//! [`Db::stats`](crate::Db::stats) (call it before rendering a scrape to have
//! them current); the wait is the time a checkout waited for a connection,
//! [`WAIT_BUCKETS`] suit it. A query is counted per statement sent (as the
//! per-request [`QueryCount`](crate::QueryCount) counts them), an error per
//! failed statement or checkout.

/// Connections of the pool, by `state`.
pub const POOL_CONNECTIONS: &str = "edge_db_pool_connections";
/// The pool's maximum size.
pub const POOL_MAX: &str = "edge_db_pool_max";
/// Time a checkout waited for a connection, in seconds.
pub const POOL_WAIT_SECONDS: &str = "edge_db_pool_wait_seconds";
/// Statements sent.
pub const QUERIES_TOTAL: &str = "edge_db_queries_total";
/// Failed statements and checkouts, by `kind`.
pub const ERRORS_TOTAL: &str = "edge_db_errors_total";

/// Histogram buckets for [`POOL_WAIT_SECONDS`], in seconds: 10 µs to 5 s.
pub const WAIT_BUCKETS: &[f64] = &[
    0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// Describe these metrics to the installed recorder (their help text and
/// units), once, after installing it.
pub fn describe() {
    #[cfg(feature = "metrics")]
    {
        use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
        describe_gauge!(POOL_CONNECTIONS, "Database pool connections, by state");
        describe_gauge!(POOL_MAX, "The database pool's maximum size");
        describe_histogram!(
            POOL_WAIT_SECONDS,
            Unit::Seconds,
            "Time a checkout waited for a database connection"
        );
        describe_counter!(QUERIES_TOTAL, "Database statements sent");
        describe_counter!(
            ERRORS_TOTAL,
            "Failed database statements and checkouts, by kind"
        );
    }
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn pool(stats: &crate::PoolStats) {
    #[cfg(feature = "metrics")]
    {
        let idle = stats.idle as f64;
        let in_use = stats.size.saturating_sub(stats.idle) as f64;
        metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(idle);
        metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set(in_use);
        metrics::gauge!(POOL_MAX).set(stats.max_size as f64);
    }
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn waited(wait: std::time::Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!(POOL_WAIT_SECONDS).record(wait.as_secs_f64());
}

pub(crate) fn query() {
    #[cfg(feature = "metrics")]
    metrics::counter!(QUERIES_TOTAL).increment(1);
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn failed(error: &crate::DbError) {
    #[cfg(feature = "metrics")]
    metrics::counter!(ERRORS_TOTAL, "kind" => error.kind().as_str()).increment(1);
}
