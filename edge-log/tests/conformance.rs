//! One set of cases through both adapters: the tower layer and the actix-web
//! middleware must echo the same request ids and write the same access lines
//! (but for the time fields and generated ids), with the client resolved behind
//! the same trusted proxy.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;

use actix_web::{App, HttpResponse, test, web};
use common::{Captured, subscriber};
use edge_log::{AccessLog, LogWriter, TrustedProxies, is_well_formed};
use http::{Request, Response};
use serde_json::Value;
use tower::{ServiceBuilder, ServiceExt};

/// Path, peer, request headers.
type Case = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

/// Status, the echoed id (or `generated`), the access line without time fields.
type Seen = (u16, String, Value);

fn cases() -> Vec<Case> {
    vec![
        (
            "/items/1",
            "192.0.2.1:1000",
            vec![("x-request-id", "client-id-1")],
        ),
        (
            "/items/2",
            "192.0.2.1:1000",
            vec![("x-request-id", "bad id <script>")],
        ),
        (
            "/items/3",
            "192.0.2.1:1000",
            vec![("user-agent", "tester/1.0")],
        ),
        ("/missing", "192.0.2.1:1000", vec![]),
        // The caller's trace is kept; a malformed traceparent starts a new one.
        (
            "/items/5",
            "192.0.2.1:1000",
            vec![("traceparent", SENT_TRACE)],
        ),
        (
            "/items/6",
            "192.0.2.1:1000",
            vec![(
                "traceparent",
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            )],
        ),
        // Behind the trusted proxy: the forwarded client is logged, not the proxy.
        (
            "/items/4",
            "10.0.0.2:1000",
            vec![
                ("x-forwarded-for", "198.51.100.7"),
                ("forwarded", "for=203.0.113.9"),
            ],
        ),
    ]
}

fn log(captured: &Captured) -> AccessLog {
    AccessLog::builder()
        .writer(LogWriter::new(captured.clone(), 64).unwrap())
        .trusted_proxies(TrustedProxies::new(["10.0.0.0/8".parse().unwrap()]))
        .build()
        .unwrap()
}

const SENT_TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The line as compared: time fields dropped, a generated id or trace id
/// replaced by a marker.
fn comparable(mut line: Value, sent_id: Option<&str>) -> Value {
    let object = line.as_object_mut().unwrap();
    let trace_id = object["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(trace_id.len(), 32, "{trace_id}");
    assert!(
        trace_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    if trace_id != SENT_TRACE[3..35] {
        object.insert("trace_id".into(), "generated".into());
    }
    object.remove("timestamp");
    object.remove("duration_ms");
    let id = object["request_id"].as_str().unwrap().to_owned();
    assert!(is_well_formed(id.as_bytes()), "{id}");
    if sent_id != Some(id.as_str()) {
        object.insert("request_id".into(), "generated".into());
    }
    line
}

fn echoed(value: Option<&str>, sent: Option<&str>) -> String {
    match value {
        Some(id) if Some(id) == sent => id.to_owned(),
        Some(id) if is_well_formed(id.as_bytes()) => "generated".to_owned(),
        other => format!("malformed: {other:?}"),
    }
}

fn lines(captured: &Captured, log: &AccessLog) -> Vec<Value> {
    assert!(log.writer().flush(std::time::Duration::from_secs(5)));
    String::from_utf8(captured.0.lock().unwrap().clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Each case's status and echoed id with its access line, made comparable.
fn seen(statuses: Vec<(u16, String)>, lines: Vec<Value>, cases: &[Case]) -> Vec<Seen> {
    assert_eq!(lines.len(), cases.len(), "one line per request");
    statuses
        .into_iter()
        .zip(lines)
        .zip(cases)
        .map(|(((status, id), line), case)| (status, id, comparable(line, sent_id(&case.2))))
        .collect()
}

fn sent_id(headers: &[(&str, &'static str)]) -> Option<&'static str> {
    headers
        .iter()
        .find(|(name, _)| *name == "x-request-id")
        .map(|(_, value)| *value)
}

async fn through_tower(cases: &[Case]) -> Vec<Seen> {
    let captured = Captured::default();
    let log = log(&captured);
    let service = ServiceBuilder::new()
        .layer(edge_log::tower::AccessLoggerLayer::new(log.clone()))
        .service_fn(|request: Request<String>| async move {
            let status = if request.uri().path() == "/missing" {
                404
            } else {
                200
            };
            let mut response = Response::new(String::from("hello"));
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok::<_, Infallible>(response)
        });
    let mut statuses = Vec::new();
    for (path, peer, headers) in cases {
        let mut request = Request::get(*path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request.body(String::new()).unwrap();
        request
            .extensions_mut()
            .insert(peer.parse::<SocketAddr>().unwrap());
        let response = service.clone().oneshot(request).await.unwrap();
        let id = response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        statuses.push((
            response.status().as_u16(),
            echoed(id.as_deref(), sent_id(headers)),
        ));
        // Reading the body to its end writes the line.
        http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap();
    }
    seen(statuses, lines(&captured, &log), cases)
}

async fn through_actix(cases: &[Case]) -> Vec<Seen> {
    let captured = Captured::default();
    let log = log(&captured);
    let app = test::init_service(
        App::new()
            .wrap(edge_log::actix::AccessLogger::new(log.clone()))
            .default_service(web::to(|request: actix_web::HttpRequest| async move {
                if request.path() == "/missing" {
                    HttpResponse::NotFound().body("hello")
                } else {
                    HttpResponse::Ok().body("hello")
                }
            })),
    )
    .await;
    let mut statuses = Vec::new();
    for (path, peer, headers) in cases {
        let mut request = test::TestRequest::get()
            .uri(path)
            .peer_addr(peer.parse().unwrap());
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let response = test::call_service(&app, request.to_request()).await;
        let id = response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let status = response.status().as_u16();
        // Reading the body to its end writes the line.
        test::read_body(response).await;
        statuses.push((status, echoed(id.as_deref(), sent_id(headers))));
    }
    seen(statuses, lines(&captured, &log), cases)
}

#[actix_rt::test]
async fn tower_and_actix_echo_and_log_every_case_alike() {
    let _guard = subscriber();
    let cases = cases();
    let (tower, actix) = (through_tower(&cases).await, through_actix(&cases).await);
    assert_eq!(tower.len(), cases.len());
    for ((case, tower), actix) in cases.iter().zip(&tower).zip(&actix) {
        assert_eq!(tower, actix, "{case:?}");
    }
    assert_eq!(tower[6].2["client_ip"], "198.51.100.7");
    assert_eq!(tower[0].1, "client-id-1");
    assert_eq!(tower[1].1, "generated");
    assert_eq!(tower[4].2["trace_id"], SENT_TRACE[3..35]);
    assert_eq!(
        tower[5].2["trace_id"], "generated",
        "upper-case hex is not a traceparent"
    );
}
