//! The access log over real HTTP: one JSON line on stdout per response with every
//! field, whatever the status; request ids in and out; the security log apart.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Api, Client, ScratchDir, User};

const FIELDS: [&str; 14] = [
    "timestamp",
    "request_id",
    "trace_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "client_ip",
    "user",
    "ratelimit",
    "cache",
    "db_queries",
    "bytes",
    "user_agent",
];

/// Send a request tagged with `id`; returns the status, the echoed id and the body length.
async fn send(
    client: &Client,
    id: &str,
    method: Method,
    path: &str,
    user: Option<&User>,
    build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> (u16, String, usize) {
    let request = client
        .request(method, path, user.map(|u| u.token.as_str()))
        .header("x-request-id", id)
        .header("user-agent", "edge-log-test/1");
    let response = build(request).send().await.unwrap();
    let status = response.status().as_u16();
    let echoed = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.bytes().await.unwrap();
    (status, echoed, body.len())
}

/// The checks every line passes, and the line for more.
async fn logged(api: &Api, id: &str, status: u16, method: &str, path: &str, bytes: usize) -> Value {
    let line = api.access_line(id).await;
    let object = line.as_object().unwrap();
    for field in FIELDS {
        assert!(object.contains_key(field), "no `{field}` in {line}");
    }
    assert_eq!(object.len(), FIELDS.len(), "{line}");
    assert_eq!(line["status"], status, "{line}");
    assert_eq!(line["method"], method, "{line}");
    assert_eq!(line["path"], path, "{line}");
    assert_eq!(line["bytes"], bytes, "{line}");
    assert_eq!(line["client_ip"], "127.0.0.1", "{line}");
    assert_eq!(line["trace_id"].as_str().unwrap().len(), 32, "{line}");
    assert_eq!(line["user_agent"], "edge-log-test/1", "{line}");
    assert!(line["duration_ms"].as_f64().unwrap() > 0.0, "{line}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(line["timestamp"].as_str().unwrap()).is_ok(),
        "{line}"
    );
    let rate_limit = &line["ratelimit"];
    assert!(rate_limit["policy"].is_string(), "{line}");
    assert!(rate_limit["limit"].as_u64().unwrap() >= rate_limit["remaining"].as_u64().unwrap());
    assert!(line["db_queries"].is_u64(), "{line}");
    line
}

#[tokio::test]
async fn every_response_is_logged_once_with_every_field() {
    let api = Api::with_accounts(&["--max-body", "1KiB", "--rate-limit-read", "12/1m"]).await;
    let client = api.client();
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let created = client.create(&alice, "logged").await;
    let item = format!("/api/resources/{}", created["id"]);
    let alice_id = alice.id.to_string();

    let (status, echoed, bytes) =
        send(&client, "t-200", Method::GET, &item, Some(&alice), |r| r).await;
    assert_eq!((status, echoed.as_str()), (200, "t-200"));
    let line = logged(&api, "t-200", 200, "GET", &item, bytes).await;
    assert_eq!(line["user"], alice_id.as_str());
    assert_eq!(line["cache"], "miss");
    assert_eq!(line["db_queries"], 1);
    assert_eq!(line["ratelimit"]["policy"], "read");

    let etag = client
        .request(Method::GET, &item, Some(&alice.token))
        .send()
        .await
        .unwrap()
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, _, bytes) = send(&client, "t-304", Method::GET, &item, Some(&alice), |r| {
        r.header("if-none-match", &etag)
    })
    .await;
    assert_eq!((status, bytes), (304, 0));
    let line = logged(&api, "t-304", 304, "GET", &item, 0).await;
    assert_eq!(line["cache"], "hit");
    assert_eq!(line["db_queries"], 0);

    let (status, _, bytes) =
        send(&client, "t-401", Method::GET, "/api/resources", None, |r| r).await;
    assert_eq!(status, 401);
    let line = logged(&api, "t-401", 401, "GET", "/api/resources", bytes).await;
    assert_eq!(line["user"], Value::Null);
    assert_eq!(line["ratelimit"]["policy"], "ip");

    let (status, _, bytes) = send(&client, "t-403", Method::PUT, &item, Some(&bob), |r| {
        r.json(&json!({"name": "not yours"}))
    })
    .await;
    assert_eq!(status, 403);
    let line = logged(&api, "t-403", 403, "PUT", &item, bytes).await;
    assert_eq!(line["user"], bob.id.to_string().as_str());
    assert_eq!(line["cache"], "bypass");

    let (status, _, bytes) = send(
        &client,
        "t-404",
        Method::GET,
        "/api/resources/999999",
        Some(&alice),
        |r| r,
    )
    .await;
    assert_eq!(status, 404);
    logged(&api, "t-404", 404, "GET", "/api/resources/999999", bytes).await;

    let (status, _, bytes) = send(
        &client,
        "t-413",
        Method::POST,
        "/api/resources",
        Some(&alice),
        |r| r.json(&json!({"name": "big", "description": "x".repeat(4096)})),
    )
    .await;
    assert_eq!(status, 413);
    logged(&api, "t-413", 413, "POST", "/api/resources", bytes).await;

    let (status, _, bytes) = send(
        &client,
        "t-422",
        Method::POST,
        "/api/resources",
        Some(&alice),
        |r| r.json(&json!({"name": ""})),
    )
    .await;
    assert_eq!(status, 422);
    let line = logged(&api, "t-422", 422, "POST", "/api/resources", bytes).await;
    // The schema is checked by the filter, before authentication: no user yet.
    assert_eq!(line["user"], Value::Null);
    assert_eq!(line["db_queries"], 0);

    // Reads are limited to 12 a minute: the 429 is logged like the rest.
    let mut limited = None;
    for i in 0..20 {
        let id = format!("t-429-{i}");
        let (status, _, bytes) = send(&client, &id, Method::GET, &item, Some(&alice), |r| r).await;
        if status == 429 {
            limited = Some((id, bytes));
            break;
        }
    }
    let (id, bytes) = limited.expect("the read limit was never reached");
    let line = logged(&api, &id, 429, "GET", &item, bytes).await;
    assert_eq!(line["ratelimit"]["remaining"], 0);
    assert_eq!(line["ratelimit"]["policy"], "read");

    // One line per request, nothing else on stdout.
    let lines = api.access_lines();
    for id in [
        "t-200", "t-304", "t-401", "t-403", "t-404", "t-413", "t-422",
    ] {
        assert_eq!(
            lines.iter().filter(|l| l["request_id"] == id).count(),
            1,
            "{id}"
        );
    }
    assert!(lines.iter().all(|l| l["status"].is_u64()), "{lines:#?}");
}

