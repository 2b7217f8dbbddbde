//! One request through the whole reference-API stack in process (no sockets):
//! access log, query counter, problem rendering, per-IP limit, filter, auth,
//! per-user limits, cache — for a cached GET, a 304 and an uncached GET (one
//! PostgreSQL query on a throwaway server). What the wrk figures in BENCHMARKS.md
//! cost beyond the kernel's TCP work, measured without its noise.

use std::time::{Duration, Instant};

use actix_web::test;
use clap::Parser;
use criterion::{Criterion, criterion_group, criterion_main};
use edge_log::{AccessLog, LogWriter};
use reference_api::config::Config;
use serde_json::{Value, json};
use tracing_subscriber::prelude::*;

/// The allocator the server binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &str = "stack bench secret of at least 32 bytes";

fn bench(c: &mut Criterion) {
    // As `main` sets it up: operational logs filtered at info.
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::sink)
            .with_filter(tracing_subscriber::EnvFilter::new("info")),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    let system = actix_rt::System::new();
    let data_dir = std::env::temp_dir().join(edge_test_support::harness::unique_name("edge-bench"));
    std::fs::create_dir_all(&data_dir).unwrap();
    let (app, token, etag) = system.block_on(async {
        let database = edge_test_support::harness::fresh_database().await;
        let unlimited = "1000000000/1m";
        let config = Config::try_parse_from([
            "reference-api",
            "--jwt-secret",
            SECRET,
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--rate-limit-ip",
            unlimited,
            "--rate-limit-user",
            unlimited,
            "--rate-limit-read",
            unlimited,
            "--rate-limit-write",
            unlimited,
            "--cache-ttl",
            "1h",
        ])
        .unwrap();
        let mut state = reference_api::state(config, database.url.clone())
            .await
            .unwrap();
        let devnull = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        state.access_log = AccessLog::builder()
            .writer(LogWriter::new(devnull, 1 << 16).unwrap())
            .routes(reference_api::operations::templates_by_traffic())
            .build()
            .unwrap();
        // `EDGE_BENCH_METRICS=1`: with the Prometheus recorder installed, as the
        // API runs (every crate's measurements recorded); else no recorder.
        if std::env::var_os("EDGE_BENCH_METRICS").is_some() {
            state.metrics = reference_api::metrics::install();
            assert!(state.metrics.is_some());
        }
        let app = test::init_service(reference_api::app::app(state)).await;
        let credentials = json!({"username": "bench", "password": "correct horse battery"});
        let register = test::TestRequest::post()
            .uri("/api/auth/register")
            .set_json(&credentials);
        assert_eq!(
            test::call_service(&app, register.to_request())
                .await
                .status(),
            201
        );
        let login = test::TestRequest::post()
            .uri("/api/auth/login")
            .set_json(&credentials);
        let pair: Value = test::call_and_read_body_json(&app, login.to_request()).await;
        let token = pair["access_token"].as_str().unwrap().to_owned();
        let create = test::TestRequest::post()
            .uri("/api/resources")
            .insert_header(("authorization", format!("Bearer {token}")))
            .set_json(json!({"name": "bench", "description": "a resource", "tags": ["a"]}));
        assert_eq!(
            test::call_service(&app, create.to_request()).await.status(),
            201
        );
        let get = test::TestRequest::get()
            .uri("/api/resources/1")
            .insert_header(("authorization", format!("Bearer {token}")));
        let response = test::call_service(&app, get.to_request()).await;
        let etag = response
            .headers()
            .get("etag")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        (app, token, etag)
    });
    let bearer = format!("Bearer {token}");
    let get = |extra: &Option<(&'static str, String)>| {
        let mut request = test::TestRequest::get()
            .uri("/api/resources/1")
            .peer_addr("127.0.0.1:40000".parse().unwrap())
            .insert_header(("authorization", bearer.clone()))
            .insert_header(("user-agent", "bench"));
        if let Some((name, value)) = extra {
            request = request.insert_header((*name, value.clone()));
        }
        request.to_request()
    };
    let mut run = |name: &str, extra: Option<(&'static str, String)>, status: u16| {
        let request = || get(&extra);
        system.block_on(async {
            assert_eq!(
                test::call_service(&app, request()).await.status().as_u16(),
                status
            );
        });
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let requests: Vec<_> = (0..iters).map(|_| request()).collect();
                system.block_on(async {
                    let start = Instant::now();
                    for request in requests {
                        let response = test::call_service(&app, request).await;
                        drop(test::read_body(response).await);
                    }
                    start.elapsed()
                })
            });
        });
    };
    // `EDGE_PROFILE_REQUESTS=n`: only send n cached GETs (uncached ones with
    // `EDGE_PROFILE_UNCACHED=1`), for a profiler (`valgrind --tool=callgrind`,
    // `perf`) rather than criterion.
    if let Some(n) = std::env::var("EDGE_PROFILE_REQUESTS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        let extra = std::env::var_os("EDGE_PROFILE_UNCACHED")
            .map(|_| ("cache-control", "no-store".to_owned()));
        system.block_on(async {
            for _ in 0..n {
                let response = test::call_service(&app, get(&extra)).await;
                drop(test::read_body(response).await);
            }
        });
        let _ = std::fs::remove_dir_all(&data_dir);
        return;
    }
    run("stack/cached GET", None, 200);
    run("stack/304", Some(("if-none-match", etag)), 304);
    run(
        "stack/uncached GET (1 query)",
        Some(("cache-control", "no-store".to_owned())),
        200,
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
