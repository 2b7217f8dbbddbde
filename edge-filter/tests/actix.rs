//! The actix-web middleware outside the reference API: checks and intact bodies.

use actix_web::{App, HttpResponse, test, web};
use edge_filter::actix::RequestFilter;
use edge_filter::{Filter, Mode};

async fn echo(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().body(body)
}

#[actix_rt::test]
async fn checks_and_passes_bodies_on() {
    for mode in [Mode::Block, Mode::DetectOnly] {
        let filter = Filter::builder().max_body(1024).mode(mode).build().unwrap();
        let app = test::init_service(
            App::new()
                .wrap(RequestFilter::new(filter))
                .route("/", web::post().to(echo)),
        )
        .await;
        let post = |body: &str, content_type: &str| {
            test::TestRequest::post()
                .uri("/")
                .insert_header(("content-type", content_type))
                .set_payload(body.to_owned())
                .to_request()
        };
        let response =
            test::call_service(&app, post(r#"{"a":"rock & roll"}"#, "application/json")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(test::read_body(response).await, r#"{"a":"rock & roll"}"#);
        let attack = test::call_service(
            &app,
            post(r#"{"a":"<script>alert(1)</script>"}"#, "application/json"),
        )
        .await;
        let expected = if mode == Mode::Block { 403 } else { 200 };
        assert_eq!(attack.status(), expected, "{mode:?}");
        assert_eq!(
            test::call_service(&app, post(&"x".repeat(2000), "application/json"))
                .await
                .status(),
            413
        );
        assert_eq!(
            test::call_service(&app, post("{}", "text/plain"))
                .await
                .status(),
            415
        );
    }
}
