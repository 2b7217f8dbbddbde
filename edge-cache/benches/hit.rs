//! The hot path of a cached GET in memory: classify the request, look it up,
//! check its ETag against `If-None-Match`, and render the reply with the
//! pre-compressed body. Target: median under 1 µs.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use edge_cache::{Action, Cache, Lookup, Route};
use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

fn body() -> Bytes {
    let item = r#"{"id":12345,"owner_id":7,"name":"A resource","description":"Something worth caching","tags":["a","b"],"data":{"k":"v"},"version":3,"created_at":"2026-11-23T06:00:00Z","updated_at":"2026-11-23T06:00:00Z"}"#;
    Bytes::from(format!(
        "{{\"items\":[{item},{item},{item},{item},{item},{item}],\"next_cursor\":null}}"
    ))
}

fn request_headers(if_none_match: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "accept-encoding",
        HeaderValue::from_static("gzip, deflate, br"),
    );
    headers.insert("authorization", HeaderValue::from_static("Bearer x"));
    headers.insert(
        "if-none-match",
        HeaderValue::from_str(if_none_match).unwrap(),
    );
    headers
}

fn cache_with_entry() -> (Cache, String) {
    let cache = Cache::builder()
        .route(Route::new("/api/resources").share_authorized())
        .build()
        .unwrap();
    let Action::Read(read) = cache.classify(
        &Method::GET,
        "/api/resources",
        Some("limit=6"),
        &request_headers("\"stale\""),
    ) else {
        panic!("not a read");
    };
    let Some(Lookup::Miss(miss)) = cache.lookup(read).now_or_never() else {
        panic!("not a miss");
    };
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let reply = miss
        .complete(StatusCode::OK, headers, body())
        .now_or_never()
        .unwrap();
    let etag = reply.headers()["etag"].to_str().unwrap().to_owned();
    (cache, etag)
}

fn hit(cache: &Cache, headers: &HeaderMap) -> edge_cache::Reply {
    let Action::Read(read) =
        cache.classify(&Method::GET, "/api/resources", Some("limit=6"), headers)
    else {
        panic!("not a read");
    };
    match cache.lookup(read).now_or_never() {
        Some(Lookup::Hit(reply)) => reply,
        _ => panic!("not a hit"),
    }
}

fn bench(c: &mut Criterion) {
    let (cache, etag) = cache_with_entry();
    let stale = request_headers("\"0-0\"");
    let current = request_headers(&etag);
    assert_eq!(hit(&cache, &stale).headers()["content-encoding"], "gzip");
    assert_eq!(hit(&cache, &current).status(), StatusCode::NOT_MODIFIED);
    println!("body {} bytes", body().len());
    // The whole answer in `http` types, as the tower adapter makes it.
    let answer = |reply: edge_cache::Reply| (reply.status(), reply.headers(), reply.body());
    let mut group = c.benchmark_group("memory hit");
    group.bench_function("200 gzip", |b| {
        b.iter(|| answer(hit(&cache, black_box(&stale))));
    });
    group.bench_function("304", |b| {
        b.iter(|| answer(hit(&cache, black_box(&current))));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
