//! One set of cases through both adapters: the tower layer and the actix-web
//! middleware must answer every request with the same status, challenge,
//! content type and body.

mod common;

use std::convert::Infallible;

use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, test, web};
use common::validator;
use edge_auth::{Identity, ManualClock};
use edge_test_support::jwt::{NOW, hostile_tokens, valid_token};
use http::{Request, Response};
use tower::{ServiceBuilder, ServiceExt};

/// Path and `Authorization` value.
type Case = (&'static str, Option<String>);

/// Status, `WWW-Authenticate`, content type, body.
type Seen = (u16, Option<String>, Option<String>, String);

fn cases() -> Vec<Case> {
    let mut cases = vec![
        ("/private", Some(format!("Bearer {}", valid_token()))),
        ("/private", Some(format!("bearer {}", valid_token()))),
        ("/private", None),
        ("/private", Some("Bearer".to_owned())),
        ("/private", Some("Basic Z2luYTpwdw==".to_owned())),
        ("/public", None),
        ("/public", Some("Bearer not-a-token".to_owned())),
    ];
    cases.extend(
        hostile_tokens()
            .into_iter()
            .map(|(_, token)| ("/private", Some(format!("Bearer {token}")))),
    );
    cases
}

fn header(value: Option<&http::HeaderValue>) -> Option<String> {
    value.map(|v| v.to_str().unwrap().to_owned())
}

async fn through_tower(cases: &[Case]) -> Vec<Seen> {
    let service = ServiceBuilder::new()
        .layer(edge_auth::tower::AuthLayer::new(validator(
            ManualClock::new(NOW * 1000),
        )))
        .service_fn(|request: Request<String>| async move {
            let who = request
                .extensions()
                .get::<Identity>()
                .map_or_else(|| "anonymous".to_owned(), |i| i.subject().to_owned());
            Ok::<_, Infallible>(Response::new(who))
        });
    let mut seen = Vec::new();
    for (path, authorization) in cases {
        let mut request = Request::get(*path);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = service
            .clone()
            .oneshot(request.body(String::new()).unwrap())
            .await
            .unwrap();
        let problem = header(response.headers().get("content-type"));
        seen.push((
            response.status().as_u16(),
            header(response.headers().get("www-authenticate")),
            problem,
            response.into_body(),
        ));
    }
    seen
}

async fn through_actix(cases: &[Case]) -> Vec<Seen> {
    let app = test::init_service(
        App::new()
            .wrap(edge_auth::actix::Auth::new(validator(ManualClock::new(
                NOW * 1000,
            ))))
            .default_service(web::to(|request: HttpRequest| async move {
                let who = request
                    .extensions()
                    .get::<Identity>()
                    .map_or_else(|| "anonymous".to_owned(), |i| i.subject().to_owned());
                HttpResponse::Ok().body(who)
            })),
    )
    .await;
    let mut seen = Vec::new();
    for (path, authorization) in cases {
        let mut request = test::TestRequest::get().uri(path);
        if let Some(value) = authorization {
            request = request.insert_header(("authorization", value.as_str()));
        }
        let response = test::call_service(&app, request.to_request()).await;
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        // actix-web labels plain-text bodies itself; compare the problem bodies' type.
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .filter(|v| v.starts_with("application/problem+json"));
        let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
        seen.push((status, challenge, content_type, body));
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
    let statuses: std::collections::BTreeSet<u16> = tower.iter().map(|s| s.0).collect();
    assert_eq!(statuses.into_iter().collect::<Vec<_>>(), [200, 401]);
}