#[tokio::test]
async fn request_ids_are_echoed_and_hostile_ones_replaced() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let (status, echoed, _) = send(
        &client,
        "client-chosen.id:1",
        Method::GET,
        "/healthz",
        None,
        |r| r,
    )
    .await;
    assert_eq!((status, echoed.as_str()), (200, "client-chosen.id:1"));

    let huge = "x".repeat(10 * 1024);
    for hostile in [
        huge.as_str(),
        "<script>alert(1)</script>",
        "a\tb",
        "\"quoted\"",
        "a b",
    ] {
        let response = client
            .request(Method::GET, "/api/nothing-here", None)
            .header("x-request-id", hostile)
            .send()
            .await
            .unwrap();
        let echoed = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(echoed, hostile);
        assert_eq!(echoed.len(), 36, "{echoed}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            problem["request_id"],
            echoed.as_str(),
            "the problem names the same id"
        );
        let line = api.access_line(&echoed).await;
        assert!(!line.to_string().contains(hostile), "{line}");
    }

    // A request smuggling a line break into the id is refused by the HTTP parser
    // or gets a fresh id; either way nothing of it is echoed or logged.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = api.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: evil\r\n {\"forged\":1}\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply).await;
    assert!(!reply.contains("forged"), "{reply}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        api.access_lines()
            .iter()
            .all(|l| !l.to_string().contains("forged"))
    );
}

