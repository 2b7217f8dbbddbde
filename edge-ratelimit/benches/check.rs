//! The in-process check (one thread, and two threads contending) and Redis check
//! throughput with 64 concurrent tasks: one server, and a 3-master Redis Cluster.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use edge_ratelimit::{KeyKind, Policy, RateLimiter, RequestInfo};

fn memory_limiter() -> RateLimiter {
    RateLimiter::builder()
        // High enough that the bench measures admissions, not rejections.
        .policy(Policy::new("ip", "1000000000/1h".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .build()
        .unwrap()
}

fn info(ip: IpAddr) -> RequestInfo<'static> {
    RequestInfo {
        method: "GET",
        path: "/api/resources",
        peer: Some(ip),
        ..RequestInfo::default()
    }
}

/// Poll a future that is ready at once (the in-process store never waits).
fn now<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn in_process(c: &mut Criterion) {
    let limiter = memory_limiter();
    let request = info("192.0.2.1".parse().unwrap());
    c.bench_function("in_process_check/one_thread", |b| {
        b.iter(|| now(limiter.check(&request)));
    });

    // A second thread hammers other keys of the same limiter while we measure.
    let stop = Arc::new(AtomicBool::new(false));
    let contender = {
        let (limiter, stop) = (limiter.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                now(limiter.check(&info(IpAddr::from((i % 1024).to_be_bytes()))));
                i = i.wrapping_add(1);
            }
        })
    };
    c.bench_function("in_process_check/two_threads_contending", |b| {
        b.iter(|| now(limiter.check(&request)));
    });
    stop.store(true, Ordering::Relaxed);
    let _ = contender.join();
}

/// Checks per second through Redis with 64 concurrent tasks (64 clients): one
/// server against the 3-master cluster in the same run, and on the cluster a
/// request meeting two policies keyed by different subjects (two slots).
fn redis(c: &mut Criterion) {
    let server = edge_test_support::harness::redis_url();
    let cluster = edge_test_support::harness::shared_redis_cluster().url();
    redis_checks(c, "redis_check/one_server/64_tasks", &server, false);
    redis_checks(c, "redis_check/cluster/64_tasks", &cluster, false);
    redis_checks(c, "redis_check/cluster_two_slots/64_tasks", &cluster, true);
}

fn redis_checks(c: &mut Criterion, name: &str, url: &str, per_user_too: bool) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let quota = || "1000000000/1h".parse().unwrap();
    let limiter = runtime.block_on(async {
        let mut builder =
            RateLimiter::builder().policy(Policy::new("ip", quota(), KeyKind::ClientIp).unwrap());
        if per_user_too {
            builder = builder.policy(Policy::new("user", quota(), KeyKind::Subject).unwrap());
        }
        builder
            .redis(
                edge_ratelimit::RedisStore::new(url)
                    .unwrap()
                    .prefix(edge_test_support::harness::unique_name("bench")),
            )
            .fail_mode(edge_ratelimit::FailMode::Closed)
            .build()
            .unwrap()
    });
    c.bench_function(name, |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let limiter = limiter.clone();
            async move {
                let started = Instant::now();
                let per_task = iters.div_ceil(64);
                let tasks: Vec<_> = (0..64u32)
                    .map(|t| {
                        let limiter = limiter.clone();
                        tokio::spawn(async move {
                            let user = format!("user-{t}");
                            let request = RequestInfo {
                                subject: Some(&user),
                                ..info(IpAddr::from((t + 1).to_be_bytes()))
                            };
                            for _ in 0..per_task {
                                let verdict = limiter.check(&request).await;
                                assert!(
                                    matches!(verdict, edge_ratelimit::Verdict::Allowed(_)),
                                    "{verdict:?}"
                                );
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                // Time per check, so the reciprocal is checks per second.
                started
                    .elapsed()
                    .mul_f64(iters as f64 / (per_task * 64) as f64)
            }
        });
    });
}

criterion_group!(benches, in_process, redis);
criterion_main!(benches);
