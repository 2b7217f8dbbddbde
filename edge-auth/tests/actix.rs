//! The actix-web middleware and extractor.

mod common;

use actix_web::{App, HttpResponse, test, web};
use common::*;
use edge_auth::actix::Auth;
use edge_auth::{Identity, ManualClock};
use edge_test_support::jwt::*;

async fn me(who: Identity) -> HttpResponse {
    HttpResponse::Ok().body(who.subject().to_owned())
}

async fn admin_only(who: Identity) -> Result<HttpResponse, edge_auth::AuthError> {
    who.require_role("admin")?;
    Ok(HttpResponse::Ok().finish())
}

#[actix_rt::test]
async fn authenticates_rejects_and_authorizes() {
    let app = test::init_service(
        App::new()
            .wrap(Auth::new(validator(ManualClock::new(NOW * 1000))))
            .route("/me", web::get().to(me))
            .route("/admin", web::get().to(admin_only))
            .route("/public", web::get().to(|| async { "open" }))
            .route("/public/me", web::get().to(me)),
    )
    .await;
    let get = |path: &str, auth: Option<String>| {
        let mut req = test::TestRequest::get().uri(path);
        if let Some(auth) = auth {
            req = req.insert_header(("Authorization", auth));
        }
        req.to_request()
    };

    let response =
        test::call_service(&app, get("/me", Some(format!("Bearer {}", valid_token())))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(test::read_body(response).await, "42");

    let response = test::call_service(&app, get("/me", None)).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers().get("www-authenticate").unwrap(),
        "Bearer realm=\"edge\""
    );
    assert!(
        response
            .response()
            .extensions()
            .get::<edge_auth::AuthError>()
            .is_some()
    );

    for (name, token) in hostile_tokens() {
        let response = test::call_service(&app, get("/me", Some(format!("Bearer {token}")))).await;
        assert_eq!(response.status(), 401, "{name}");
    }

    let response = test::call_service(
        &app,
        get("/admin", Some(format!("Bearer {}", valid_token()))),
    )
    .await;
    assert_eq!(response.status(), 403);

    let response = test::call_service(&app, get("/public", None)).await;
    assert_eq!(response.status(), 200);
    // The middleware let /public through, so a handler wanting an identity gets 401.
    let response = test::call_service(&app, get("/public/me", None)).await;
    assert_eq!(response.status(), 401);
}
