//! One set of cases through both adapters: the tower layer and the actix-web
//! middleware must answer every request with the same status, cache headers
//! and body, and call the backend as often.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, test, web};
use bytes::Bytes;
use edge_cache::{Cache, ManualClock, Route};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use tower::{ServiceBuilder, ServiceExt};

/// Method, path, request headers.
type Case = (&'static str, &'static str, Vec<(&'static str, String)>);

/// Status, compared headers, body.
type Seen = (u16, Vec<(String, String)>, Vec<u8>);

const COMPARED: [&str; 6] = [
    "x-cache",
    "etag",
    "age",
    "vary",
    "content-encoding",
    "cache-control",
];

/// The backend: a JSON item whose version a write bumps; 2 KiB of it, so gzip applies.
#[derive(Default)]
struct Backend {
    calls: AtomicU64,
    version: AtomicU64,
}

impl Backend {
    fn answer(&self, method: &str) -> (u16, String) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if method == "PUT" {
            self.version.fetch_add(1, Ordering::SeqCst);
            return (200, "{}".to_owned());
        }
        let version = self.version.load(Ordering::SeqCst);
        let padding = "cache me ".repeat(230);
        (
            200,
            format!("{{\"version\":{version},\"text\":\"{padding}\"}}"),
        )
    }
}

fn cache() -> Cache {
    Cache::builder()
        .default_ttl(Duration::from_secs(30))
        .clock(ManualClock::new(1_800_000_000_000))
        .route(Route::new("/items/{id}").invalidates("/items"))
        .build()
        .unwrap()
}

fn cases(etag: &str) -> Vec<Case> {
    let none = Vec::new;
    vec![
        ("GET", "/items/1", none()),
        ("GET", "/items/1", none()),
        (
            "GET",
            "/items/1",
            vec![("accept-encoding", "gzip".to_owned())],
        ),
        ("GET", "/items/1", vec![("if-none-match", etag.to_owned())]),
        ("HEAD", "/items/1", none()),
        (
            "GET",
            "/items/1",
            vec![("cache-control", "no-store".to_owned())],
        ),
        (
            "GET",
            "/items/1",
            vec![("authorization", "Bearer x".to_owned())],
        ),
        ("PUT", "/items/1", none()),
        ("GET", "/items/1", none()),
        ("GET", "/items/1", vec![("if-none-match", etag.to_owned())]),
    ]
}

fn compared(headers: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut headers: Vec<_> = headers
        .filter(|(name, _)| COMPARED.contains(&name.as_str()))
        .collect();
    headers.sort();
    headers
}

async fn through_tower(cases: &[Case]) -> (Vec<Seen>, u64) {
    let backend = Arc::new(Backend::default());
    let calls = Arc::clone(&backend);
    let service = ServiceBuilder::new()
        .layer(edge_cache::tower::ResponseCacheLayer::new(cache()))
        .service_fn(move |request: Request<Full<Bytes>>| {
            let backend = Arc::clone(&backend);
            async move {
                let (status, body) = backend.answer(request.method().as_str());
                let mut response = Response::new(Full::new(Bytes::from(body)));
                *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
                response.headers_mut().insert(
                    "content-type",
                    http::HeaderValue::from_static("application/json"),
                );
                Ok::<_, Infallible>(response)
            }
        });
    let mut seen = Vec::new();
    for (method, path, headers) in cases {
        let mut request = Request::builder().method(*method).uri(*path);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = service
            .clone()
            .oneshot(request.body(Full::new(Bytes::new())).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = compared(
            response
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned())),
        );
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        seen.push((status, headers, body));
    }
    (seen, calls.calls.load(Ordering::SeqCst))
}

async fn through_actix(cases: &[Case]) -> (Vec<Seen>, u64) {
    let backend = Arc::new(Backend::default());
    let calls = Arc::clone(&backend);
    let app = test::init_service(
        App::new()
            .wrap(edge_cache::actix::ResponseCache::new(cache()))
            .default_service(web::to(move |request: HttpRequest| {
                let backend = Arc::clone(&backend);
                async move {
                    let (status, body) = backend.answer(request.method().as_str());
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .content_type("application/json")
                        .body(body)
                }
            })),
    )
    .await;
    let mut seen = Vec::new();
    for (method, path, headers) in cases {
        let mut request = test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(path);
        for (name, value) in headers {
            request = request.insert_header((*name, value.as_str()));
        }
        let response = test::call_service(&app, request.to_request()).await;
        let status = response.status().as_u16();
        let headers = compared(
            response
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned())),
        );
        let body = test::read_body(response).await.to_vec();
        seen.push((status, headers, body));
    }
    (seen, calls.calls.load(Ordering::SeqCst))
}

#[actix_rt::test]
async fn tower_and_actix_answer_every_case_alike() {
    // The first version's ETag, from a throwaway run, for the conditional cases.
    let (probe, _) = through_tower(&cases("\"unknown\"")[..1]).await;
    let etag = probe[0]
        .1
        .iter()
        .find(|(name, _)| name == "etag")
        .map(|(_, value)| value.clone())
        .unwrap();
    let cases = cases(&etag);
    let ((tower, tower_calls), (actix, actix_calls)) =
        (through_tower(&cases).await, through_actix(&cases).await);
    for ((case, tower), actix) in cases.iter().zip(&tower).zip(&actix) {
        assert_eq!(tower, actix, "{case:?}");
    }
    assert_eq!(tower_calls, actix_calls, "the backend was called as often");
    let statuses: std::collections::BTreeSet<u16> = tower.iter().map(|s| s.0).collect();
    assert_eq!(statuses.into_iter().collect::<Vec<_>>(), [200, 304]);
}
