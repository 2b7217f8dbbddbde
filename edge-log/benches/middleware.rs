//! One request through the tower layer (span, fields recorded by four "layers",
//! line written) against the same handler without it, under the subscriber set-up
//! the README recommends (FieldsLayer + a level-filtered fmt layer).

use std::convert::Infallible;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use edge_log::tower::AccessLoggerLayer;
use edge_log::{AccessLog, FieldsLayer, LogWriter};
use http::{Request, Response};
use tower::{Layer, ServiceExt};
use tracing_subscriber::prelude::*;

async fn handler(_: Request<String>) -> Result<Response<String>, Infallible> {
    let span = tracing::Span::current();
    span.record("user", "42");
    span.record(
        "ratelimit",
        tracing::field::display(format_args!("{}:{}/{}", "user", 587, 600)),
    );
    span.record("cache", "hit");
    span.record("db_queries", 0u64);
    Ok(Response::new("{\"id\":1}".to_owned()))
}

fn bench(c: &mut Criterion) {
    let subscriber = tracing_subscriber::registry().with(FieldsLayer).with(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::sink)
            .with_filter(tracing_subscriber::EnvFilter::new("info")),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let sink = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .unwrap();
    let log = AccessLog::builder()
        .writer(LogWriter::new(sink, 1 << 16).unwrap())
        .build()
        .unwrap();
    let logged = AccessLoggerLayer::new(log).layer(tower::service_fn(handler));
    let bare = tower::service_fn(handler);
    let request = || {
        Request::get("/api/resources/1")
            .header("user-agent", "bench")
            .body(String::new())
            .unwrap()
    };
    let mut group = c.benchmark_group("request");
    group.bench_function("bare handler", |b| {
        b.iter(|| {
            runtime
                .block_on(bare.oneshot(black_box(request())))
                .unwrap()
        });
    });
    group.bench_function("with AccessLoggerLayer", |b| {
        b.iter(|| {
            let response = runtime
                .block_on(logged.clone().oneshot(black_box(request())))
                .unwrap();
            drop(response); // the body's drop writes the line
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
