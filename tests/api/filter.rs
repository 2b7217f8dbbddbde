//! The input filter on the reference API: 403 for attacks anywhere in a request,
//! with a security-log line; 413 (also chunked), 415, 400; detection-only mode.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Api, ScratchDir, expect_problem};

fn security_log(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Poll the log until it has `n` lines (the writer runs on its own thread).
async fn wait_for_lines(path: &std::path::Path, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let lines = security_log(path);
        if lines.len() >= n {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    security_log(path)
}

#[tokio::test]
async fn attacks_are_blocked_everywhere_and_logged() {
    let dir = ScratchDir::new();
    let log = dir.path().join("security.log");
    let api = Api::with_accounts(&["--security-log", log.to_str().unwrap()]).await;
    let client = api.client();
    let user = client.user("target").await;

    let cases: Vec<(&str, reqwest::RequestBuilder, &str, &str)> = vec![
        (
            "path",
            client.request(
                Method::GET,
                "/api/resources/..%2F..%2Fetc%2Fpasswd",
                Some(&user.token),
            ),
            "path_traversal",
            "path",
        ),
        (
            "query",
            client.request(
                Method::GET,
                "/api/resources?cursor=1%27%20OR%20%271%27%3D%271",
                Some(&user.token),
            ),
            "sql_injection",
            "query.cursor",
        ),
        (
            "header",
            client
                .request(Method::GET, "/api/resources", Some(&user.token))
                .header("user-agent", "<script>alert(1)</script>"),
            "xss",
            "header.user-agent",
        ),
        (
            "nested body",
            client
                .request(Method::POST, "/api/resources", Some(&user.token))
                .json(&json!({"name": "ok", "data": {"deep": ["fine", "x; uname -a"]}})),
            "command_injection",
            "body./data/deep/1",
        ),
        (
            "body key",
            client
                .request(Method::POST, "/api/resources", Some(&user.token))
                .json(&json!({"name": "n", "data": {"a\u{0}b": 1}})),
            "null_byte",
            "body./data/a\u{0}b (key)",
        ),
        // Evasion families (issue 26): IIS `%u` escapes, look-alike slashes,
        // shell quoting inside command names, a SQL fragment only the tokenizer reads.
        (
            "%u escapes",
            client
                .request(Method::POST, "/api/resources", Some(&user.token))
                .json(&json!({"name": "n", "description": "%u003Cscript%u003Ealert(1)"})),
            "xss",
            "body./description",
        ),
        (
            "look-alike slashes",
            client.request(
                Method::GET,
                "/api/resources/..%E2%88%95..%E2%88%95etc%E2%88%95passwd",
                Some(&user.token),
            ),
            "path_traversal",
            "path",
        ),
        (
            "shell quoting",
            client
                .request(Method::POST, "/api/resources", Some(&user.token))
                .json(&json!({"name": "n", "data": {"host": "x;c'a't /e\"t\"c/pa\\sswd"}})),
            "command_injection",
            "body./data/host",
        ),
        (
            "SQL fragment",
            client
                .request(Method::POST, "/api/resources", Some(&user.token))
                .json(&json!({"name": "n", "description": " ( BINARY ( SELECT @a) )  --"})),
            "sql_injection",
            "body./description",
        ),
    ];
    let mut request_ids = Vec::new();
    for (name, request, _, _) in cases
        .iter()
        .map(|(n, r, c, l)| (*n, r.try_clone().unwrap(), *c, *l))
    {
        let response = request.send().await.unwrap();
        let body = expect_problem(response, 403, "request_blocked").await;
        assert!(
            !body["detail"].as_str().unwrap().contains("rule"),
            "{name}: the rule must not be revealed: {body}"
        );
        request_ids.push(body["request_id"].as_str().unwrap().to_owned());
    }

    let lines = wait_for_lines(&log, cases.len()).await;
    assert_eq!(lines.len(), cases.len(), "{lines:?}");
    for ((line, (name, _, category, location)), request_id) in
        lines.iter().zip(&cases).zip(&request_ids)
    {
        assert_eq!(line["category"], *category, "{name}: {line}");
        assert_eq!(line["location"], *location, "{name}: {line}");
        assert_eq!(line["request_id"], request_id.as_str(), "{name}");
        assert_eq!(line["client_ip"], "127.0.0.1");
        assert_eq!(line["action"], "blocked");
        assert!(line["rule_id"].as_str().is_some_and(|r| !r.is_empty()));
        if *name == "SQL fragment" {
            assert_eq!(line["rule_id"], "sqli-tokenizer", "{line}");
        }
        assert!(line["time"].as_str().unwrap().ends_with('Z'));
        assert!(
            line["method"].is_string() && line["path"].is_string() && line["payload"].is_string()
        );
    }
    // `%u` in the URL itself is not percent-encoding: refused before any rule.
    let malformed = client
        .request(
            Method::GET,
            "/api/resources?cursor=1%u0027%u0020OR%u0020%u00271%u0027%u003D%u00271",
            Some(&user.token),
        )
        .send()
        .await
        .unwrap();
    expect_problem(malformed, 400, "invalid_parameter").await;
    // Nothing was created by the blocked writes.
    let page: Value = client
        .request(Method::GET, "/api/resources", Some(&user.token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"], json!([]));
    // Ordinary text that looks suspicious passes.
    let fine = json!({
        "name": "O'Brien's café",
        "description": "SELECT a plan; 1 < 2; rock & roll; see https://example.com/a?b=1&c=2",
        "tags": ["**md**", "D'Angelo", "ann@example.com", "issue #42", "Set up (optional)"],
        "data": {"notes": "Run `cargo test` -- and \"yes\" or \"no\" -- then `src/main.rs`?"}
    });
    assert_eq!(
        client
            .post_json("/api/resources", Some(&user.token), &fine)
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn detection_only_mode_lets_requests_through_and_logs_them() {
    let dir = ScratchDir::new();
    let log = dir.path().join("security.log");
    let api = Api::with_accounts(&[
        "--security-log",
        log.to_str().unwrap(),
        "--filter-mode",
        "detect",
    ])
    .await;
    let client = api.client();
    let user = client.user("tuner").await;
    let response = client
        .post_json(
            "/api/resources",
            Some(&user.token),
            &json!({"name": "<script>alert(1)</script>"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let lines = wait_for_lines(&log, 1).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["action"], "detected");
    assert_eq!(lines[0]["location"], "body./name");
}

#[tokio::test]
async fn oversized_bodies_are_413_even_when_chunked() {
    let api = Api::with_accounts(&["--max-body", "4KiB"]).await;
    let client = api.client();
    let user = client.user("big").await;
    let big = json!({"name": "n", "description": "x".repeat(5000)});
    let response = client
        .post_json("/api/resources", Some(&user.token), &big)
        .await;
    expect_problem(response, 413, "payload_too_large").await;

    // Chunked, with no Content-Length: refused once the limit is passed, before the end.
    let address = api.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/resources HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        user.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 1024, "x".repeat(1024));
    for _ in 0..6 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    // No terminating chunk is ever sent: the answer cannot have waited for the whole body.
    let mut response = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut response))
        .await
        .unwrap()
        .unwrap();
    let response = String::from_utf8_lossy(&response[..n]);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("payload_too_large"), "{response}");
}

#[tokio::test]
async fn media_type_and_syntax_are_checked() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let user = client.user("typist").await;
    let text = client
        .request(Method::POST, "/api/resources", Some(&user.token))
        .header("content-type", "text/plain")
        .body("{\"name\":\"n\"}")
        .send()
        .await
        .unwrap();
    expect_problem(text, 415, "unsupported_media_type").await;
    let broken = client
        .request(Method::POST, "/api/resources", Some(&user.token))
        .header("content-type", "application/json")
        .body("{\"name\": \"n\",}")
        .send()
        .await
        .unwrap();
    let body = expect_problem(broken, 400, "invalid_json").await;
    assert!(
        body["detail"].as_str().unwrap().contains("line 1 column"),
        "{body}"
    );
}

#[tokio::test]
async fn sighup_reopens_the_security_log_after_rotation() {
    let dir = ScratchDir::new();
    let log = dir.path().join("security.log");
    let api = Api::with_accounts(&["--security-log", log.to_str().unwrap()]).await;
    let client = api.client();
    let attack = || {
        client
            .request(Method::GET, "/healthz?q=%3Cscript%3E", None)
            .send()
    };
    assert_eq!(attack().await.unwrap().status(), 403);
    assert_eq!(wait_for_lines(&log, 1).await.len(), 1);

    // An external rotation moves the file away; SIGHUP makes the API write anew at the path.
    let rotated = dir.path().join("security.log.old");
    std::fs::rename(&log, &rotated).unwrap();
    api.signal("HUP");
    // Reopening creates the file at once; wait for that before sending more.
    let mut reopened = false;
    for _ in 0..100 {
        if log.exists() {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reopened, "the log was not reopened after SIGHUP");
    assert_eq!(attack().await.unwrap().status(), 403);
    assert_eq!(wait_for_lines(&log, 1).await.len(), 1);
    assert_eq!(
        security_log(&rotated).len(),
        1,
        "the rotated file got later lines"
    );
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_gets_408() {
    let api = Api::with_accounts(&["--body-timeout", "1s"]).await;
    let address = api.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    // Promise 100 bytes, send 10, then stall.
    let head = format!(
        "POST /api/auth/register HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"usernam"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut response = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut response),
    )
    .await;
    let response = String::from_utf8_lossy(&response);
    assert!(read.is_ok(), "no answer within 10 s: {response}");
    assert!(
        response.starts_with("HTTP/1.1 408"),
        "after {:?}: {response}",
        started.elapsed()
    );
    assert!(response.contains("request_timeout"), "{response}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
}

#[tokio::test]
async fn the_security_log_is_private_bounded_and_redacts_secrets() {
    let dir = ScratchDir::new();
    let log = dir.path().join("security.log");
    let api = Api::with_accounts(&["--security-log", log.to_str().unwrap()]).await;
    let client = api.client();
    // An attack in a password: blocked, logged, but the password is not written.
    let secret_attack = "hunter2' OR '1'='1' --";
    expect_problem(
        client
            .post_json(
                "/api/auth/login",
                None,
                &json!({"username": "victim", "password": secret_attack}),
            )
            .await,
        403,
        "request_blocked",
    )
    .await;
    // A huge path: the line keeps a bounded part of it.
    let long_path = format!(
        "/api/resources/{}<script>alert(1)</script>",
        "a".repeat(6000)
    );
    let blocked = client
        .request(Method::GET, &long_path, None)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(blocked.status().as_u16(), 403 | 414 | 431),
        "{}",
        blocked.status()
    );
    let lines = wait_for_lines(&log, 2).await;
    let raw = std::fs::read_to_string(&log).unwrap();
    assert!(
        !raw.contains("hunter2"),
        "a password reached the log: {raw}"
    );
    assert_eq!(lines[0]["location"], "body./password");
    assert!(
        lines[0]["payload"]
            .as_str()
            .unwrap()
            .starts_with("[redacted")
    );
    if blocked.status() == 403 {
        assert!(lines.len() >= 2, "{lines:?}");
        assert!(lines[1]["path"].as_str().unwrap().len() <= edge_filter::PATH_BYTES);
    }
    for line in raw.lines() {
        assert!(
            line.len() < 4096,
            "an unbounded line of {} bytes",
            line.len()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
