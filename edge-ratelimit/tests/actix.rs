//! The actix-web middleware.

use actix_web::{App, HttpResponse, test, web};
use edge_ratelimit::actix::RateLimit;
use edge_ratelimit::{KeyKind, ManualClock, Policy, RateLimiter};

#[actix_rt::test]
async fn headers_on_200s_and_429s() {
    let limiter = RateLimiter::builder()
        .policy(Policy::new("ip", "2/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .clock(ManualClock::new(1_800_000_000_000))
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .wrap(RateLimit::new(limiter))
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
