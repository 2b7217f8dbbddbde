//! The actix-web middleware: one line per request with the fields the stack
//! recorded, request ids in and out.

mod common;

use actix_web::{App, HttpResponse, test, web};
use common::{TestLog, assert_every_field, record_like_the_other_layers, subscriber};
use edge_log::actix::AccessLogger;

async fn handler() -> HttpResponse {
    record_like_the_other_layers();
    HttpResponse::Ok().body("hello, world")
}

#[actix_rt::test]
async fn one_line_per_request_with_every_field() {
    let _guard = subscriber();
    let log = TestLog::new();
    let app = test::init_service(
        App::new()
            .route("/items/{id}", web::get().to(handler))
            .wrap(AccessLogger::new(log.log.clone())),
    )
    .await;
    let request = test::TestRequest::get()
        .uri("/items/7?token=secret")
        .insert_header(("user-agent", "tester/1.0"))
        .insert_header(("x-request-id", "client-id-1"))
        .peer_addr("10.1.2.3:4567".parse().unwrap())
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(
        response.headers().get("x-request-id").unwrap(),
        "client-id-1"
    );
    assert_eq!(test::read_body(response).await, "hello, world");
    let missing =
        test::call_service(&app, test::TestRequest::get().uri("/nope").to_request()).await;
    assert_eq!(missing.status(), 404);
    drop(missing);

    let lines = log.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let line = &lines[0];
    assert_every_field(line);
    assert_eq!(line["request_id"], "client-id-1");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["path"], "/items/7", "no query in the log");
    assert_eq!(line["status"], 200);
    assert!(line["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(line["client_ip"], "10.1.2.3");
    assert_eq!(line["user"], "alice");
    assert_eq!(
        line["ratelimit"],
        serde_json::json!({"policy": "ip", "limit": 10, "remaining": 9})
    );
    assert_eq!(line["cache"], "miss");
    assert_eq!(line["db_queries"], 2);
    assert_eq!(line["bytes"], 12);
    assert_eq!(line["user_agent"], "tester/1.0");
    assert_every_field(&lines[1]);
    assert_eq!(lines[1]["status"], 404);
    assert_eq!(lines[1]["user"], serde_json::Value::Null);
}

#[actix_rt::test]
async fn hostile_request_ids_are_replaced() {
    let _guard = subscriber();
    let log = TestLog::new();
    let app = test::init_service(
        App::new()
            .route("/", web::get().to(|| async { "ok" }))
            .wrap(AccessLogger::new(log.log.clone())),
    )
    .await;
    let huge = "x".repeat(10 * 1024);
    for hostile in [huge.as_str(), "<script>", "\"quoted\"", "a b", "id;drop"] {
        let request = test::TestRequest::get()
            .uri("/")
            .insert_header(("x-request-id", hostile))
            .to_request();
        let response = test::call_service(&app, request).await;
        let echoed = response
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(echoed, hostile);
        assert_eq!(echoed.len(), 36, "{echoed}");
    }
    let request = test::TestRequest::get().uri("/").to_request();
    let generated = test::call_service(&app, request).await;
    let id = generated
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    drop(generated);
    let lines = log.lines();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[5]["request_id"], id.as_str());
    assert!(
        lines
            .iter()
            .all(|l| l["request_id"].as_str().unwrap().len() == 36)
    );
}

/// What an inner layer leaves in the response extensions (edge-ratelimit's
/// `RateLimitState`, edge-cache's `CacheStatus`, ... in a real stack).
#[derive(Clone)]
struct Served(&'static str);

#[actix_rt::test]
async fn fields_come_from_extensions_without_any_subscriber() {
    use actix_web::HttpMessage;
    // No `FieldsLayer`: the span records nothing, the hook fills everything.
    let log = TestLog::new();
    let app = test::init_service(
        App::new()
            .route(
                "/",
                web::get().to(|request: actix_web::HttpRequest| async move {
                    request.extensions_mut().insert(String::from("bob"));
                    let mut response = HttpResponse::Ok().body("ok");
                    response.extensions_mut().insert(Served("hit"));
                    response
                }),
            )
            .wrap(
                AccessLogger::new(log.log.clone()).fields_from(|request, response, fields| {
                    fields.user = request.extensions().get::<String>().cloned();
                    fields.cache = response.get::<Served>().map(|s| s.0.to_owned());
                    fields.db_queries = Some(3);
                    fields.ratelimit = Some(edge_log::RateLimitField {
                        policy: "user".to_owned(),
                        limit: 5,
                        remaining: 4,
                    });
                }),
            ),
    )
    .await;
    let response = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(test::read_body(response).await, "ok");
    let lines = log.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_every_field(&lines[0]);
    assert_eq!(lines[0]["user"], "bob");
    assert_eq!(lines[0]["cache"], "hit");
    assert_eq!(lines[0]["db_queries"], 3);
    assert_eq!(lines[0]["ratelimit"]["policy"], "user");
    assert_eq!(lines[0]["ratelimit"]["remaining"], 4);
}