#[tokio::test]
async fn the_security_log_stays_apart_from_the_access_log() {
    let dir = ScratchDir::new();
    let security = dir.path().join("security.log");
    let api = Api::with_accounts(&["--security-log", security.to_str().unwrap()]).await;
    let client = api.client();
    let alice = client.user("alice").await;
    let attack = "/api/resources?cursor=1%27%20OR%201%3D1--";
    let (status, _, bytes) = send(
        &client,
        "t-attack",
        Method::GET,
        attack,
        Some(&alice),
        |r| r,
    )
    .await;
    assert_eq!(status, 403);
    let line = logged(&api, "t-attack", 403, "GET", "/api/resources", bytes).await;
    assert!(
        !line.to_string().contains("OR 1=1"),
        "the access log holds no payload: {line}"
    );

    let findings = std::fs::read_to_string(&security).unwrap();
    assert!(findings.contains("t-attack"), "{findings}");
    assert!(
        !findings.contains("duration_ms"),
        "no access lines in the security log"
    );
    let stdout = api.access_lines();
    assert!(
        stdout
            .iter()
            .all(|l| l.get("rule").is_none() && l.get("category").is_none()),
        "no security events in the access log"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_both_logs_carry_the_real_client_and_one_request_id() {
    let dir = ScratchDir::new();
    let security = dir.path().join("security.log");
    let api = Api::with_accounts(&[
        "--security-log",
        security.to_str().unwrap(),
        "--trusted-proxies",
        "127.0.0.1",
    ])
    .await;
    let client = api.client();
    // The test is the proxy: it forwards the client 198.51.100.23 (and no id, so
    // the API generates one). A `Forwarded` header the client slipped in is ignored.
    let response = client
        .request(
            Method::GET,
            "/api/resources?q=%3Cscript%3Ealert(1)%3C/script%3E",
            None,
        )
        .header("x-forwarded-for", "198.51.100.23")
        .header("forwarded", "for=203.0.113.66")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let line = api.access_line(&id).await;
    assert_eq!(line["client_ip"], "198.51.100.23", "{line}");
    let finding = (0..100)
        .find_map(|_| {
            let text = std::fs::read_to_string(&security).unwrap_or_default();
            let found = text
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .find(|l| l["request_id"] == id.as_str());
            if found.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            found
        })
        .unwrap_or_else(|| panic!("no security-log line for {id}"));
    assert_eq!(finding["client_ip"], "198.51.100.23", "{finding}");
}

#[tokio::test]
async fn a_callers_traceparent_is_in_the_access_line_and_the_security_log() {
    let dir = ScratchDir::new();
    let security = dir.path().join("security.log");
    let api = Api::with_accounts(&["--security-log", security.to_str().unwrap()]).await;
    let client = api.client();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let (status, _, bytes) = send(&client, "t-traced", Method::GET, "/readyz", None, |r| {
        r.header("traceparent", &traceparent)
    })
    .await;
    assert_eq!(status, 200);
    let line = api.access_line("t-traced").await;
    assert_eq!(line["trace_id"], trace_id, "{line}");
    assert_eq!(line["bytes"], bytes);

    // Without one, each request starts its own trace.
    send(&client, "t-new-1", Method::GET, "/livez", None, |r| r).await;
    send(&client, "t-new-2", Method::GET, "/livez", None, |r| r).await;
    let (a, b) = (
        api.access_line("t-new-1").await,
        api.access_line("t-new-2").await,
    );
    assert_ne!(a["trace_id"], b["trace_id"]);
    assert_ne!(a["trace_id"], trace_id);

    // The security log carries the same trace id as the access line.
    let attack = "/api/resources?q=%3Cscript%3Ealert(1)%3C/script%3E";
    let (status, _, _) = send(&client, "t-traced-attack", Method::GET, attack, None, |r| {
        r.header("traceparent", &traceparent)
    })
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        api.access_line("t-traced-attack").await["trace_id"],
        trace_id
    );
    let finding = (0..100)
        .find_map(|_| {
            let text = std::fs::read_to_string(&security).unwrap_or_default();
            let found = text
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .find(|l| l["request_id"] == "t-traced-attack");
            if found.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            found
        })
        .expect("a security-log line for the attack");
    assert_eq!(finding["trace_id"], trace_id, "{finding}");
}
