//! Inspecting a typical 1 KiB JSON body; throughput on large bodies; and scaling
//! from 10 KiB to 1 MiB for ordinary and adversarial (deeply encoded) input.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use edge_filter::{Filter, Inspector, RequestContext};
use serde_json::json;

fn typical_body() -> Vec<u8> {
    let body = json!({
        "name": "Quarterly report — O'Brien & Partners",
        "description": "Revenue grew 12% (from $1.2M to $1.35M). Select a plan that suits you; see https://example.com/plans?tier=pro&period=yearly for details. 1 < 2, rock & roll.",
        "tags": ["finance", "q3", "report", "internal", "draft"],
        "data": {
            "owner": "ann@example.com",
            "figures": [12, 15, 18, 21],
            "notes": "Numbers are preliminary and may change before the board meeting on Friday.",
            "links": {"slides": "https://example.com/s/abc123", "sheet": "https://example.com/d/xyz789"},
            "reviewers": ["Zoë", "D'Angelo", "Ng'ang'a"],
            "status": "in review",
            "summary": "Costs fell 3% while headcount stayed flat; the team recommends keeping the current plan through Q4 and revisiting in January.",
            "checklist": ["draft figures", "legal review", "board pack"],
            "contact": {"name": "Ann Example", "phone": "+1-555-0100", "office": "Floor 3, Room 12"},
            "history": [{"by": "ann", "at": "2026-11-01T10:00:00Z", "what": "created"}, {"by": "bob", "at": "2026-11-02T11:30:00Z", "what": "edited the summary"}]
        }
    });
    serde_json::to_vec(&body).unwrap()
}

fn body_of(size: usize, adversarial: bool) -> Vec<u8> {
    let unit = if adversarial {
        // Nested encodings and near-miss tokens: the most work per byte for the normalizer.
        "%25252e%25252e&#x25;2f\\u0025\\u0032\\u0065 union%2520sel ect /*x*/ <scr ipt> ' o r "
    } else {
        "Ordinary prose with numbers 1 < 2 and links https://example.com/a?b=c&d=e. "
    };
    let text: String = unit
        .repeat(size / unit.len() + 1)
        .chars()
        .take(size - 64)
        .collect();
    serde_json::to_vec(&json!({ "name": "x", "description": text })).unwrap()
}

fn inspect(c: &mut Criterion) {
    let filter = Filter::builder().max_body(4 << 20).build().unwrap();
    let context = RequestContext {
        sender: &edge_filter::KnownSender {
            request_id: "bench",
            ..edge_filter::KnownSender::default()
        },
        method: "POST",
        path: "/api/resources",
    };
    let body = typical_body();
    let mut group = c.benchmark_group("inspect_json_body");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function(format!("typical_{}_bytes", body.len()), |b| {
        b.iter(|| filter.check_json_body(&context, &body).unwrap());
    });
    // The same body split into its parts: parsing alone, and inspecting a parsed tree.
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let inspector = Inspector::default();
    group.bench_function("parse_only", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(&body).unwrap());
    });
    group.bench_function("inspect_parsed_tree", |b| {
        b.iter(|| inspector.inspect_json(&parsed));
    });
    group.finish();

    let mut group = c.benchmark_group("inspect_scaling");
    group.sample_size(20);
    for adversarial in [false, true] {
        for size in [10 << 10, 100 << 10, 1 << 20] {
            let body = body_of(size, adversarial);
            group.throughput(Throughput::Bytes(body.len() as u64));
            let kind = if adversarial { "adversarial" } else { "prose" };
            group.bench_with_input(BenchmarkId::new(kind, size), &body, |b, body| {
                b.iter(|| filter.check_json_body(&context, body));
            });
        }
    }
    group.finish();

    let inspector = Inspector::default();
    c.bench_function("inspect_query/typical", |b| {
        b.iter(|| inspector.inspect_query("limit=20&cursor=djE6MTIz&q=select+a+plan&sort=name"));
    });
    c.bench_function("inspect_path/typical", |b| {
        b.iter(|| inspector.inspect_path("/api/resources/8f14e45f-ceea-467f-a0e6-1b4d2d7a0c11"));
    });
    // What a browser sends on every request: `;`, `(` and `=` but no attack.
    c.bench_function("inspect_header/browser_user_agent", |b| {
        b.iter(|| {
            inspector.inspect_header(
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            )
        });
    });
    c.bench_function("inspect_header/referer_with_query", |b| {
        b.iter(|| {
            inspector.inspect_header(
                "referer",
                "https://shop.example.com/search?q=red+shoes&size=42&page=2",
            )
        });
    });
}

criterion_group!(benches, inspect);
criterion_main!(benches);
