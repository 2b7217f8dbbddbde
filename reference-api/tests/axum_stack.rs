//! Tower is first-class: the axum example (`examples/axum_stack.rs`) composes
//! all six crates like the reference API does on actix-web, and over real HTTP
//! shows the same cross-crate behaviour — the user, the rate-limit state, the
//! cache status and the query count in the access line; one request id and one
//! client IP (resolved behind a trusted proxy) in the access and security logs;
//! CORS answered before the limits; probes never limited.

#[path = "../examples/axum_stack.rs"]
#[allow(dead_code, unreachable_pub)]
mod stack;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use edge_auth::TokenIssuer;
use edge_filter::SecurityLog;
use edge_log::{AccessLog, LogWriter};
use serde_json::Value;

const SECRET: &[u8] = b"an-axum-example-secret-of-32-bytes!";

struct Running {
    base: String,
    access: AccessLog,
    security: SecurityLog,
    access_path: PathBuf,
    security_path: PathBuf,
    http: reqwest::Client,
}

async fn start() -> Running {
    let database = edge_test_support::harness::fresh_database().await;
    let dir = std::env::temp_dir().join(edge_test_support::harness::unique_name("axum-stack"));
    std::fs::create_dir_all(&dir).unwrap();
    let (access_path, security_path) = (dir.join("access.log"), dir.join("security.log"));
    let security = SecurityLog::open(&security_path, 0, 100).unwrap();
    let access = AccessLog::builder()
        .writer(LogWriter::new(std::fs::File::create(&access_path).unwrap(), 100).unwrap())
        .trusted_proxies(stack::trusted_proxies())
        .build()
        .unwrap();
    let app = stack::app(stack::Settings {
        db: edge_db::Db::builder(database.url.clone()).build().unwrap(),
        jwt_secret: SECRET.to_vec(),
        jwt_issuer: "edge".to_owned(),
        access_log: access.clone(),
        security_log: security.clone(),
        per_ip: 100,
        per_user: 3,
        cors_origins: vec![http::HeaderValue::from_static("https://app.example")],
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    Running {
        base: format!("http://{address}"),
        access,
        security,
        access_path,
        security_path,
        http: reqwest::Client::new(),
    }
}

fn token(subject: &str) -> String {
    let issuer = TokenIssuer::hs256(SECRET, "edge", Duration::from_secs(900)).unwrap();
    issuer.issue(subject, None).unwrap().token
}

/// Every line of a log file, parsed.
fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

impl Running {
    fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .header("x-forwarded-for", "198.51.100.40");
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// The access line of the response with request id `id`.
    fn access_line(&self, id: &str) -> Value {
        assert!(self.access.writer().flush(Duration::from_secs(5)));
        lines(&self.access_path)
            .into_iter()
            .find(|line| line["request_id"] == id)
            .unwrap_or_else(|| panic!("no access line for {id}"))
    }
}

fn id_of(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_axum_stack_behaves_like_the_actix_one() {
    let api = start().await;
    let alice = token("alice");
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    // A miss through every layer: the user, the limit, the cache, one query,
    // the real client behind the proxy and the caller's trace in the line.
    let first = api
        .get("/items/7", Some(&alice))
        .header("traceparent", trace)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    // A route shared between callers announces no cache status (a HIT would
    // tell one caller what another read); the access line has it.
    assert!(!first.headers().contains_key("x-cache"));
    assert_eq!(
        first.headers()["x-ratelimit-remaining"],
        "2",
        "the tightest: per user"
    );
    let id = id_of(&first);
    assert_eq!(
        first.json::<Value>().await.unwrap(),
        serde_json::json!({"id": 7, "name": "item 7"})
    );
    let line = api.access_line(&id);
    assert_eq!(line["user"], "alice", "{line}");
    assert_eq!(line["ratelimit"]["policy"], "user", "{line}");
    assert_eq!(line["ratelimit"]["remaining"], 2, "{line}");
    assert_eq!(line["cache"], "miss", "{line}");
    assert_eq!(line["db_queries"], 1, "{line}");
    assert_eq!(line["client_ip"], "198.51.100.40", "{line}");
    assert_eq!(line["trace_id"], &trace[3..35], "{line}");

    // A hit: no query.
    let second = api.get("/items/7", Some(&alice)).send().await.unwrap();
    let line = api.access_line(&id_of(&second));
    assert_eq!(
        (line["cache"].as_str(), line["db_queries"].as_u64()),
        (Some("hit"), Some(0))
    );

    // An attack: one request id and one client in both logs.
    let attack = api
        .get("/items/7?q=%3Cscript%3Ealert(1)%3C/script%3E", Some(&alice))
        .send()
        .await
        .unwrap();
    assert_eq!(attack.status(), 403);
    let id = id_of(&attack);
    assert_eq!(api.access_line(&id)["client_ip"], "198.51.100.40");
    api.security.flush(Duration::from_secs(5));
    let finding = lines(&api.security_path)
        .into_iter()
        .find(|line| line["request_id"] == id.as_str())
        .expect("a security-log line with the access line's request id");
    assert_eq!(finding["client_ip"], "198.51.100.40", "{finding}");

    // Without a token: 401 from edge-auth, with the request id in the problem.
    let anonymous = api.get("/items/7", None).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let id = id_of(&anonymous);
    let problem: Value = anonymous.json().await.unwrap();
    assert_eq!(problem["request_id"], id.as_str());

    // The per-user limit: alice's third request is the last her quota allows.
    let third = api.get("/items/8", Some(&alice)).send().await.unwrap();
    assert_eq!(third.status(), 200);
    let limited = api.get("/items/8", Some(&alice)).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        api.access_line(&id_of(&limited))["ratelimit"]["remaining"],
        0
    );

    // Probes are public and never counted; CORS preflights never meet a limit or auth.
    for _ in 0..3 {
        let probe = api.get("/livez", None).send().await.unwrap();
        assert_eq!(probe.status(), 200);
        assert!(!probe.headers().contains_key("x-ratelimit-limit"));
    }
    let preflight = api
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/items/7", api.base))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example"
    );
}
