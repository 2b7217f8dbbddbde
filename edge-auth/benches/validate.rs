//! HS256 validation of a typical token: first seen (full parse, MAC, claims) and
//! repeated (cache hit), josekit's own verifier for comparison, and the tower
//! middleware's added cost per request against a bare handler.

use std::convert::Infallible;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use edge_auth::tower::AuthLayer;
use edge_auth::{TokenIssuer, Validator};
use http::{Request, Response};
use tower::{Service, ServiceBuilder, ServiceExt};

const SECRET: &[u8] = b"bench secret that is long enough for HS256";

fn validation(c: &mut Criterion) {
    let issuer = TokenIssuer::hs256(SECRET, "edge", Duration::from_secs(3600)).unwrap();
    let token = issuer.issue("123456", Some("user")).unwrap().token;
    let uncached = Validator::builder("edge")
        .hmac_secret(SECRET)
        .cache_capacity(0)
        .build()
        .unwrap();
    let cached = Validator::builder("edge")
        .hmac_secret(SECRET)
        .build()
        .unwrap();

    let mut group = c.benchmark_group("hs256_validate");
    group.bench_function("first_seen", |b| {
        b.iter(|| uncached.validate(&token).unwrap());
    });
    group.bench_function("repeated_cache_hit", |b| {
        b.iter(|| cached.validate(&token).unwrap());
    });
    let verifier = josekit::jws::HS256.verifier_from_bytes(SECRET).unwrap();
    group.bench_function("josekit_decode_with_verifier_baseline", |b| {
        b.iter(|| josekit::jwt::decode_with_verifier(&token, &verifier).unwrap());
    });
    group.finish();
}

fn middleware(c: &mut Criterion) {
    let issuer = TokenIssuer::hs256(SECRET, "edge", Duration::from_secs(3600)).unwrap();
    let authorization = format!(
        "Bearer {}",
        issuer.issue("123456", Some("user")).unwrap().token
    );
    let validator = Validator::builder("edge")
        .hmac_secret(SECRET)
        .build()
        .unwrap();
    let handler = tower::service_fn(|_req: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    let mut group = c.benchmark_group("tower_request");
    let bare = handler;
    group.bench_function("bare_handler", |b| {
        b.iter(|| {
            let request = Request::get("/x")
                .header("authorization", &authorization)
                .body(String::new())
                .unwrap();
            runtime.block_on(bare.oneshot(request)).unwrap()
        });
    });
    let mut authed = ServiceBuilder::new()
        .layer(AuthLayer::new(validator))
        .service(handler);
    group.bench_function("with_auth_layer", |b| {
        b.iter(|| {
            let request = Request::get("/x")
                .header("authorization", &authorization)
                .body(String::new())
                .unwrap();
            runtime.block_on(authed.call(request)).unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, validation, middleware);
criterion_main!(benches);
