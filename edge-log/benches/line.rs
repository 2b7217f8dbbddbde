//! Formatting and queueing one access line, as the middleware does when a response
//! ends (the writer thread writes it to /dev/null meanwhile). Target: median under 2 µs.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use edge_log::{AccessLog, AccessRecord, Format, LogWriter, RateLimitField};

fn bench(c: &mut Criterion) {
    let rate_limit = RateLimitField {
        policy: "user".to_owned(),
        limit: 600,
        remaining: 587,
    };
    let sink = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .expect("/dev/null");
    let log = AccessLog::builder()
        .writer(LogWriter::new(sink, 1 << 16).unwrap())
        .build()
        .unwrap();
    let mut group = c.benchmark_group("access line");
    group.bench_function("format json", |b| {
        let mut out = Vec::with_capacity(512);
        b.iter(|| {
            out.clear();
            record(&edge_log_timestamp(), &rate_limit).write(Format::Json, &mut out);
            black_box(&out);
        });
    });
    group.bench_function("format and queue (json)", |b| {
        b.iter(|| log.write(black_box(&record(&edge_log_timestamp(), &rate_limit))));
    });
    group.finish();
    println!("dropped while benchmarking: {}", log.writer().dropped());
}

/// A typical record.
fn record<'a>(timestamp: &'a str, rate_limit: &'a RateLimitField) -> AccessRecord<'a> {
    AccessRecord {
        timestamp,
        request_id: "8c0a3b1e-5d4f-4e2a-9b7c-1f2e3d4c5b6a",
        trace_id: edge_log::TraceContext::from_header(Some(
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ))
        .trace_id(),
        method: "GET",
        path: "/api/resources/12345",
        status: 200,
        duration_ms: 0.734,
        client_ip: Some("203.0.113.7"),
        user: Some("42"),
        ratelimit: Some(rate_limit),
        cache: Some("hit"),
        db_queries: Some(0),
        bytes: 312,
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"),
    }
}

/// The timestamp the middleware makes for each line.
fn edge_log_timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

criterion_group!(benches, bench);
criterion_main!(benches);
