//! A one-row select through edge-db against the same prepared query on a bare
//! tokio-postgres client, on a throwaway server started by the test harness.

use std::cell::Cell;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use edge_db::Db;
use edge_test_support::harness;

const SQL: &str = "SELECT id, name FROM bench_items WHERE id = $1";

/// A throwaway database with `bench_items` rows 1..=1000; its URL.
async fn seeded_database() -> String {
    let database = harness::fresh_database().await;
    let db = Db::builder(&database.url).max_size(1).build().unwrap();
    db.conn()
        .await
        .unwrap()
        .batch_execute(
            "CREATE TABLE bench_items (id BIGINT PRIMARY KEY, name TEXT NOT NULL);
             INSERT INTO bench_items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;",
        )
        .await
        .unwrap();
    database.url
}

fn one_row_select(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(seeded_database());

    let (bare, statement) = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let statement = client.prepare(SQL).await.unwrap();
        (client, statement)
    });
    let db = Db::builder(&url).max_size(1).build().unwrap();
    let held = runtime.block_on(db.conn()).unwrap();

    let mut group = c.benchmark_group("one_row_select");
    group.bench_function("tokio_postgres_prepared", |b| {
        b.to_async(&runtime).iter(|| async {
            let row = bare.query_one(&statement, &[&42i64]).await.unwrap();
            row.get::<_, i64>(0)
        });
    });
    group.bench_function("edge_db_held_conn", |b| {
        b.to_async(&runtime).iter(|| async {
            let (id, _name): (i64, String) = held.query_one(SQL, &[&42i64]).await.unwrap();
            id
        });
    });
    drop(held);
    group.bench_function("edge_db_checkout_per_query", |b| {
        b.to_async(&runtime).iter(|| async {
            let conn = db.conn().await.unwrap();
            let (id, _name): (i64, String) = conn.query_one(SQL, &[&42i64]).await.unwrap();
            id
        });
    });
    group.finish();

    // Sequential groups drift by more than the overhead being measured on a shared
    // machine, so also interleave: every iteration runs the bare query and then the
    // edge-db one, and the ratio of the summed times is printed.
    let held = runtime.block_on(db.conn()).unwrap();
    let (bare_total, edge_total) = (Cell::new(Duration::ZERO), Cell::new(Duration::ZERO));
    c.bench_function("one_row_select_interleaved/edge_db_held_conn", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let (bare, statement, held) = (&bare, &statement, &held);
            let totals = (&bare_total, &edge_total);
            async move {
                let mut edge_time = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    bare.query_one(statement, &[&42i64]).await.unwrap();
                    let middle = Instant::now();
                    let _: (i64, String) = held.query_one(SQL, &[&42i64]).await.unwrap();
                    let done = Instant::now();
                    totals.0.set(totals.0.get() + (middle - started));
                    edge_time += done - middle;
                }
                totals.1.set(totals.1.get() + edge_time);
                edge_time
            }
        });
    });
    println!(
        "interleaved one-row select: edge-db / bare tokio-postgres = {:.3} ({:?} vs {:?} in all)",
        edge_total.get().as_secs_f64() / bare_total.get().as_secs_f64(),
        edge_total.get(),
        bare_total.get()
    );
}

/// 64 callers at once, each making one select: every caller checking out one of
/// 16 pooled connections, against all of them on 2 shared (pipelined) connections.
fn concurrent_selects(c: &mut Criterion) {
    const CALLERS: i64 = 64;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(seeded_database());
    let pooled = Db::builder(&url).max_size(16).build().unwrap();
    let shared = Db::builder(&url)
        .max_size(16)
        .shared_connections(2)
        .build()
        .unwrap();

    let mut group = c.benchmark_group("concurrent_selects_64");
    group.bench_function("checkout_each_of_16", |b| {
        let pooled = &pooled;
        b.to_async(&runtime).iter(|| {
            futures_util::future::join_all((0..CALLERS).map(|i| async move {
                let conn = pooled.conn().await.unwrap();
                let (id, _name): (i64, String) = conn.query_one(SQL, &[&(i + 1)]).await.unwrap();
                id
            }))
        });
    });
    group.bench_function("shared_2", |b| {
        let shared = &shared;
        b.to_async(&runtime).iter(|| {
            futures_util::future::join_all((0..CALLERS).map(|i| async move {
                let conn = shared.shared().await.unwrap();
                let (id, _name): (i64, String) = conn.query_one(SQL, &[&(i + 1)]).await.unwrap();
                id
            }))
        });
    });
    group.finish();
}

criterion_group!(benches, one_row_select, concurrent_selects);
criterion_main!(benches);
