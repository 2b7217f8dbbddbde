//! CORS for `--cors-origins`: preflights answered before authentication and
//! rate limits, CORS headers only for the allowed origins.

use reqwest::Method;

use crate::support::{Api, JWT_SECRET};

const ALLOWED: &str = "https://app.example.com";

/// The API with CORS for two origins and a per-IP limit of `ip_limit`.
async fn api(ip_limit: &str) -> Api {
    Api::with_fresh_database(&[
        "--jwt-secret",
        JWT_SECRET,
        "--cors-origins",
        "https://app.example.com,http://localhost:3000",
        "--rate-limit-ip",
        ip_limit,
    ])
    .await
}

fn preflight(api: &Api, origin: &str) -> reqwest::RequestBuilder {
    api.client()
        .request(Method::OPTIONS, "/api/resources", None)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_before_auth_and_limits() {
    let api = api("5/1m").await;
    // More preflights than the per-IP quota allows requests, and no token.
    for _ in 0..8 {
        let response = preflight(&api, ALLOWED).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], ALLOWED);
        let methods = headers["access-control-allow-methods"].to_str().unwrap();
        assert!(
            methods.contains("POST") && methods.contains("DELETE"),
            "{methods}"
        );
        let allowed = headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(
            allowed.contains("authorization") && allowed.contains("content-type"),
            "{allowed}"
        );
        assert!(
            !headers.contains_key("ratelimit-policy"),
            "a preflight is not counted"
        );
    }
}

#[tokio::test]
async fn a_preflight_from_another_origin_gets_no_cors_headers() {
    let api = api("600/1m").await;
    let response = preflight(&api, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-methods")
    );
}

#[tokio::test]
async fn responses_to_an_allowed_origin_expose_what_a_browser_app_reads() {
    let api = api("600/1m").await;
    let client = api.client();
    let user = client.user("browser").await;
    let created = client.create(&user, "seen from a page").await;
    let path = format!("/api/resources/{}", created["id"]);
    let response = client
        .request(Method::GET, &path, Some(&user.token))
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], ALLOWED);
    let exposed = headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in ["etag", "x-request-id", "ratelimit"] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
    // Errors carry them too (a page can read the problem), e.g. a missing token.
    let unauthorized = client
        .request(Method::GET, &path, None)
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(
        unauthorized.headers()["access-control-allow-origin"],
        ALLOWED
    );

    // Another origin is served (the browser, not the API, withholds the answer)
    // but gets no CORS headers.
    let other = client
        .request(Method::GET, &path, Some(&user.token))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn without_cors_origins_no_cors_headers_are_sent() {
    let api = Api::with_fresh_database(&["--jwt-secret", JWT_SECRET]).await;
    let response = preflight(&api, ALLOWED).send().await.unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    let response = api
        .client()
        .request(Method::GET, "/readyz", None)
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}
