//! The harness starts real servers, isolates tests, and cleans up after itself.

use edge_test_support::harness;

#[tokio::test]
async fn fresh_databases_are_distinct_and_usable() {
    let a = harness::fresh_database().await;
    let b = harness::fresh_database().await;
    assert_ne!(a.name, b.name);
    for db in [&a, &b] {
        let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        let row = client
            .query_one("SELECT current_database()", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), db.name);
    }
}

#[tokio::test]
async fn a_private_server_stops_and_restarts_on_the_same_port_with_its_data() {
    let mut server = harness::private_postgres();
    let url = server.url("postgres");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
        .await
        .unwrap();
    let port = server.port();
    server.stop();
    assert!(
        tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .is_err()
    );
    server.restart().unwrap();
    assert_eq!(server.port(), port);
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let row = client.query_one("SELECT v FROM kept", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 7);
    let data_dir = std::env::temp_dir().join(format!("edge-pg-{}-", std::process::id()));
    drop(server);
    // The janitor removed the throwaway directory once the server was gone.
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.path()
                .to_string_lossy()
                .starts_with(&*data_dir.to_string_lossy())
        })
        .count();
    // The shared server of this process may still exist; the private one must be gone.
    assert!(
        leftovers <= 1,
        "{leftovers} throwaway PostgreSQL directories left"
    );
}

#[test]
fn redis_server_answers_ping() {
    use std::io::{Read, Write};
    let url = harness::redis_url();
    let addr = url.trim_start_matches("redis://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(b"PING\r\n").unwrap();
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"+PONG\r\n");
}
