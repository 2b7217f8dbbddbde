//! Shared set-up: a migrated database of the test's own.
#![allow(dead_code, reason = "each test target uses part of the shared set-up")]

use std::time::Duration;

use edge_db::Db;
use edge_test_support::harness;

refinery::embed_migrations!("tests/migrations");

/// A pool on a fresh, migrated database.
pub(crate) async fn migrated_db(max_size: usize) -> (Db, String) {
    let database = harness::fresh_database().await;
    let db = Db::builder(&database.url)
        .max_size(max_size)
        .acquire_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    db.migrate(migrations::runner()).await.unwrap();
    (db, database.url)
}

pub(crate) fn runner() -> refinery::Runner {
    migrations::runner()
}
