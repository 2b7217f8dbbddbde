//! The filter's metrics, read back through a debugging recorder: findings by
//! category and action, rejections by reason, each moving exactly as the
//! requests sent.

use std::convert::Infallible;

use bytes::Bytes;
use edge_filter::metrics::{FINDINGS_TOTAL, REJECTIONS_TOTAL};
use edge_filter::routes::{Param, Route, Routes};
use edge_filter::{Filter, Mode};
use edge_test_support::metrics::Recorded;
use http::{Request, Response};
use http_body_util::Full;
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};

fn filter(mode: Mode) -> Filter {
    let routes = Routes::new()
        .route(
            Route::new("GET", "/items/{id}")
                .unwrap()
                .param(Param::path("id").integer(1, 1000)),
        )
        .route(
            Route::new("POST", "/items")
                .unwrap()
                .schema(&json!({"type": "object", "required": ["name"]}))
                .unwrap(),
        );
    Filter::builder()
        .mode(mode)
        .max_body(64)
        .routes(routes)
        .build()
        .unwrap()
}

async fn send(
    filter: &Filter,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: &'static str,
) -> u16 {
    let service = ServiceBuilder::new()
        .layer(edge_filter::tower::RequestFilterLayer::new(filter.clone()))
        .service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let request = request
        .header("content-length", body.len())
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    service.oneshot(request).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn findings_and_rejections_are_counted() {
    let recorded = Recorded::install();
    edge_filter::metrics::describe();
    let blocking = filter(Mode::Block);
    let attack = "/search?q=%3Cscript%3Ealert(1)%3C/script%3E";
    assert_eq!(send(&blocking, "GET", attack, None, "").await, 403);
    assert_eq!(
        send(
            &blocking,
            "GET",
            "/search?q=1%20UNION%20SELECT%20password%20FROM%20users",
            None,
            ""
        )
        .await,
        403
    );
    assert_eq!(send(&blocking, "GET", "/items/0", None, "").await, 400);
    assert_eq!(
        send(&blocking, "POST", "/items", Some("application/json"), "{").await,
        400
    );
    assert_eq!(
        send(&blocking, "POST", "/items", Some("application/json"), "{}").await,
        422
    );
    assert_eq!(
        send(&blocking, "POST", "/items", Some("text/plain"), "x").await,
        415
    );
    assert_eq!(
        send(
            &blocking,
            "POST",
            "/items",
            Some("application/json"),
            r#"{"name":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#
        )
        .await,
        413
    );
    assert_eq!(
        send(
            &blocking,
            "POST",
            "/items",
            Some("application/json"),
            r#"{"name":"ok"}"#
        )
        .await,
        200
    );
    let seen = recorded.changes();
    assert_eq!(
        seen.counter(
            FINDINGS_TOTAL,
            &[("category", "xss"), ("action", "blocked")]
        ),
        1
    );
    assert_eq!(
        seen.counter(
            FINDINGS_TOTAL,
            &[("category", "sql_injection"), ("action", "blocked")]
        ),
        1
    );
    for (reason, count) in [
        ("request_blocked", 2),
        ("invalid_parameter", 1),
        ("invalid_json", 1),
        ("validation_failed", 1),
        ("unsupported_media_type", 1),
        ("payload_too_large", 1),
    ] {
        assert_eq!(
            seen.counter(REJECTIONS_TOTAL, &[("reason", reason)]),
            count,
            "{reason}"
        );
    }
    assert_eq!(
        seen.total(REJECTIONS_TOTAL),
        7,
        "the good request was not counted"
    );

    // Detect-only: the finding is counted as detected, and nothing is refused.
    let detecting = filter(Mode::DetectOnly);
    assert_eq!(send(&detecting, "GET", attack, None, "").await, 200);
    let seen = recorded.changes();
    assert_eq!(
        seen.counter(
            FINDINGS_TOTAL,
            &[("category", "xss"), ("action", "detected")]
        ),
        1
    );
    assert_eq!(seen.total(REJECTIONS_TOTAL), 0);
}
