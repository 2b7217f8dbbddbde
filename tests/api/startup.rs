//! Start-up, configuration errors, the embedded database, shutdown.

use std::time::Duration;

use crate::support::{Api, ScratchDir, binary};

/// Flags and environment variables of one bad configuration.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

#[test]
fn bad_configuration_exits_2_with_a_one_line_reason() {
    let cases: &[Case<'_>] = &[
        (&["--no-such-flag"], &[]),
        (&["--rate-limit-ip", "0/1m"], &[]),
        (&["--rate-limit-write", "ten per minute"], &[]),
        (&["--access-ttl", "soon"], &[]),
        (&["--listen", "nowhere"], &[]),
        (&[], &[("MAX_BODY", "0")]),
        (&[], &[("JWT_SECRET", "too-short")]),
        (&[], &[("TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip")]),
        (&["--cors-origins", "https://app.example/"], &[]),
        (
            &[],
            &[("CORS_ORIGINS", "https://ok.example,ftp://files.example")],
        ),
        (&["--cors-origins", "https://user@app.example"], &[]),
        (&["--shutdown-drain", "a while"], &[]),
    ];
    for (args, envs) in cases {
        let output = binary()
            .args(*args)
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?} {envs:?}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?} {envs:?}: not one line: {stderr}"
        );
        assert!(stderr.starts_with("reference-api: "), "{stderr}");
    }
}

#[test]
fn help_exits_0() {
    let output = binary().arg("--help").output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("--rate-limit-ip"));
}

/// The port of the embedded PostgreSQL, from the API's start-up log.
fn embedded_port(log: &str) -> u16 {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|v| v["fields"]["message"] == "started the embedded PostgreSQL")
        .and_then(|v| v["fields"]["port"].as_u64())
        .unwrap_or_else(|| panic!("no embedded PostgreSQL start in the log:\n{log}")) as u16
}

async fn connect_embedded(data_dir: &std::path::Path, port: u16) -> tokio_postgres::Client {
    let password = std::fs::read_to_string(data_dir.join("postgres.password")).unwrap();
    let url = format!(
        "postgres://postgres:{}@127.0.0.1:{port}/postgres",
        password.trim()
    );
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn the_embedded_default_serves_and_keeps_data_across_a_restart() {
    let data = ScratchDir::new();
    let data_dir = data.path().to_str().unwrap().to_owned();

    let api = Api::start(&["--data-dir", &data_dir]).await;
    let health: serde_json::Value = reqwest::get(api.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "database": "ok", "redis": "disabled"})
    );
    let log = api.log();
    assert!(log.contains("database migrations applied"), "{log}");
    let client = connect_embedded(data.path(), embedded_port(&log)).await;
    client
        .batch_execute("CREATE TABLE survivor (v text); INSERT INTO survivor VALUES ('still here')")
        .await
        .unwrap();
    drop(client);
    let status = api.terminate();
    assert!(status.success(), "{status}");
    assert!(
        !data.path().join("postgres/postmaster.pid").exists(),
        "the embedded PostgreSQL was left running"
    );

    let api = Api::start(&["--data-dir", &data_dir]).await;
    let response = reqwest::get(api.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 200);
    let log = api.log();
    assert!(log.contains("database schema is up to date"), "{log}");
    let client = connect_embedded(data.path(), embedded_port(&log)).await;
    let row = client
        .query_one("SELECT v FROM survivor", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "still here");
    drop(client);
    assert!(api.terminate().success());
}

#[tokio::test]
async fn shutdown_finishes_a_request_that_is_in_flight() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let api = Api::with_fresh_database(&[]).await;
    let address = api.base.trim_start_matches("http://").to_owned();
    let body = br#"{"username":"latecomer","password":"correct horse battery"}"#;
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/auth/register HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    api.signal("TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stream.write_all(&body[10..]).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(api.wait().success());
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let api = Api::with_fresh_database(&[]).await;
    let started = std::time::Instant::now();
    let status = api.terminate();
    assert!(status.success(), "{status}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn without_a_jwt_secret_instances_share_a_stored_signing_key() {
    let database = edge_test_support::harness::fresh_database().await;
    let args = ["--database-url", database.url.as_str()];
    let (a, b) = (Api::start(&args).await, Api::start(&args).await);
    let user = a.client().user("keyholder").await;
    let me = |api: &Api, token: &str| {
        let request = api
            .client()
            .request(reqwest::Method::GET, "/api/auth/me", Some(token));
        async move { request.send().await.unwrap().status() }
    };
    // A token from one instance is good on the other...
    assert_eq!(me(&b, &user.token).await, 200);
    // ...and on a restarted instance.
    drop(a);
    let c = Api::start(&args).await;
    assert_eq!(me(&c, &user.token).await, 200);
    // Rotating the stored key ends old access tokens once instances restart.
    let rotated = c.operator(&["rotate-signing-key"]);
    assert!(rotated.status.success(), "{rotated:?}");
    drop(c);
    let d = Api::start(&args).await;
    assert_eq!(me(&d, &user.token).await, 401);
}

#[test]
fn admin_users_is_refused_with_the_way_to_grant_admin() {
    let output = binary().args(["--admin-users", "root"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("grant-admin"), "{stderr}");
}

#[tokio::test]
async fn the_api_serves_on_a_postgres_that_accepts_tls_only() {
    let tls = edge_test_support::harness::tls_postgres();
    let url = format!("{}?sslmode=require", tls.server.url("postgres"));
    let api = Api::start(&[
        "--database-url",
        &url,
        "--jwt-secret",
        crate::support::JWT_SECRET,
    ])
    .await;
    let client = api.client();
    let user = client.user("encrypted").await;
    let created = client.create(&user, "stored over TLS").await;
    assert!(created["id"].as_i64().is_some(), "{created}");
    let ready: serde_json::Value = reqwest::get(api.url("/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], "ok");
    // (The server refuses plain-text connections: edge-db's tests/tls.rs.)
}
