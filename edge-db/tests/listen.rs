//! `Db::listen` against a real server: notifications in order, on a
//! connection of their own, and the stream's end when that connection dies.

use std::time::Duration;

use edge_db::Db;
use edge_test_support::harness;
use futures_util::StreamExt;

#[tokio::test]
async fn notifications_arrive_in_order_and_the_stream_ends_with_its_connection() {
    let database = harness::fresh_database().await;
    let db = Db::builder(&database.url).max_size(2).build().unwrap();
    let mut changes = db.listen("edge_test_changes").await.unwrap();
    let conn = db.conn().await.unwrap();
    for payload in ["1", "2", "three"] {
        conn.execute("SELECT pg_notify('edge_test_changes', $1)", &[&payload])
            .await
            .unwrap();
    }
    // Another channel is not heard.
    conn.execute("SELECT pg_notify('edge_test_other', 'x')", &[])
        .await
        .unwrap();
    let mut heard = Vec::new();
    for _ in 0..3 {
        let next = tokio::time::timeout(Duration::from_secs(5), changes.next()).await;
        heard.push(next.unwrap().unwrap());
    }
    assert_eq!(heard, ["1", "2", "three"]);

    // The listening connection is killed: the stream ends.
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN edge_test_changes%' AND pid <> pg_backend_pid()",
        &[],
    )
    .await
    .unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), changes.next()).await;
    assert_eq!(end.unwrap(), None);

    assert!(db.listen("not a channel; DROP TABLE x").await.is_err());
}
