//! One rejection-renderer hook for every crate: with edge-core's renderer
//! installed, edge-auth's 401, edge-ratelimit's 429 and edge-filter's 403 are
//! all the application's own format, while statuses and protocol headers stay
//! the crates'. (Its own test binary: the renderer is process-wide.)

use std::convert::Infallible;
use std::net::SocketAddr;

use edge_auth::Validator;
use edge_auth::tower::AuthLayer;
use edge_core::{Problem, Rendered};
use edge_filter::Filter;
use edge_filter::tower::RequestFilterLayer;
use edge_ratelimit::tower::RateLimitingLayer;
use edge_ratelimit::{KeyKind, Policy, RateLimiter};
use http::{Request, Response, StatusCode};
use tower::{ServiceBuilder, ServiceExt};

fn plain(problem: &Problem) -> Rendered {
    let id = problem
        .get("request_id")
        .and_then(|v| v.as_str())
        .unwrap_or("-");
    Rendered {
        content_type: "text/plain; charset=utf-8",
        body: format!("{} {} ({id})", problem.status().as_u16(), problem.code()),
    }
}

#[tokio::test]
async fn every_crates_rejections_go_through_the_installed_renderer() {
    edge_core::set_renderer(plain).expect("the only renderer");
    let limiter = RateLimiter::builder()
        .policy(Policy::new("ip", "1/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .build()
        .unwrap();
    let validator = Validator::builder("edge")
        .hmac_secret(b"a-renderer-test-secret-of-32-bytes!!")
        .public_route(&http::Method::GET, "/open")
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(RateLimitingLayer::new(limiter))
        .layer(RequestFilterLayer::new(Filter::builder().build().unwrap()))
        .layer(AuthLayer::new(validator))
        .service_fn(|_: Request<axum::body::Body>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
    let send = |path: &str, peer: &str| {
        let mut request = Request::get(path).body(axum::body::Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(peer.parse::<SocketAddr>().unwrap());
        request
            .extensions_mut()
            .insert(edge_core::RequestId::from_header(Some(b"rid-1")));
        service.clone().oneshot(request)
    };

    let unauthorized = send("/private", "192.0.2.1:1").await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        unauthorized.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert!(unauthorized.headers().contains_key("www-authenticate"));
    assert_eq!(unauthorized.body(), "401 unauthorized (rid-1)");

    let blocked = send("/open?q=%3Cscript%3Ealert(1)%3C/script%3E", "192.0.2.2:1")
        .await
        .unwrap();
    assert_eq!(blocked.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        blocked.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert!(blocked.body().starts_with("403 "), "{}", blocked.body());

    let limited = send("/open", "192.0.2.2:2").await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        limited.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(limited.body(), "429 rate_limited (rid-1)");

    assert!(edge_core::set_renderer(plain).is_err(), "installed once");
}
