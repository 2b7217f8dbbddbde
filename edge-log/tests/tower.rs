//! The tower layer: one line per request with the fields the stack recorded,
//! request ids in and out, and 499 for requests whose client went away.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{TestLog, assert_every_field, record_like_the_other_layers, subscriber};
use edge_log::tower::AccessLoggerLayer;
use http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

fn app(log: &TestLog) -> Router {
    Router::new()
        .route(
            "/items",
            get(|| async {
                record_like_the_other_layers();
                "0123456789"
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        )
        .layer(
            AccessLoggerLayer::new(log.log.clone())
                .peer_from(|_| Some("192.0.2.1".parse().unwrap())),
        )
}

#[tokio::test]
async fn one_line_per_request_with_every_field() {
    let _guard = subscriber();
    let log = TestLog::new();
    let response = app(&log)
        .oneshot(
            Request::get("/items?x=1")
                .header("x-request-id", "abc.1")
                .header("user-agent", "ua")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc.1");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "0123456789");
    let lines = log.lines();
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_every_field(line);
    assert_eq!(line["request_id"], "abc.1");
    assert_eq!(line["path"], "/items");
    assert_eq!(line["status"], 200);
    assert_eq!(line["client_ip"], "192.0.2.1");
    assert_eq!(line["user"], "alice");
    assert_eq!(line["ratelimit"]["policy"], "ip");
    assert_eq!(line["cache"], "miss");
    assert_eq!(line["db_queries"], 2);
    assert_eq!(line["bytes"], 10);
    assert_eq!(line["user_agent"], "ua");
}

#[tokio::test]
async fn a_request_whose_client_left_is_logged_as_499() {
    let _guard = subscriber();
    let log = TestLog::new();
    let call = app(&log).oneshot(
        Request::get("/slow")
            .body(axum::body::Body::empty())
            .unwrap(),
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(50), call)
            .await
            .is_err()
    );
    let lines = log.lines();
    assert_eq!(lines.len(), 1);
    assert_every_field(&lines[0]);
    assert_eq!(lines[0]["status"], 499);
    assert_eq!(lines[0]["path"], "/slow");
}

#[tokio::test]
async fn fields_come_from_response_extensions_without_any_subscriber() {
    #[derive(Clone)]
    struct Served(&'static str);
    // No `FieldsLayer`: the span records nothing, the hook fills the fields.
    let log = TestLog::new();
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                let mut response = axum::response::IntoResponse::into_response("ok");
                response.extensions_mut().insert(Served("bypass"));
                response
            }),
        )
        .layer(
            AccessLoggerLayer::new(log.log.clone()).fields_from(|response, fields| {
                fields.cache = response.extensions.get::<Served>().map(|s| s.0.to_owned());
                fields.user = Some(response.status.as_u16().to_string());
            }),
        );
    let response = app
        .oneshot(Request::get("/").body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "ok");
    let lines = log.lines();
    assert_eq!(lines.len(), 1);
    assert_every_field(&lines[0]);
    assert_eq!(lines[0]["cache"], "bypass");
    assert_eq!(lines[0]["user"], "200");
}

#[tokio::test]
async fn the_callers_trace_is_logged_and_handed_to_the_handler() {
    let _guard = subscriber();
    let log = TestLog::new();
    let app = Router::new()
        .route(
            "/traced",
            get(|request: Request<axum::body::Body>| async move {
                let trace = request
                    .extensions()
                    .get::<edge_log::TraceContext>()
                    .copied();
                trace.map(|t| t.traceparent(0xbeef)).unwrap_or_default()
            }),
        )
        .layer(AccessLoggerLayer::new(log.log.clone()));
    let send = |traceparent: Option<&str>| {
        let mut request = Request::get("/traced");
        if let Some(value) = traceparent {
            request = request.header("traceparent", value);
        }
        app.clone()
            .oneshot(request.body(axum::body::Body::empty()).unwrap())
    };
    let traced = send(Some(
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ))
    .await
    .unwrap();
    let body = traced.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        body,
        "00-0af7651916cd43dd8448eb211c80319c-000000000000beef-01"
    );
    let untraced = send(None).await.unwrap();
    let started = untraced.into_body().collect().await.unwrap().to_bytes();
    let started = std::str::from_utf8(&started).unwrap().to_owned();
    assert_eq!(started.len(), 55, "a new trace for the handler: {started}");
    let lines = log.lines();
    assert_eq!(lines[0]["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(
        lines[1]["trace_id"],
        started[3..35],
        "the logged trace is the handler's"
    );
}
