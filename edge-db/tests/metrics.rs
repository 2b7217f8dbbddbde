//! The database layer's metrics against a real PostgreSQL, read back through a
//! debugging recorder: statements, errors by kind, the pool's gauges and how
//! long checkouts waited.

use std::time::Duration;

use edge_db::Db;
use edge_db::metrics::{
    ERRORS_TOTAL, POOL_CONNECTIONS, POOL_MAX, POOL_WAIT_SECONDS, QUERIES_TOTAL,
};
use edge_test_support::harness;
use edge_test_support::metrics::Recorded;
use metrics_util::debugging::DebugValue;

fn gauge(value: Option<&DebugValue>) -> f64 {
    match value {
        Some(DebugValue::Gauge(value)) => value.0,
        other => panic!("not a gauge: {other:?}"),
    }
}

fn waits(value: Option<&DebugValue>) -> Vec<f64> {
    match value {
        Some(DebugValue::Histogram(values)) => values.iter().map(|v| v.0).collect(),
        None => Vec::new(),
        other => panic!("not a histogram: {other:?}"),
    }
}

#[tokio::test]
async fn statements_errors_and_the_pool_are_measured() {
    let recorded = Recorded::install();
    edge_db::metrics::describe();
    let database = harness::fresh_database().await;
    let db = Db::builder(&database.url)
        .max_size(2)
        .acquire_timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    let conn = db.conn().await.unwrap();
    conn.batch_execute("CREATE TABLE t (id int PRIMARY KEY)")
        .await
        .unwrap();
    conn.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    let seen = recorded.changes();
    assert_eq!(seen.counter(QUERIES_TOTAL, &[]), 2);
    assert_eq!(
        waits(seen.find(POOL_WAIT_SECONDS, &[])).len(),
        1,
        "one checkout"
    );
    // Set at the checkout: one connection open, in use.
    assert_eq!(
        gauge(seen.find(POOL_CONNECTIONS, &[("state", "in_use")])),
        1.0
    );
    assert_eq!(
        gauge(seen.find(POOL_CONNECTIONS, &[("state", "idle")])),
        0.0
    );
    assert_eq!(gauge(seen.find(POOL_MAX, &[])), 2.0);

    // Failed statements, by kind.
    assert!(conn.execute("INSERT INTO t VALUES (1)", &[]).await.is_err());
    assert!(conn.execute("SELEC 1", &[]).await.is_err());
    let seen = recorded.changes();
    assert_eq!(seen.counter(ERRORS_TOTAL, &[("kind", "conflict")]), 1);
    assert_eq!(seen.counter(ERRORS_TOTAL, &[("kind", "query")]), 1);
    assert_eq!(seen.counter(QUERIES_TOTAL, &[]), 2);

    // A checkout that finds the pool exhausted waits, then fails as unavailable.
    let second = db.conn().await.unwrap();
    assert!(db.conn().await.is_err());
    let seen = recorded.changes();
    let waited = waits(seen.find(POOL_WAIT_SECONDS, &[]));
    assert_eq!(waited.len(), 2);
    assert!(waited.iter().any(|w| *w >= 0.25), "{waited:?}");
    assert_eq!(seen.counter(ERRORS_TOTAL, &[("kind", "unavailable")]), 1);

    // Returned connections show as idle once the pool is asked.
    drop((conn, second));
    let stats = db.stats();
    let seen = recorded.changes();
    assert_eq!(stats.idle, 2);
    assert_eq!(
        gauge(seen.find(POOL_CONNECTIONS, &[("state", "idle")])),
        2.0
    );
    assert_eq!(
        gauge(seen.find(POOL_CONNECTIONS, &[("state", "in_use")])),
        0.0
    );
}
