//! Rate limits on the reference API over real HTTP: headers on every response,
//! 429 problems with Retry-After, login, per-user and read/write limits, and one
//! limit shared by two instances through Redis.

use reqwest::Method;
use serde_json::json;

use crate::support::{Api, expect_problem};

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_response_has_the_headers_and_the_ip_limit_answers_429() {
    let api = Api::with_accounts(&["--rate-limit-ip", "6/1m"]).await;
    let client = api.client();
    let statuses = [
        client
            .request(Method::GET, "/openapi.json", None)
            .send()
            .await
            .unwrap(),
        client
            .request(Method::GET, "/no/such/route", None)
            .send()
            .await
            .unwrap(),
        client
            .request(Method::GET, "/api/resources", None)
            .send()
            .await
            .unwrap(),
    ];
    // Start-up probes used some of the limit already: each response counts one down.
    let first: u32 = header(&statuses[0], "x-ratelimit-remaining")
        .parse()
        .unwrap();
    for (response, step) in statuses.iter().zip(0..) {
        assert_eq!(
            header(response, "x-ratelimit-limit"),
            "6",
            "{}",
            response.status()
        );
        assert_eq!(
            header(response, "x-ratelimit-remaining"),
            (first - step).to_string()
        );
        assert!(
            header(response, "x-ratelimit-reset")
                .parse::<u64>()
                .unwrap()
                >= 1
        );
        assert!(header(response, "ratelimit").starts_with("\"ip\";r="));
        assert_eq!(header(response, "ratelimit-policy"), "\"ip\";q=6;w=60");
        assert!(response.headers().contains_key("x-request-id"));
    }
    for _ in 0..(first - 2) {
        assert_eq!(
            client
                .request(Method::GET, "/openapi.json", None)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let limited = client
        .request(Method::GET, "/openapi.json", None)
        .send()
        .await
        .unwrap();
    let retry_after: u64 = header(&limited, "retry-after").parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(header(&limited, "x-ratelimit-remaining"), "0");
    let body = expect_problem(limited, 429, "rate_limited").await;
    assert!(body["detail"].as_str().unwrap().contains("ip"), "{body}");
}

#[tokio::test]
async fn logins_are_limited_more_strictly_per_ip() {
    let api = Api::with_accounts(&["--rate-limit-login", "3/1m"]).await;
    let client = api.client();
    for _ in 0..3 {
        expect_problem(
            client.login("nobody", "wrong password").await,
            401,
            "unauthorized",
        )
        .await;
    }
    let limited = client.login("nobody", "wrong password").await;
    assert!(limited.headers().contains_key("retry-after"));
    expect_problem(limited, 429, "rate_limited").await;
    // Other endpoints are not affected by the login limit.
    assert_eq!(
        client
            .request(Method::GET, "/healthz", None)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn per_user_limits_are_independent_across_users() {
    let api = Api::with_accounts(&["--rate-limit-user", "4/1m"]).await;
    let client = api.client();
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let me = |token: &str| {
        client
            .request(Method::GET, "/api/auth/me", Some(token))
            .send()
    };
    for remaining in (0..4).rev() {
        let response = me(&alice.token).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "ratelimit"),
            format!(
                "\"user\";r={remaining};t={}",
                header(&response, "x-ratelimit-reset")
            )
        );
    }
    expect_problem(me(&alice.token).await.unwrap(), 429, "rate_limited").await;
    assert_eq!(
        me(&bob.token).await.unwrap().status(),
        200,
        "bob is limited by alice's use"
    );
}

#[tokio::test]
async fn read_and_write_limits_are_independent() {
    let api = Api::with_accounts(&["--rate-limit-write", "3/1m"]).await;
    let client = api.client();
    let user = client.user("writer").await;
    for i in 0..3 {
        let response = client
            .post_json(
                "/api/resources",
                Some(&user.token),
                &json!({"name": format!("r{i}")}),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    let limited = client
        .post_json(
            "/api/resources",
            Some(&user.token),
            &json!({"name": "one too many"}),
        )
        .await;
    assert_eq!(header(&limited, "ratelimit-policy"), "\"write\";q=3;w=60");
    expect_problem(limited, 429, "rate_limited").await;
    let read = client
        .request(Method::GET, "/api/resources", Some(&user.token))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let page: serde_json::Value = read.json().await.unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        3,
        "the rejected write was not stored"
    );
}

#[tokio::test]
async fn two_instances_on_one_redis_share_the_ip_limit() {
    let database = edge_test_support::harness::fresh_database().await;
    let redis = edge_test_support::harness::private_redis();
    let args = [
        "--database-url",
        &database.url,
        "--redis-url",
        &redis.url(),
        "--rate-limit-ip",
        "8/1m",
    ];
    let (a, b) = (Api::start(&args).await, Api::start(&args).await);
    let mut allowed = 0;
    let mut limited = 0;
    for i in 0..20 {
        let api = if i % 2 == 0 { &a } else { &b };
        match reqwest::get(api.url("/openapi.json"))
            .await
            .unwrap()
            .status()
            .as_u16()
        {
            200 => allowed += 1,
            429 => limited += 1,
            other => panic!("{other}"),
        }
    }
    assert!(
        (1..=8).contains(&allowed),
        "{allowed} allowed through two instances with one limit of 8"
    );
    assert_eq!(allowed + limited, 20);
    // Health probes are never limited.
    let health: serde_json::Value = reqwest::get(a.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["redis"], "ok");
}

#[tokio::test]
async fn behind_a_trusted_proxy_only_its_header_names_the_client() {
    // The test client is the "proxy" (127.0.0.1 is trusted): it forwards one
    // client in X-Forwarded-For while that client varies its own `Forwarded`
    // and `X-Real-IP`. The client is still one client, and is limited.
    let api = Api::with_accounts(&[
        "--trusted-proxies",
        "127.0.0.1",
        "--rate-limit-login",
        "3/1m",
    ])
    .await;
    let client = api.client();
    let attempt = |i: u32, forwarded_for: &'static str| {
        client
            .request(Method::POST, "/api/auth/login", None)
            .header("x-forwarded-for", forwarded_for)
            .header("forwarded", format!("for=203.0.113.{i}"))
            .header("x-real-ip", format!("198.18.0.{i}"))
            .json(&json!({"username": "victim", "password": format!("guess {i}")}))
            .send()
    };
    for i in 0..3 {
        expect_problem(
            attempt(i, "198.51.100.7").await.unwrap(),
            401,
            "unauthorized",
        )
        .await;
    }
    expect_problem(
        attempt(3, "198.51.100.7").await.unwrap(),
        429,
        "rate_limited",
    )
    .await;
    // The header the proxy sets is honoured: another forwarded client has its own count.
    expect_problem(
        attempt(4, "198.51.100.8").await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    // A client-supplied X-Forwarded-For entry left of the proxy's cannot pick
    // the address either: the walk stops at the first untrusted hop from the right.
    expect_problem(
        attempt(5, "10.9.9.9, 198.51.100.7").await.unwrap(),
        429,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn registrations_are_limited_per_ip() {
    let api = Api::with_accounts(&["--rate-limit-register", "2/1h"]).await;
    let client = api.client();
    for name in ["reg1", "reg2"] {
        assert_eq!(
            client
                .register(name, "correct horse battery")
                .await
                .status(),
            201
        );
    }
    let limited = client.register("reg3", "correct horse battery").await;
    assert!(limited.headers().contains_key("retry-after"));
    expect_problem(limited, 429, "rate_limited").await;
}

#[tokio::test]
async fn logins_fail_closed_while_redis_is_down_and_reads_fall_back_to_local_limits() {
    let database = edge_test_support::harness::fresh_database().await;
    let mut redis = edge_test_support::harness::private_redis();
    let api = Api::start(&[
        "--database-url",
        &database.url,
        "--redis-url",
        &redis.url(),
        "--jwt-secret",
        crate::support::JWT_SECRET,
    ])
    .await;
    let client = api.client();
    client.user("rita").await;
    redis.stop();
    let login = client.login("rita", "correct horse battery").await;
    expect_problem(login, 503, "service_unavailable").await;
    // Everything else keeps being limited per instance.
    let read = client
        .request(Method::GET, "/api/resources", None)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 401, "reads still reach auth");
    assert!(read.headers().contains_key("x-ratelimit-remaining"));
}

#[tokio::test]
async fn an_encoded_login_path_meets_the_login_limit() {
    let api = Api::with_accounts(&["--rate-limit-login", "2/1m"]).await;
    let client = api.client();
    let attempt = |path: &'static str| {
        client
            .request(Method::POST, path, None)
            .json(&json!({"username": "victim", "password": "guess"}))
            .send()
    };
    // Each spelling reaches the login handler, and each is counted as a login.
    for path in ["/api/auth/logi%6E", "/api/auth/%6Cogin"] {
        expect_problem(attempt(path).await.unwrap(), 401, "unauthorized").await;
    }
    expect_problem(
        attempt("/api/auth/login").await.unwrap(),
        429,
        "rate_limited",
    )
    .await;
    expect_problem(
        attempt("/api/auth/logi%6e").await.unwrap(),
        429,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn ipv6_clients_behind_the_proxy_are_limited_per_64() {
    let api = Api::with_accounts(&[
        "--trusted-proxies",
        "127.0.0.1",
        "--rate-limit-login",
        "2/1m",
    ])
    .await;
    let client = api.client();
    let attempt = |client_ip: &'static str| {
        client
            .request(Method::POST, "/api/auth/login", None)
            .header("x-forwarded-for", client_ip)
            .json(&json!({"username": "victim", "password": "guess"}))
            .send()
    };
    // One subscriber's /64, rotating addresses: one client.
    for address in ["2001:db8:1:2::1", "2001:db8:1:2::ffff"] {
        expect_problem(attempt(address).await.unwrap(), 401, "unauthorized").await;
    }
    expect_problem(
        attempt("2001:db8:1:2:aaaa::7").await.unwrap(),
        429,
        "rate_limited",
    )
    .await;
    // Another /64 is another client.
    expect_problem(
        attempt("2001:db8:1:3::1").await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
}
