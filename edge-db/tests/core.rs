//! edge-db against a real PostgreSQL: pool bounds, parameters, transactions,
//! retries, typed errors, migrations, recovery.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::migrated_db;
use edge_db::{Db, DbError, ErrorKind, Isolation, QueryCount, RetryPolicy, count_queries};
use edge_test_support::harness;

#[tokio::test]
async fn the_pool_never_exceeds_its_size_and_reuses_connections() {
    let database = harness::fresh_database().await;
    let app = harness::unique_name("pool");
    let url = format!("{}?application_name={app}", database.url);
    let db = Db::builder(&url)
        .max_size(4)
        .acquire_timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let observer = Db::builder(&database.url).max_size(1).build().unwrap();
    let peak = Arc::new(AtomicU32::new(0));
    let watching = {
        let (observer, peak, app) = (observer.clone(), peak.clone(), app.clone());
        tokio::spawn(async move {
            for _ in 0..40 {
                let conn = observer.conn().await.unwrap();
                let (n,): (i64,) = conn
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                        &[&app],
                    )
                    .await
                    .unwrap();
                peak.fetch_max(n as u32, Ordering::Relaxed);
                drop(conn);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    let round = |db: Db| async move {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    let conn = db.conn().await.unwrap();
                    let (pid,): (i32,) = conn
                        .query_one(
                            "SELECT pg_backend_pid() FROM (SELECT pg_sleep(0.03)) s",
                            &[],
                        )
                        .await
                        .unwrap();
                    pid
                })
            })
            .collect();
        let mut pids = HashSet::new();
        for task in tasks {
            pids.insert(task.await.unwrap());
        }
        pids
    };
    let first = round(db.clone()).await;
    let second = round(db.clone()).await;
    watching.await.unwrap();

    assert!(first.len() <= 4, "{} backends for a pool of 4", first.len());
    assert!(
        peak.load(Ordering::Relaxed) <= 4,
        "pg_stat_activity saw {} connections",
        peak.load(Ordering::Relaxed)
    );
    assert!(peak.load(Ordering::Relaxed) >= 1);
    assert!(
        second.is_subset(&first),
        "connections were not reused: {first:?} then {second:?}"
    );
    let stats = db.stats();
    assert_eq!(stats.max_size, 4);
    assert!(
        stats.size <= 4 && stats.idle <= stats.size && stats.waiting == 0,
        "{stats:?}"
    );
}

#[tokio::test]
async fn hostile_strings_round_trip_verbatim_as_parameters() {
    let (db, _) = migrated_db(2).await;
    let conn = db.conn().await.unwrap();
    let hostile = [
        "O'Brien",
        "'; DROP TABLE items; --",
        "\" OR 1=1 --",
        "$1 $2 \\x00 %s %n",
        "Robert'); DELETE FROM counters WHERE ('1'='1",
        "日本語 — ünïcödé 🦀 \u{202e}rtl",
        "back\\slash and \ttab\nnewline",
    ];
    for value in hostile {
        let (id,): (i64,) = conn
            .query_one(
                "INSERT INTO items (name) VALUES ($1) RETURNING id",
                &[&value],
            )
            .await
            .unwrap();
        let (stored,): (String,) = conn
            .query_one("SELECT name FROM items WHERE id = $1", &[&id])
            .await
            .unwrap();
        assert_eq!(stored, value);
    }
    let (tables,): (i64,) = conn
        .query_one("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('items','counters')", &[])
        .await
        .unwrap();
    assert_eq!(tables, 2, "a hostile value was executed as SQL");
}

#[tokio::test]
async fn a_failing_transaction_leaves_nothing_behind() {
    let (db, _) = migrated_db(2).await;
    let result: Result<(), DbError> = db
        .transaction(|tx| {
            Box::pin(async move {
                tx.execute("INSERT INTO items (name) VALUES ($1)", &[&"first"])
                    .await?;
                tx.execute("UPDATE counters SET v = 99 WHERE id = 1", &[])
                    .await?;
                // Violates UNIQUE(name): the whole transaction must roll back.
                tx.execute("INSERT INTO items (name) VALUES ($1)", &[&"first"])
                    .await?;
                Ok(())
            })
        })
        .await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.constraint().is_some());

    #[derive(Debug)]
    struct Refused;
    impl From<DbError> for Refused {
        fn from(_: DbError) -> Self {
            Refused
        }
    }
    let refused: Result<(), Refused> = db
        .transaction(|tx| {
            Box::pin(async move {
                tx.execute("INSERT INTO items (name) VALUES ($1)", &[&"second"])
                    .await?;
                Err(Refused)
            })
        })
        .await;
    assert!(refused.is_err());

    let conn = db.conn().await.unwrap();
    let (items,): (i64,) = conn
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap();
    let (v,): (i32,) = conn
        .query_one("SELECT v FROM counters WHERE id = 1", &[])
        .await
        .unwrap();
    assert_eq!((items, v), (0, 0));

    let committed: i64 = db
        .transaction(|tx| {
            Box::pin(async move {
                let (id,): (i64,) = tx
                    .query_one(
                        "INSERT INTO items (name) VALUES ($1) RETURNING id",
                        &[&"kept"],
                    )
                    .await?;
                Ok::<_, DbError>(id)
            })
        })
        .await
        .unwrap();
    let (name,): (String,) = conn
        .query_one("SELECT name FROM items WHERE id = $1", &[&committed])
        .await
        .unwrap();
    assert_eq!(name, "kept");
}

