//! The actix-web middleware: hits, 304s, gzip, invalidation, bypasses, streams.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use edge_cache::actix::ResponseCache;
use edge_cache::{Cache, CacheStatus, Route};

#[derive(Default)]
struct Counts {
    calls: AtomicU64,
    version: AtomicU64,
}

fn big() -> String {
    format!("{{\"text\":\"{}\"}}", "all work and no play ".repeat(200))
}

macro_rules! app {
    ($cache:expr, $counts:expr) => {{
        let counts: Arc<Counts> = $counts;
        let (c1, c2, c3) = (counts.clone(), counts.clone(), counts.clone());
        test::init_service(
            App::new()
                .wrap(ResponseCache::new($cache))
                .route(
                    "/items/{id}",
                    web::get().to(move || {
                        let c = c1.clone();
                        async move {
                            c.calls.fetch_add(1, Ordering::SeqCst);
                            let v = c.version.load(Ordering::SeqCst);
                            HttpResponse::Ok().json(serde_json::json!({ "version": v }))
                        }
                    }),
                )
                .route(
                    "/items/{id}",
                    web::put().to(move || {
                        let c = c2.clone();
                        async move {
                            c.version.fetch_add(1, Ordering::SeqCst);
                            HttpResponse::Ok().finish()
                        }
                    }),
                )
                .route(
                    "/big",
                    web::get().to(move || {
                        let c = c3.clone();
                        async move {
                            c.calls.fetch_add(1, Ordering::SeqCst);
                            HttpResponse::Ok().content_type("application/json").body(big())
                        }
                    }),
                )
                .route(
                    "/stream",
                    web::get().to(|| async {
                        let chunks = futures_util::stream::iter(
                            ["a", "b"].map(|s| Ok::<_, std::io::Error>(web::Bytes::from(s))),
                        );
                        HttpResponse::Ok().content_type("text/plain").streaming(chunks)
                    }),
                ),
        )
        .await
    }};
}

fn header<'a, B>(response: &'a actix_web::dev::ServiceResponse<B>, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[actix_rt::test]
async fn hits_revalidation_and_invalidation() {
    let counts = Arc::new(Counts::default());
    let cache = Cache::builder()
        .route(Route::new("/items/{id}").invalidates("/items"))
        .build()
        .unwrap();
    let app = app!(cache, counts.clone());

    let miss =
        test::call_service(&app, test::TestRequest::get().uri("/items/1").to_request()).await;
    assert_eq!(header(&miss, "x-cache"), Some("MISS"));
    assert_eq!(
        miss.response().extensions().get::<CacheStatus>(),
        Some(&CacheStatus::Miss)
    );
    let etag = header(&miss, "etag").unwrap().to_owned();
    assert_eq!(header(&miss, "content-type"), Some("application/json"));
    let body = test::read_body(miss).await;

    let hit = test::call_service(&app, test::TestRequest::get().uri("/items/1").to_request()).await;
    assert_eq!(header(&hit, "x-cache"), Some("HIT"));
    assert_eq!(header(&hit, "etag"), Some(etag.as_str()));
    assert_eq!(test::read_body(hit).await, body);

    let not_modified = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/items/1")
            .insert_header(("if-none-match", etag.as_str()))
            .to_request(),
    )
    .await;
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert!(test::read_body(not_modified).await.is_empty());
    assert_eq!(counts.calls.load(Ordering::SeqCst), 1);

    let put = test::call_service(&app, test::TestRequest::put().uri("/items/1").to_request()).await;
    assert_eq!(header(&put, "x-cache"), Some("BYPASS"));
    let after =
        test::call_service(&app, test::TestRequest::get().uri("/items/1").to_request()).await;
    assert_eq!(header(&after, "x-cache"), Some("MISS"));
    assert_eq!(test::read_body(after).await, "{\"version\":1}");
}

#[actix_rt::test]
async fn gzip_once_at_store_and_streams_untouched() {
    let counts = Arc::new(Counts::default());
    let cache = Cache::builder().route(Route::new("/big")).build().unwrap();
    let app = app!(cache, counts.clone());
    for expected in ["MISS", "HIT"] {
        let response = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/big")
                .insert_header(("accept-encoding", "gzip"))
                .to_request(),
        )
        .await;
        assert_eq!(header(&response, "x-cache"), Some(expected));
        assert_eq!(header(&response, "content-encoding"), Some("gzip"));
        assert!(
            header(&response, "vary")
                .unwrap()
                .contains("accept-encoding")
        );
        let packed = test::read_body(response).await;
        let mut text = String::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, big());
    }
    let plain = test::call_service(&app, test::TestRequest::get().uri("/big").to_request()).await;
    assert_eq!(header(&plain, "content-encoding"), None);
    assert_eq!(test::read_body(plain).await, big());
    assert_eq!(counts.calls.load(Ordering::SeqCst), 1);

    for _ in 0..2 {
        let stream =
            test::call_service(&app, test::TestRequest::get().uri("/stream").to_request()).await;
        assert_eq!(header(&stream, "x-cache"), Some("MISS"));
        assert_eq!(test::read_body(stream).await, "ab");
    }
}

#[actix_rt::test]
async fn credentials_bypass_unless_shared() {
    let counts = Arc::new(Counts::default());
    let cache = Cache::builder()
        .route(Route::new("/big").share_authorized())
        .build()
        .unwrap();
    let app = app!(cache, counts.clone());
    let request = |uri: &str| {
        test::TestRequest::get()
            .uri(uri)
            .insert_header(("authorization", "Bearer t"))
            .to_request()
    };
    let item = test::call_service(&app, request("/items/1")).await;
    assert_eq!(header(&item, "x-cache"), Some("BYPASS"));
    // Shared between callers: cached, but no `X-Cache`/`Age` on the response;
    // the status is left in the extensions for the access log.
    let first = test::call_service(&app, request("/big")).await;
    assert_eq!(header(&first, "x-cache"), None);
    assert_eq!(
        first.response().extensions().get::<CacheStatus>(),
        Some(&CacheStatus::Miss)
    );
    let second = test::call_service(&app, request("/big")).await;
    assert_eq!(
        (header(&second, "x-cache"), header(&second, "age")),
        (None, None)
    );
    assert_eq!(
        second.response().extensions().get::<CacheStatus>(),
        Some(&CacheStatus::Hit)
    );
}
