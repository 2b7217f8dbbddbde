//! One set of cases through both adapters: the tower layer and the actix-web
//! middleware must answer every request with the same status, the same
//! rate-limit headers and the same body.

use std::convert::Infallible;
use std::net::SocketAddr;

use actix_web::{App, HttpMessage, HttpResponse, test, web};
use edge_ratelimit::{KeyKind, ManualClock, Policy, RateLimiter, Scope};
use http::{Request, Response};
use tower::{ServiceBuilder, ServiceExt};

/// The authenticated caller, as an auth layer would leave it.
#[derive(Clone)]
struct User(String);

impl edge_ratelimit::Subject for User {
    fn subject(&self) -> &str {
        &self.0
    }
}

/// One request: method, peer, authenticated subject.
type Case = (&'static str, &'static str, Option<&'static str>);

/// What a response is compared by.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

const COMPARED: [&str; 8] = [
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit",
    "ratelimit-policy",
    "retry-after",
    "content-type",
    "x-handler",
];

fn limiter() -> RateLimiter {
    RateLimiter::builder()
        .policy(Policy::new("ip", "4/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .policy(Policy::new("user", "3/1m".parse().unwrap(), KeyKind::Subject).unwrap())
        .policy(
            Policy::new("writes", "2/1m".parse().unwrap(), KeyKind::SubjectOrIp)
                .unwrap()
                .scope(Scope::Writes),
        )
        .clock(ManualClock::new(1_800_000_000_000))
        .build()
        .unwrap()
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // An anonymous client up to and past its IP limit, writes limited sooner.
    cases.extend([("GET", "192.0.2.1:1", None); 2]);
    cases.extend([("POST", "192.0.2.1:1", None); 3]);
    // A user (per-user and per-IP limits together) and another address.
    cases.extend([("GET", "192.0.2.2:1", Some("alice")); 4]);
    cases.extend([("DELETE", "192.0.2.3:1", Some("bob")); 3]);
    cases
}

fn seen(status: u16, headers: impl Iterator<Item = (String, String)>, body: String) -> Seen {
    let mut headers: Vec<(String, String)> = headers
        .filter(|(name, _)| COMPARED.contains(&name.as_str()))
        .collect();
    headers.sort();
    Seen {
        status,
        headers,
        body,
    }
}

async fn through_tower(cases: &[Case]) -> Vec<Seen> {
    let service = ServiceBuilder::new()
        .layer(edge_ratelimit::tower::RateLimitingLayer::new(limiter()).subject::<User>())
        .service_fn(|_: Request<String>| async {
            let mut response = Response::new(String::from("handled"));
            response
                .headers_mut()
                .insert("x-handler", http::HeaderValue::from_static("yes"));
            Ok::<_, Infallible>(response)
        });
    let mut seen_all = Vec::new();
    for (method, peer, subject) in cases {
        let mut request = Request::builder()
            .method(*method)
            .uri("/items")
            .body(String::new())
            .unwrap();
        request
            .extensions_mut()
            .insert(peer.parse::<SocketAddr>().unwrap());
        if let Some(subject) = subject {
            request.extensions_mut().insert(User((*subject).to_owned()));
        }
        let response = service.clone().oneshot(request).await.unwrap();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect::<Vec<_>>();
        seen_all.push(seen(
            response.status().as_u16(),
            headers.into_iter(),
            response.into_body(),
        ));
    }
    seen_all
}

async fn through_actix(cases: &[Case]) -> Vec<Seen> {
    let app = test::init_service(
        App::new()
            .wrap(edge_ratelimit::actix::RateLimiting::new(limiter()).subject::<User>())
            .default_service(web::to(|| async {
                HttpResponse::Ok()
                    .insert_header(("x-handler", "yes"))
                    .body("handled")
            })),
    )
    .await;
    let mut seen_all = Vec::new();
    for (method, peer, subject) in cases {
        let request = test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri("/items")
            .peer_addr(peer.parse().unwrap())
            .to_request();
        if let Some(subject) = subject {
            request.extensions_mut().insert(User((*subject).to_owned()));
        }
        let response = test::call_service(&app, request).await;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect::<Vec<_>>();
        let body = test::read_body(response).await;
        seen_all.push(seen(
            status,
            headers.into_iter(),
            String::from_utf8(body.to_vec()).unwrap(),
        ));
    }
    seen_all
}

#[actix_rt::test]
async fn tower_and_actix_answer_every_case_alike() {
    let cases = cases();
    let (tower, actix) = (through_tower(&cases).await, through_actix(&cases).await);
    assert_eq!(tower.len(), cases.len());
    for ((case, tower), actix) in cases.iter().zip(&tower).zip(&actix) {
        assert_eq!(tower, actix, "{case:?}");
    }
    // The cases do cover both outcomes.
    let statuses: Vec<u16> = tower.iter().map(|s| s.status).collect();
    assert!(
        statuses.contains(&200) && statuses.contains(&429),
        "{statuses:?}"
    );
}