#[tokio::test]
async fn serialization_failures_are_retried_until_every_increment_lands() {
    let database = harness::fresh_database().await;
    let db = Db::builder(&database.url)
        .max_size(10)
        .retry(RetryPolicy {
            max_attempts: 50,
            backoff: Duration::from_millis(2),
        })
        .build()
        .unwrap();
    db.migrate(common::runner()).await.unwrap();
    let attempts = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (db, attempts) = (db.clone(), attempts.clone());
            tokio::spawn(async move {
                db.transaction_with(Isolation::Serializable, |tx| {
                    let attempts = attempts.clone();
                    Box::pin(async move {
                        attempts.fetch_add(1, Ordering::Relaxed);
                        let (v,): (i32,) = tx
                            .query_one("SELECT v FROM counters WHERE id = 1", &[])
                            .await?;
                        tx.execute("SELECT pg_sleep(0.02)", &[]).await?;
                        tx.execute("UPDATE counters SET v = $1 WHERE id = 1", &[&(v + 1)])
                            .await?;
                        Ok::<_, DbError>(())
                    })
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let conn = db.conn().await.unwrap();
    let (v,): (i32,) = conn
        .query_one("SELECT v FROM counters WHERE id = 1", &[])
        .await
        .unwrap();
    assert_eq!(v, 10, "an increment was lost");
    assert!(
        attempts.load(Ordering::Relaxed) > 10,
        "no transaction conflicted, so nothing was retried"
    );
}

#[tokio::test]
async fn without_retries_a_serialization_failure_is_typed() {
    let database = harness::fresh_database().await;
    let db = Db::builder(&database.url)
        .max_size(4)
        .retry(RetryPolicy {
            max_attempts: 1,
            backoff: Duration::ZERO,
        })
        .build()
        .unwrap();
    db.migrate(common::runner()).await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                db.transaction_with(Isolation::Serializable, |tx| {
                    Box::pin(async move {
                        let (v,): (i32,) = tx
                            .query_one("SELECT v FROM counters WHERE id = 1", &[])
                            .await?;
                        tx.execute("SELECT pg_sleep(0.05)", &[]).await?;
                        tx.execute("UPDATE counters SET v = $1 WHERE id = 1", &[&(v + 1)])
                            .await?;
                        Ok::<_, DbError>(())
                    })
                })
                .await
            })
        })
        .collect();
    let mut failures = 0;
    for task in tasks {
        if let Err(e) = task.await.unwrap() {
            assert!(e.is_serialization_failure(), "{e:?}");
            failures += 1;
        }
    }
    assert!(failures > 0);
}

#[tokio::test]
async fn a_statement_over_the_timeout_is_cancelled_with_a_typed_error() {
    let database = harness::fresh_database().await;
    let db = Db::builder(&database.url)
        .max_size(1)
        .statement_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let conn = db.conn().await.unwrap();
    let started = Instant::now();
    let slow = conn.execute("SELECT pg_sleep(5)", &[]).await.unwrap_err();
    assert_eq!(slow.kind(), ErrorKind::Timeout, "{slow}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The connection is still good for the next statement.
    let (one,): (i32,) = conn.query_one("SELECT 1", &[]).await.unwrap();
    assert_eq!(one, 1);
}

#[tokio::test]
async fn errors_are_typed() {
    let (db, _) = migrated_db(2).await;
    let conn = db.conn().await.unwrap();
    conn.execute("INSERT INTO items (name) VALUES ($1)", &[&"a"])
        .await
        .unwrap();
    let dup = conn
        .execute("INSERT INTO items (name) VALUES ($1)", &[&"a"])
        .await
        .unwrap_err();
    assert!(dup.is_conflict());
    assert_eq!(dup.constraint(), Some("items_name_key"));
    let missing = conn
        .query_one::<(i64,)>("SELECT id FROM items WHERE name = $1", &[&"zzz"])
        .await
        .unwrap_err();
    assert!(missing.is_not_found());
    let wrong_type = conn
        .query_one::<(String,)>("SELECT id FROM items LIMIT 1", &[])
        .await
        .unwrap_err();
    assert_eq!(wrong_type.kind(), ErrorKind::Mapping);
    let syntax = conn.execute("SELEC nonsense", &[]).await.unwrap_err();
    assert_eq!(syntax.kind(), ErrorKind::Query);
    assert_eq!(syntax.code().map(|c| c.code()), Some("42601"));
}

#[tokio::test]
async fn migrations_run_twice_are_a_no_op_and_concurrent_runs_apply_once() {
    let database = harness::fresh_database().await;
    let db = Db::builder(&database.url).max_size(4).build().unwrap();
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.migrate(common::runner()).await.unwrap() })
        })
        .collect();
    let mut applied = Vec::new();
    for run in runs {
        applied.extend(run.await.unwrap().applied);
    }
    assert_eq!(applied, ["V1__items", "V2__counters"]);
    let again = db.migrate(common::runner()).await.unwrap();
    assert!(again.applied.is_empty());
    let conn = db.conn().await.unwrap();
    let (rows,): (i64,) = conn
        .query_one("SELECT count(*) FROM counters", &[])
        .await
        .unwrap();
    assert_eq!(rows, 1, "a migration ran twice");
}

