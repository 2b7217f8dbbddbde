//! A backend that counts its calls, and helpers to send requests through a cache.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use edge_cache::tower::{CacheBody, ResponseCacheLayer};
use edge_cache::{Cache, Route};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};

#[cfg(feature = "redis")]
pub mod shared;

/// What the backend has done and what it serves.
#[derive(Debug, Default)]
pub struct Backend {
    pub calls: AtomicUsize,
    pub version: AtomicU64,
}

impl Backend {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A JSON body of about `n` bytes.
pub fn big_json(n: usize) -> String {
    let words = "lorem ipsum dolor sit amet ".repeat(n / 27 + 1);
    format!("{{\"text\":\"{}\"}}", &words[..n])
}

pub type Svc =
    BoxCloneSyncService<Request<Full<Bytes>>, Response<CacheBody<Full<Bytes>>>, Infallible>;

/// The routes most tests use.
pub fn routes() -> edge_cache::CacheBuilder {
    Cache::builder()
        .unlisted(edge_cache::Unlisted::All)
        .compress_uncached(true)
        .default_ttl(Duration::from_secs(30))
        .route(Route::new("/items/{id}").invalidates("/items"))
        .route(Route::new("/items"))
        .route(Route::new("/lang").vary("accept-language"))
        .route(Route::new("/shared").share_authorized())
        .route(Route::new("/opted-out").no_store())
}

async fn handle(backend: Arc<Backend>, request: Request<Full<Bytes>>) -> Response<Full<Bytes>> {
    backend.calls.fetch_add(1, Ordering::SeqCst);
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let json = |status: StatusCode, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    if method != Method::GET && method != Method::HEAD {
        if request.headers().contains_key("x-fail") {
            return json(StatusCode::BAD_REQUEST, "{\"error\":\"bad\"}".into());
        }
        backend.version.fetch_add(1, Ordering::SeqCst);
        return json(StatusCode::OK, "{\"ok\":true}".into());
    }
    let version = backend.version.load(Ordering::SeqCst);
    match path.as_str() {
        "/big" | "/shared-big" => json(StatusCode::OK, big_json(4096)),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(150)).await;
            json(StatusCode::OK, format!("{{\"slow\":{version}}}"))
        }
        "/nostore" => {
            let mut r = json(StatusCode::OK, "{}".into());
            r.headers_mut()
                .insert("cache-control", "no-store".parse().unwrap());
            r
        }
        "/public" => {
            let mut r = json(StatusCode::OK, big_json(2048));
            r.headers_mut()
                .insert("cache-control", "public, max-age=60".parse().unwrap());
            r
        }
        "/private" => {
            let mut r = json(StatusCode::OK, "{}".into());
            r.headers_mut()
                .insert("cache-control", "private, max-age=60".parse().unwrap());
            r
        }
        "/short" => {
            let mut r = json(StatusCode::OK, "{}".into());
            r.headers_mut()
                .insert("cache-control", "max-age=5".parse().unwrap());
            r
        }
        "/cookie" => {
            let mut r = json(StatusCode::OK, "{}".into());
            r.headers_mut().insert("set-cookie", "a=b".parse().unwrap());
            r
        }
        "/undeclared-vary" => {
            let mut r = json(StatusCode::OK, "{}".into());
            r.headers_mut().insert("vary", "x-tenant".parse().unwrap());
            r
        }
        "/lang" => {
            let lang = request
                .headers()
                .get("accept-language")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let mut r = json(StatusCode::OK, format!("{{\"lang\":\"{lang}\"}}"));
            r.headers_mut()
                .insert("vary", "Accept-Language".parse().unwrap());
            r
        }
        "/missing" => json(StatusCode::NOT_FOUND, "{}".into()),
        "/race" => {
            // Read, then take a while to answer: a write can commit meanwhile.
            tokio::time::sleep(Duration::from_millis(150)).await;
            json(StatusCode::OK, format!("{{\"version\":{version}}}"))
        }
        _ => json(
            StatusCode::OK,
            format!("{{\"path\":\"{path}\",\"version\":{version}}}"),
        ),
    }
}

/// `cache` in front of a fresh counting backend.
pub fn service(cache: Cache) -> (Svc, Arc<Backend>) {
    let backend = Arc::new(Backend::default());
    (service_with(cache, Arc::clone(&backend)), backend)
}

/// `cache` in front of `backend` (shared by several instances).
pub fn service_with(cache: Cache, backend: Arc<Backend>) -> Svc {
    let state = backend;
    let svc = ServiceBuilder::new()
        .layer(ResponseCacheLayer::new(cache))
        .service_fn(move |request| {
            let state = Arc::clone(&state);
            async move { Ok::<_, Infallible>(handle(state, request).await) }
        });
    BoxCloneSyncService::new(svc)
}

/// A response, its body read.
#[derive(Debug)]
pub struct Got {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Got {
    pub fn x_cache(&self) -> &str {
        self.headers
            .get("x-cache")
            .map(|v| v.to_str().unwrap())
            .unwrap_or("(none)")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The body, gunzipped when encoded.
    pub fn text(&self) -> String {
        if self.header("content-encoding") == Some("gzip") {
            let mut out = String::new();
            flate2::read::GzDecoder::new(&self.body[..])
                .read_to_string(&mut out)
                .unwrap();
            out
        } else {
            String::from_utf8(self.body.to_vec()).unwrap()
        }
    }
}

pub async fn send(svc: &Svc, method: &str, uri: &str, headers: &[(&str, &str)]) -> Got {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = svc
        .clone()
        .oneshot(request.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    Got {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

pub async fn get(svc: &Svc, uri: &str) -> Got {
    send(svc, "GET", uri, &[]).await
}

/// Poll until `done` or fail after two seconds.
pub async fn eventually(what: &str, done: impl AsyncFnMut() -> bool) {
    eventually_within(what, Duration::from_secs(2), done).await;
}

/// Poll until `done` or fail after `within`.
pub async fn eventually_within(what: &str, within: Duration, mut done: impl AsyncFnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done().await {
        assert!(start.elapsed() < within, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
