//! The actix-web middleware.

use actix_web::{App, HttpResponse, test, web};
use edge_ratelimit::actix::RateLimiting;
use edge_ratelimit::{KeyKind, ManualClock, Policy, RateLimitState, RateLimiter};

#[actix_rt::test]
async fn headers_on_200s_and_429s() {
    let limiter = RateLimiter::builder()
        .policy(Policy::new("ip", "2/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .clock(ManualClock::new(1_800_000_000_000))
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .wrap(RateLimiting::new(limiter))
            .route("/", web::get().to(HttpResponse::Ok)),
    )
    .await;
    let request = |peer: &str| {
        test::TestRequest::get()
            .uri("/")
            .peer_addr(peer.parse().unwrap())
            .to_request()
    };

    let ok = test::call_service(&app, request("192.0.2.1:1")).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers().get("x-ratelimit-remaining").unwrap(), "1");
    assert_eq!(ok.headers().get("ratelimit").unwrap(), "\"ip\";r=1;t=60");
    test::call_service(&app, request("192.0.2.1:2")).await;
    let limited = test::call_service(&app, request("192.0.2.1:3")).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_some());
    assert_eq!(limited.headers().get("x-ratelimit-limit").unwrap(), "2");
    let other = test::call_service(&app, request("192.0.2.9:1")).await;
    assert_eq!(other.status(), 200);
}

/// Two limiters stacked: the tighter one's state labels the response, once.
#[actix_rt::test]
async fn stacked_limiters_label_the_response_once_with_the_tightest_state() {
    let limiter = |policy: &str, quota: &str| {
        RateLimiter::builder()
            .policy(Policy::new(policy, quota.parse().unwrap(), KeyKind::ClientIp).unwrap())
            .build()
            .unwrap()
    };
    // (outer, inner, the policy that describes the response, its remaining)
    for (outer, inner, expected, remaining) in [
        (("ip", "5/1m"), ("user", "100/1m"), "ip", "4"),
        (("ip", "100/1m"), ("user", "5/1m"), "user", "4"),
        (("ip", "5/1m"), ("user", "5/1m"), "ip", "4"),
    ] {
        let app = test::init_service(
            App::new()
                .wrap(RateLimiting::new(limiter(inner.0, inner.1)))
                .wrap(RateLimiting::new(limiter(outer.0, outer.1)))
                .route("/", web::get().to(HttpResponse::Ok)),
        )
        .await;
        let request = test::TestRequest::get()
            .uri("/")
            .peer_addr("192.0.2.1:1".parse().unwrap())
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), 200);
        for name in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "ratelimit",
            "ratelimit-policy",
        ] {
            assert_eq!(
                response.headers().get_all(name).count(),
                1,
                "{name} for {outer:?} around {inner:?}"
            );
        }
        let headers = response.headers();
        assert_eq!(headers.get("x-ratelimit-remaining").unwrap(), remaining);
        let policy = headers.get("ratelimit-policy").unwrap().to_str().unwrap();
        assert!(policy.starts_with(&format!("\"{expected}\"")), "{policy}");
        let state = response
            .response()
            .extensions()
            .get::<RateLimitState>()
            .cloned()
            .unwrap();
        assert_eq!(&*state.policy, expected);
    }
}
