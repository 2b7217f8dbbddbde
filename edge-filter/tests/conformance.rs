//! One set of cases through both adapters: the tower layer and the actix-web
//! middleware must answer every request with the same status, content type and
//! body (the handler echoes what passed).

use std::convert::Infallible;

use actix_web::{App, HttpResponse, test, web};
use bytes::Bytes;
use edge_filter::Filter;
use edge_filter::routes::{Param, Route, Routes};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};

/// Method, path and query, content type, body.
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
);

fn filter() -> Filter {
    let routes = Routes::new()
        .route(
            Route::new("GET", "/items/{id}")
                .unwrap()
                .param(Param::path("id").integer(1, 1000)),
        )
        .route(
            Route::new("POST", "/items")
                .unwrap()
                .schema(&json!({
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string", "maxLength": 10}},
                    "additionalProperties": false
                }))
                .unwrap(),
        );
    Filter::builder()
        .max_body(256)
        .routes(routes)
        .build()
        .unwrap()
}

fn cases() -> Vec<Case> {
    vec![
        ("GET", "/items/7", None, ""),
        ("GET", "/items/07", None, ""),
        ("GET", "/items/5000", None, ""),
        ("GET", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E", None, ""),
        ("GET", "/files/..%2F..%2Fetc%2Fpasswd", None, ""),
        ("POST", "/items", Some("application/json"), r#"{"name":"widget"}"#),
        ("POST", "/items", Some("application/json"), r#"{"name":"much too long a name"}"#),
        ("POST", "/items", Some("application/json"), r#"{"name":"#),
        ("POST", "/items", Some("text/plain"), r#"{"name":"widget"}"#),
        // Routes without a schema take other media types, inspected as text or form.
        ("POST", "/notes", Some("text/plain"), "a note"),
        ("POST", "/notes", Some("text/plain"), "<script>alert(1)</script>"),
        ("POST", "/notes", Some("application/x-www-form-urlencoded"), "a=1&b=%27%20OR%201%3D1%20--"),
        ("POST", "/notes", Some("application/octet-stream"), "<script>alert(1)</script>"),
        ("POST", "/items", Some("application/json"), r#"{"name":"' OR 1=1 --"}"#),
        ("POST", "/items", None, ""),
        ("POST", "/items", Some("application/json"), ""),
        ("POST", "/notes", Some("application/json"), ""),
    ]
    .into_iter()
    .chain(std::iter::once((
        "POST",
        "/items",
        Some("application/json"),
        // Over the 256-byte limit.
        r#"{"name":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#,
    )))
    .collect()
}

/// Status, content type and body of one answer.
type Seen = (u16, Option<String>, String);

async fn through_tower(cases: &[Case]) -> Vec<Seen> {
    let service = ServiceBuilder::new()
        .layer(edge_filter::tower::RequestFilterLayer::new(filter()))
        .service_fn(|request: Request<Full<Bytes>>| async move {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            let text = format!("passed: {}", String::from_utf8_lossy(&body));
            Ok::<_, Infallible>(Response::new(text))
        });
    let mut seen = Vec::new();
    for (method, uri, content_type, body) in cases {
        let mut request = Request::builder().method(*method).uri(*uri);
        if let Some(content_type) = content_type {
            request = request.header("content-type", *content_type);
        }
        let request = request
            .header("content-length", body.len())
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        seen.push((
            response.status().as_u16(),
            content_type,
            response.into_body(),
        ));
    }
    seen
}

async fn through_actix(cases: &[Case]) -> Vec<Seen> {
    let app = test::init_service(
        App::new()
            .wrap(edge_filter::actix::RequestFilter::new(filter()))
            .default_service(web::to(|body: web::Bytes| async move {
                HttpResponse::Ok().body(format!("passed: {}", String::from_utf8_lossy(&body)))
            })),
    )
    .await;
    let mut seen = Vec::new();
    for (method, uri, content_type, body) in cases {
        let mut request = test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(uri);
        if let Some(content_type) = content_type {
            request = request.insert_header(("content-type", *content_type));
        }
        let response =
            test::call_service(&app, request.set_payload(body.as_bytes()).to_request()).await;
        let status = response.status().as_u16();
        // actix-web labels plain-text bodies itself; compare what the filter decides.
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .filter(|v| v.starts_with("application/problem+json"));
        let body = test::read_body(response).await;
        seen.push((
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        ));
    }
    seen
}

#[actix_rt::test]
async fn tower_and_actix_answer_every_case_alike() {
    let cases = cases();
    let (tower, actix) = (through_tower(&cases).await, through_actix(&cases).await);
    for ((case, tower), actix) in cases.iter().zip(&tower).zip(&actix) {
        assert_eq!(tower, actix, "{case:?}");
    }
    let mut statuses: Vec<u16> = tower.iter().map(|s| s.0).collect();
    statuses.sort_unstable();
    statuses.dedup();
    assert_eq!(
        statuses,
        [200, 400, 403, 413, 415, 422],
        "every outcome is covered"
    );
}

#[actix_rt::test]
async fn an_empty_body_labelled_json_is_malformed_json_and_an_unlabelled_one_is_missing() {
    let cases: Vec<Case> = vec![
        ("POST", "/items", Some("application/json"), ""),
        (
            "POST",
            "/items",
            Some("application/merge-patch+json; charset=utf-8"),
            "",
        ),
        ("POST", "/items", None, ""),
        // A route without a schema takes an empty body, labelled or not.
        ("POST", "/notes", Some("application/json"), ""),
    ];
    for seen in [through_tower(&cases).await, through_actix(&cases).await] {
        let statuses: Vec<u16> = seen.iter().map(|s| s.0).collect();
        assert_eq!(statuses, [400, 400, 422, 200]);
        assert!(
            seen[0].2.contains(r#""code":"invalid_json""#),
            "{}",
            seen[0].2
        );
        assert!(
            seen[2].2.contains("a JSON body is required"),
            "{}",
            seen[2].2
        );
    }
}
