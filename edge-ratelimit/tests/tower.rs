//! The tower layer: headers on every response, 429 with Retry-After, subjects.

use std::convert::Infallible;
use std::net::SocketAddr;

use edge_ratelimit::tower::RateLimitingLayer;
use edge_ratelimit::{KeyKind, ManualClock, Policy, RateLimitState, RateLimiter};
use http::{Request, Response, StatusCode};
use tower::{ServiceBuilder, ServiceExt};

/// The authenticated caller, as an auth layer would leave it.
#[derive(Clone)]
struct User(String);

impl edge_ratelimit::Subject for User {
    fn subject(&self) -> &str {
        &self.0
    }
}

fn limiter() -> RateLimiter {
    RateLimiter::builder()
        .policy(Policy::new("ip", "2/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .policy(Policy::new("user", "1/1m".parse().unwrap(), KeyKind::Subject).unwrap())
        .clock(ManualClock::new(1_800_000_000_000))
        .build()
        .unwrap()
}

fn request(peer: &str, user: Option<&str>) -> Request<String> {
    let mut request = Request::get("/").body(String::new()).unwrap();
    request
        .extensions_mut()
        .insert(peer.parse::<SocketAddr>().unwrap());
    if let Some(user) = user {
        request.extensions_mut().insert(User(user.to_owned()));
    }
    request
}

#[tokio::test]
async fn headers_on_200s_and_429s() {
    let service = ServiceBuilder::new()
        .layer(RateLimitingLayer::new(limiter()).subject::<User>())
        .service_fn(|req: Request<String>| async move {
            let seen = req
                .extensions()
                .get::<RateLimitState>()
                .map(|s| s.remaining);
            Ok::<_, Infallible>(Response::new(format!("{seen:?}")))
        });

    let ok = service
        .clone()
        .oneshot(request("192.0.2.1:1000", None))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.body(), "Some(1)", "the handler sees the state");
    assert_eq!(ok.headers()["x-ratelimit-limit"], "2");
    assert_eq!(ok.headers()["x-ratelimit-remaining"], "1");
    assert_eq!(ok.headers()["ratelimit-policy"], "\"ip\";q=2;w=60");
    assert!(ok.extensions().get::<RateLimitState>().is_some());

    service
        .clone()
        .oneshot(request("192.0.2.1:1001", None))
        .await
        .unwrap();
    let limited = service
        .clone()
        .oneshot(request("192.0.2.1:1002", None))
        .await
        .unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(
        limited.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = serde_json::from_str(limited.body()).unwrap();
    assert_eq!(body["code"], "rate_limited");

    // Another client is unaffected; a subject has its own tighter policy.
    let user = service
        .clone()
        .oneshot(request("192.0.2.2:1000", Some("alice")))
        .await
        .unwrap();
    // With a limit of 1 at the start of a window, the sliding window frees the slot
    // only once this window has slid out entirely: two windows from now.
    assert_eq!(user.headers()["ratelimit"], "\"user\";r=0;t=120");
    let user = service
        .clone()
        .oneshot(request("192.0.2.2:1000", Some("alice")))
        .await
        .unwrap();
    assert_eq!(user.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn stacked_limiters_report_the_tightest_policy() {
    let outer = RateLimiter::builder()
        .policy(Policy::new("ip", "100/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .build()
        .unwrap();
    let inner = RateLimiter::builder()
        .policy(Policy::new("user", "5/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(RateLimitingLayer::new(outer))
        .layer(RateLimitingLayer::new(inner))
        .service_fn(|_req: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
    let response = service.oneshot(request("192.0.2.1:1", None)).await.unwrap();
    assert_eq!(response.headers()["x-ratelimit-limit"], "5");
    assert_eq!(response.headers()["x-ratelimit-remaining"], "4");
}

#[tokio::test]
async fn a_user_supplied_key_function_keys_custom_policies() {
    let limiter = RateLimiter::builder()
        .policy(Policy::new("api-key", "2/1m".parse().unwrap(), KeyKind::Custom).unwrap())
        .clock(ManualClock::new(1_800_000_000_000))
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(
            RateLimitingLayer::new(limiter)
                .key_from(|headers, _| headers.get("x-api-key")?.to_str().ok().map(str::to_owned)),
        )
        .service_fn(|_req: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
    let call = |key: Option<&str>| {
        let mut builder = Request::get("/");
        if let Some(key) = key {
            builder = builder.header("x-api-key", key);
        }
        service
            .clone()
            .oneshot(builder.body(String::new()).unwrap())
    };
    assert_eq!(call(Some("k1")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(call(Some("k1")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        call(Some("k1")).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        call(Some("k2")).await.unwrap().status(),
        StatusCode::OK,
        "keys are counted apart"
    );
    let keyless = call(None).await.unwrap();
    assert_eq!(keyless.status(), StatusCode::OK);
    assert!(
        keyless.headers().get("x-ratelimit-limit").is_none(),
        "no policy applies without a key"
    );
}

/// Two limiters stacked: the tighter one's state labels the response, once.
#[tokio::test]
async fn stacked_limiters_label_the_response_once_with_the_tightest_state() {
    let limiter = |policy: &str, quota: &str| {
        RateLimiter::builder()
            .policy(Policy::new(policy, quota.parse().unwrap(), KeyKind::ClientIp).unwrap())
            .build()
            .unwrap()
    };
    // (outer, inner, the policy that describes the response)
    for (outer, inner, expected) in [
        (("ip", "5/1m"), ("user", "100/1m"), "ip"),
        (("ip", "100/1m"), ("user", "5/1m"), "user"),
        (("ip", "5/1m"), ("user", "5/1m"), "ip"),
    ] {
        let service = ServiceBuilder::new()
            .layer(RateLimitingLayer::new(limiter(outer.0, outer.1)))
            .layer(RateLimitingLayer::new(limiter(inner.0, inner.1)))
            .service_fn(|_req: Request<String>| async {
                Ok::<_, Infallible>(Response::new(String::new()))
            });
        let response = service.oneshot(request("192.0.2.1:1", None)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        for name in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "ratelimit",
            "ratelimit-policy",
        ] {
            assert_eq!(
                headers.get_all(name).iter().count(),
                1,
                "{name} for {outer:?} around {inner:?}"
            );
        }
        assert_eq!(headers["x-ratelimit-remaining"], "4");
        let policy = headers["ratelimit-policy"].to_str().unwrap();
        assert!(policy.starts_with(&format!("\"{expected}\"")), "{policy}");
        let state = response.extensions().get::<RateLimitState>().unwrap();
        assert_eq!(&*state.policy, expected);
    }
}

/// The statuses of `requests` sent one after another through `limiter`.
async fn statuses(limiter: RateLimiter, requests: Vec<Request<String>>) -> Vec<StatusCode> {
    let service = ServiceBuilder::new()
        .layer(RateLimitingLayer::new(limiter))
        .service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(service.clone().oneshot(request).await.unwrap().status());
    }
    statuses
}

const TWO_THEN_429: [StatusCode; 3] = [
    StatusCode::OK,
    StatusCode::OK,
    StatusCode::TOO_MANY_REQUESTS,
];

#[tokio::test]
async fn a_request_without_a_peer_address_is_still_limited() {
    // No SocketAddr in the extensions (e.g. axum served without connect info):
    // the per-IP policy counts such requests together instead of skipping them.
    let requests = (0..3)
        .map(|_| Request::get("/").body(String::new()).unwrap())
        .collect();
    assert_eq!(statuses(limiter(), requests).await, TWO_THEN_429);
}

#[tokio::test]
async fn a_client_sent_forwarded_header_does_not_pick_the_address_behind_a_proxy() {
    let limiter = RateLimiter::builder()
        .policy(Policy::new("ip", "2/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .trusted_proxy("10.0.0.0/8".parse().unwrap())
        .clock(ManualClock::new(1_800_000_000_000))
        .build()
        .unwrap();
    let requests = (0..3)
        .map(|i| {
            let mut request = Request::get("/")
                .header("x-forwarded-for", "198.51.100.1")
                .header("forwarded", format!("for=203.0.113.{i}"))
                .body(String::new())
                .unwrap();
            request
                .extensions_mut()
                .insert("10.0.0.2:4000".parse::<SocketAddr>().unwrap());
            request
        })
        .collect();
    assert_eq!(statuses(limiter, requests).await, TWO_THEN_429);
}

#[tokio::test]
async fn a_client_ip_resolved_by_an_outer_layer_is_the_one_counted() {
    // Two peers, one resolved client (edge-core's `ClientIp` extension, as
    // edge-log's access logger leaves it): one bucket.
    let requests = ["192.0.2.1:1000", "192.0.2.2:1000", "192.0.2.3:1000"]
        .into_iter()
        .map(|peer| {
            let mut request = request(peer, None);
            request
                .extensions_mut()
                .insert(edge_ratelimit::ClientIp("198.51.100.9".parse().unwrap()));
            request
        })
        .collect();
    assert_eq!(statuses(limiter(), requests).await, TWO_THEN_429);
}

#[tokio::test]
async fn exempt_paths_are_never_counted_or_refused() {
    let limiter = RateLimiter::builder()
        .policy(Policy::new("ip", "1/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .exempt("/livez")
        .clock(ManualClock::new(1_800_000_000_000))
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(RateLimitingLayer::new(limiter))
        .service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
    let to = |path: &str| {
        let mut request = Request::get(path).body(String::new()).unwrap();
        request
            .extensions_mut()
            .insert("192.0.2.9:1000".parse::<SocketAddr>().unwrap());
        service.clone().oneshot(request)
    };
    for _ in 0..5 {
        let probe = to("/livez").await.unwrap();
        assert_eq!(probe.status(), StatusCode::OK);
        assert!(
            !probe.headers().contains_key("x-ratelimit-limit"),
            "not counted"
        );
    }
    assert_eq!(
        to("/items").await.unwrap().status(),
        StatusCode::OK,
        "the probes left the quota whole"
    );
    assert_eq!(
        to("/items").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Exact paths only: a longer path is counted.
    assert_eq!(
        to("/livez/x").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[test]
fn an_exempt_path_must_be_a_path() {
    let built = RateLimiter::builder()
        .policy(Policy::new("ip", "1/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .exempt("livez")
        .build();
    assert!(matches!(
        built,
        Err(edge_ratelimit::ConfigError::InvalidRoute(_))
    ));
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn on_axum_the_peer_is_read_from_connect_info() {
    use axum::extract::ConnectInfo;
    let limiter = RateLimiter::builder()
        .policy(Policy::new("ip", "1/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
        .clock(ManualClock::new(1_800_000_000_000))
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(RateLimitingLayer::new(limiter.clone()))
        .service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
    let from = |peer: &str| {
        let mut request = Request::get("/").body(String::new()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        service.clone().oneshot(request)
    };
    assert_eq!(from("192.0.2.1:1").await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        from("192.0.2.2:1").await.unwrap().status(),
        StatusCode::OK,
        "another client"
    );
    assert_eq!(
        from("192.0.2.1:2").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(limiter.missing_clients(), 0);
}

#[tokio::test]
async fn a_request_without_a_client_address_is_counted_and_limited_or_refused() {
    use edge_ratelimit::MissingClient;
    let build = |missing: MissingClient| {
        RateLimiter::builder()
            .policy(Policy::new("ip", "1/1m".parse().unwrap(), KeyKind::ClientIp).unwrap())
            .on_missing_client(missing)
            .clock(ManualClock::new(1_800_000_000_000))
            .build()
            .unwrap()
    };
    let anonymous = || Request::get("/").body(String::new()).unwrap();
    let serve = |limiter: RateLimiter| {
        ServiceBuilder::new()
            .layer(RateLimitingLayer::new(limiter))
            .service_fn(|_: Request<String>| async {
                Ok::<_, Infallible>(Response::new(String::new()))
            })
    };

    // By default every such request shares one bucket: never unlimited.
    let shared = build(MissingClient::ShareOneBucket);
    let service = serve(shared.clone());
    assert_eq!(
        service.clone().oneshot(anonymous()).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        service.clone().oneshot(anonymous()).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(shared.missing_clients(), 2);

    // Or refused as the server error it is.
    let strict = build(MissingClient::Refuse);
    let refused = serve(strict.clone()).oneshot(anonymous()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    assert!(
        refused.body().contains("client's address"),
        "{}",
        refused.body()
    );
    assert_eq!(strict.missing_clients(), 1);
}
