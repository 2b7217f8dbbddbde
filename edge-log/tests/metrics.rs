//! The access log's metrics, read back through a debugging recorder: one
//! test, so that no other test moves the process-wide counters between its
//! reads (each read holds what changed since the last).

use std::sync::{Arc, Barrier};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use edge_log::metrics::{REQUEST_DURATION_SECONDS, REQUESTS_IN_FLIGHT, REQUESTS_TOTAL};
use edge_log::tower::AccessLoggerLayer;
use edge_log::{AccessLog, LogWriter};
use edge_test_support::metrics::Recorded;
use http::Request;
use http_body_util::BodyExt;
use metrics_util::debugging::DebugValue;
use tower::ServiceExt;

fn app() -> Router {
    let log = AccessLog::builder()
        .writer(LogWriter::new(std::io::sink(), 1024).unwrap())
        .routes(["/items/{id}", "/items"])
        .build()
        .unwrap();
    Router::new()
        .route("/items", get(|| async { "list" }))
        .route("/items/{id}", get(|| async { "one" }))
        .layer(AccessLoggerLayer::new(log).peer_from(|_| Some("192.0.2.1".parse().unwrap())))
}

async fn get_path(app: &Router, method: &str, path: &str) -> u16 {
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    response.into_body().collect().await.unwrap();
    status
}

#[tokio::test]
async fn requests_are_counted_by_method_route_and_status_with_bounded_labels() {
    let recorded = Recorded::install();
    edge_log::metrics::describe();
    let app = app();

    for _ in 0..3 {
        assert_eq!(get_path(&app, "GET", "/items").await, 200);
    }
    assert_eq!(get_path(&app, "GET", "/items/7").await, 200);
    assert_eq!(get_path(&app, "GET", "/nowhere").await, 404);
    assert_eq!(get_path(&app, "BREW", "/items").await, 405);
    let seen = recorded.changes();
    let requests = |method, route, status| {
        seen.counter(
            REQUESTS_TOTAL,
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(requests("GET", "/items", "200"), 3);
    assert_eq!(requests("GET", "/items/{id}", "200"), 1);
    assert_eq!(requests("GET", "unmatched", "404"), 1);
    assert_eq!(requests("other", "/items", "405"), 1);
    match seen.find(
        REQUEST_DURATION_SECONDS,
        &[("method", "GET"), ("route", "/items")],
    ) {
        Some(DebugValue::Histogram(values)) => {
            assert_eq!(values.len(), 3);
            assert!(values.iter().all(|v| v.0 > 0.0 && v.0 < 5.0), "{values:?}");
        }
        other => panic!("{other:?}"),
    }
    // Every request in flight came back down.
    match seen.find(REQUESTS_IN_FLIGHT, &[]) {
        Some(DebugValue::Gauge(value)) => assert_eq!(value.0, 0.0),
        other => panic!("{other:?}"),
    }

    // A thousand distinct ids add no series: they all share one route label.
    let before = seen.series(REQUESTS_TOTAL);
    for id in 0..1000 {
        get_path(&app, "GET", &format!("/items/{id}")).await;
    }
    let seen = recorded.changes();
    assert_eq!(seen.series(REQUESTS_TOTAL), before);
    assert_eq!(
        seen.counter(
            REQUESTS_TOTAL,
            &[
                ("method", "GET"),
                ("route", "/items/{id}"),
                ("status", "200")
            ]
        ),
        1000
    );

    // A request whose client leaves is counted as 499 and leaves the flight.
    let slow = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        )
        .layer(AccessLoggerLayer::new(
            AccessLog::builder()
                .writer(LogWriter::new(std::io::sink(), 8).unwrap())
                .routes(["/slow"])
                .build()
                .unwrap(),
        ));
    let abandoned = tokio::time::timeout(
        Duration::from_millis(50),
        slow.oneshot(
            Request::get("/slow")
                .body(axum::body::Body::empty())
                .unwrap(),
        ),
    )
    .await;
    assert!(abandoned.is_err());
    let seen = recorded.changes();
    assert_eq!(
        seen.counter(
            REQUESTS_TOTAL,
            &[("method", "GET"), ("route", "/slow"), ("status", "499")]
        ),
        1
    );

    // Lines the writer had no room for are counted as dropped.
    let (entered, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let writer = LogWriter::new(
        Blocking {
            entered: Some(entered.clone()),
            release: release.clone(),
        },
        1,
    )
    .unwrap();
    writer.write_line(b"first\n".to_vec());
    // The writer holds the first line; the queue (one line) is empty.
    entered.wait();
    for _ in 0..4 {
        writer.write_line(b"more\n".to_vec());
    }
    release.wait();
    let seen = recorded.changes();
    // One more line fitted in the queue; three were dropped.
    assert_eq!(seen.counter(edge_log::metrics::DROPPED_LINES_TOTAL, &[]), 3);
}

/// A sink whose first write waits until the test lets it go.
struct Blocking {
    entered: Option<Arc<Barrier>>,
    release: Arc<Barrier>,
}

impl std::io::Write for Blocking {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(entered) = self.entered.take() {
            entered.wait();
            self.release.wait();
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
