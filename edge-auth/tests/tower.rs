//! The tower layer: 401 with a challenge, identity for the handler, public routes.

mod common;

use std::convert::Infallible;

use common::*;
use edge_auth::tower::AuthLayer;
use edge_auth::{Identity, ManualClock};
use edge_test_support::jwt::*;
use http::{Request, Response, StatusCode};
use tower::{ServiceBuilder, ServiceExt};

fn service()
-> impl tower::Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone {
    ServiceBuilder::new()
        .layer(AuthLayer::new(validator(ManualClock::new(NOW * 1000))))
        .service_fn(|req: Request<String>| async move {
            let who = req
                .extensions()
                .get::<Identity>()
                .map(|i| i.subject().to_owned());
            Ok::<_, Infallible>(Response::new(who.unwrap_or_else(|| "anonymous".to_owned())))
        })
}

fn request(path: &str, authorization: Option<String>) -> Request<String> {
    let mut builder = Request::get(path);
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(String::new()).unwrap()
}

#[tokio::test]
async fn valid_tokens_reach_the_handler_with_an_identity() {
    let response = service()
        .oneshot(request(
            "/private",
            Some(format!("bearer {}", valid_token())),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "42");
    // Left on the response too, for an outer access log to read.
    let identity = response
        .extensions()
        .get::<Identity>()
        .expect("the identity");
    assert_eq!(identity.subject(), "42");
}

#[tokio::test]
async fn the_subject_is_recorded_in_the_request_span() {
    use tracing::Instrument;
    let fields = edge_test_support::spans::RecordedFields::default();
    let _guard = tracing::subscriber::set_default(fields.subscriber());
    let span = tracing::info_span!("request", user = tracing::field::Empty);
    let request = request("/private", Some(format!("Bearer {}", valid_token())));
    let response = service().oneshot(request).instrument(span).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(fields.get(edge_auth::SPAN_FIELD).as_deref(), Some("42"));
}

#[tokio::test]
async fn public_routes_pass_without_a_token() {
    let response = service().oneshot(request("/public", None)).await.unwrap();
    assert_eq!(response.body(), "anonymous");
}

#[tokio::test]
async fn rejections_are_401_problems_with_a_challenge() {
    let response = service().oneshot(request("/private", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"edge\""
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    for (name, token) in hostile_tokens() {
        let response = service()
            .oneshot(request("/private", Some(format!("Bearer {token}"))))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        // invalid_token, or invalid_request for credentials that are not even a token68.
        assert!(
            challenge.contains("error=\"invalid_"),
            "{name}: {challenge}"
        );
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["code"], "unauthorized", "{name}");
    }
}
