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
        // No schema on this route: other media types pass on, inspected as
        // text or form fields (binary bodies are held to the size limit only).
        assert_eq!(
            test::call_service(&app, post("plain words", "text/plain"))
                .await
                .status(),
            200
        );
        let text_attack =
            test::call_service(&app, post("<script>alert(1)</script>", "text/plain")).await;
        assert_eq!(text_attack.status(), expected, "{mode:?}");
        let form_attack = test::call_service(
            &app,
            post(
                "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                "application/x-www-form-urlencoded",
            ),
        )
        .await;
        assert_eq!(form_attack.status(), expected, "{mode:?}");
        assert_eq!(
            test::call_service(&app, post("\u{0}<script>", "application/grpc"))
                .await
                .status(),
            200,
            "binary bodies are not inspected"
        );
    }
}
