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

#[tokio::test]
async fn roles_come_from_a_claim_path_and_claims_read_as_a_type() {
    #[derive(serde::Deserialize)]
    struct Keycloak {
        preferred_username: String,
    }
    let validator = edge_auth::Validator::builder("edge")
        .hmac_secret(SECRET)
        .role_claim("realm_access.roles")
        .clock(ManualClock::new(NOW * 1000))
        .build()
        .unwrap();
    let claims = with(
        with(
            claims(),
            "realm_access",
            serde_json::json!({"roles": ["reader", "auditor"]}),
        ),
        "preferred_username",
        "ada".into(),
    );
    let token = sign(
        &serde_json::json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        SECRET,
    );
    let identity = validator.validate(&token).unwrap();
    assert_eq!(identity.roles(), ["reader", "auditor"]);
    assert!(identity.has_role("auditor") && !identity.has_role("admin"));
    assert!(identity.require_role("admin").is_err());
    let typed: Keycloak = identity.claims_as().unwrap();
    assert_eq!(typed.preferred_username, "ada");
}

#[tokio::test]
async fn a_token_cookie_is_read_only_when_configured_and_no_header_came() {
    let with_cookie = edge_auth::Validator::builder("edge")
        .hmac_secret(SECRET)
        .token_cookie("access_token")
        .clock(ManualClock::new(NOW * 1000))
        .build()
        .unwrap();
    let serve = |validator: edge_auth::Validator| {
        ServiceBuilder::new()
            .layer(AuthLayer::new(validator))
            .service_fn(|req: Request<String>| async move {
                let who = req
                    .extensions()
                    .get::<Identity>()
                    .map(|i| i.subject().to_owned());
                Ok::<_, Infallible>(Response::new(who.unwrap_or_default()))
            })
    };
    let cookie = |value: String| {
        Request::get("/private")
            .header(
                "cookie",
                format!("theme=dark; access_token={value}; lang=en"),
            )
            .body(String::new())
            .unwrap()
    };
    let response = serve(with_cookie.clone())
        .oneshot(cookie(valid_token()))
        .await
        .unwrap();
    assert_eq!(
        (response.status(), response.body().as_str()),
        (StatusCode::OK, "42")
    );
    // A forged cookie is a bad token, not a missing one.
    let forged = serve(with_cookie.clone())
        .oneshot(cookie("a.b.c".into()))
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // An Authorization header wins over the cookie.
    let mut both = cookie(valid_token());
    both.headers_mut()
        .insert("authorization", "Bearer x.y.z".parse().unwrap());
    assert_eq!(
        serve(with_cookie).oneshot(both).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // Without the setting, cookies are never read.
    let plain = validator(ManualClock::new(NOW * 1000));
    let ignored = serve(plain).oneshot(cookie(valid_token())).await.unwrap();
    assert_eq!(ignored.status(), StatusCode::UNAUTHORIZED);
}