#[tokio::test]
async fn a_stopped_database_fails_fast_and_the_same_pool_recovers() {
    let mut server = harness::private_postgres();
    let db = Db::builder(server.url("postgres"))
        .max_size(4)
        .connect_timeout(Duration::from_secs(1))
        .acquire_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    assert!(db.ping().await.is_ok());

    server.stop();
    let started = Instant::now();
    let err = db.ping().await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    let err = db.conn().await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");

    server.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match db.ping().await {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                assert!(e.is_unavailable(), "{e:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the pool did not recover: {e:?}"),
        }
    }
    // Every connection handed out from now on works.
    for _ in 0..8 {
        let conn = db.conn().await.unwrap();
        conn.execute("SELECT 1", &[]).await.unwrap();
    }
}

#[tokio::test]
async fn shared_connections_serve_concurrent_callers_and_leave_the_rest_of_the_pool() {
    let database = harness::fresh_database().await;
    let db = Db::builder(&database.url)
        .max_size(3)
        .shared_connections(2)
        .acquire_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let round = |db: Db| async move {
        let tasks: Vec<_> = (0..64_i64)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    let count = QueryCount::new();
                    let shared = db.shared().await.unwrap();
                    let (pid, echoed): (i32, i64) = count_queries(
                        count.clone(),
                        shared.query_one("SELECT pg_backend_pid(), $1::int8", &[&i]),
                    )
                    .await
                    .unwrap();
                    assert_eq!(echoed, i, "an answer went to the wrong caller");
                    assert_eq!(count.get(), 1);
                    pid
                })
            })
            .collect();
        let mut pids = HashSet::new();
        for task in tasks {
            pids.insert(task.await.unwrap());
        }
        pids
    };
    // The first callers may race to open the kept connections (the losers use
    // their own once); after that, everyone shares the two kept ones.
    let first = round(db.clone()).await;
    assert!(first.len() <= 3, "{first:?}");
    let second = round(db.clone()).await;
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(second.is_subset(&first));

    // The pool's last connection stays free for a transaction, and shared
    // statements need no free connection while it is taken.
    let conn = db.conn().await.unwrap();
    let (pid,): (i32,) = conn
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap();
    assert!(!second.contains(&pid));
    let third = round(db.clone()).await;
    assert_eq!(third, second);
    drop(conn);
    let stats = db.stats();
    assert_eq!((stats.max_size, stats.waiting), (3, 0), "{stats:?}");
    assert!(
        stats.size - stats.idle >= 2,
        "shared ones count as in use: {stats:?}"
    );
}

#[tokio::test]
async fn shared_connections_fail_fast_while_the_database_is_down_and_reopen() {
    let mut server = harness::private_postgres();
    let db = Db::builder(server.url("postgres"))
        .max_size(2)
        .shared_connections(1)
        .connect_timeout(Duration::from_secs(1))
        .acquire_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let select = |db: Db| async move {
        let shared = db.shared().await?;
        shared.query_one::<(i32,)>("SELECT 1", &[]).await
    };
    assert_eq!(select(db.clone()).await.unwrap(), (1,));

    server.stop();
    let started = Instant::now();
    for _ in 0..3 {
        let err = select(db.clone()).await.unwrap_err();
        assert!(err.is_unavailable(), "{err:?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    server.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match select(db.clone()).await {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                assert!(e.is_unavailable(), "{e:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the shared connection did not reopen: {e:?}"),
        }
    }
    for _ in 0..8 {
        assert_eq!(select(db.clone()).await.unwrap(), (1,));
    }
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_not_a_hang() {
    let port = edge_test_support::free_port().unwrap();
    let db = Db::builder(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
        .connect_timeout(Duration::from_millis(500))
        .acquire_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let started = Instant::now();
    assert!(db.conn().await.unwrap_err().is_unavailable());
    assert!(started.elapsed() < Duration::from_secs(2));
}
