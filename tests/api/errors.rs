//! Every error is RFC 9457 problem+json with a code and the request id.

use crate::support::Api;

async fn problem(response: reqwest::Response) -> (u16, String, serde_json::Value) {
    let status = response.status().as_u16();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    (status, request_id, response.json().await.unwrap())
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let api = Api::with_fresh_database(&[]).await;
    let client = reqwest::Client::new();

    let (status, request_id, body) =
        problem(client.get(api.url("/no/such/route")).send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["status"], 404);
    assert_eq!(body["type"], "urn:edge:problem:not_found");
    // The status's reason phrase, as in every crate's rejections.
    assert_eq!(body["title"], "Not Found");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(body["request_id"], request_id.as_str());

    let (status, _, body) = problem(client.delete(api.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(status, 405);
    assert_eq!(body["code"], "method_not_allowed");
}

#[tokio::test]
async fn request_ids_are_echoed_when_safe_and_replaced_when_not() {
    let api = Api::with_fresh_database(&[]).await;
    let client = reqwest::Client::new();
    let response = client
        .get(api.url("/healthz"))
        .header("X-Request-Id", "trace-42.a:b")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42.a:b");

    let long = "x".repeat(10_000);
    for hostile in ["<script>alert(1)</script>", long.as_str(), "a b"] {
        let response = client
            .get(api.url("/nope"))
            .header("X-Request-Id", hostile)
            .send()
            .await
            .unwrap();
        let echoed = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(echoed, hostile);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["request_id"], echoed.as_str());
    }

    // Generated ids are random UUIDs: two consecutive ones share no counter
    // (nothing to read the traffic volume from).
    let a = client.get(api.url("/healthz")).send().await.unwrap();
    let b = client.get(api.url("/healthz")).send().await.unwrap();
    let (a, b) = (
        a.headers()["x-request-id"].to_str().unwrap().to_owned(),
        b.headers()["x-request-id"].to_str().unwrap().to_owned(),
    );
    assert_ne!(a, b);
    for id in [&a, &b] {
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
    }
    let shared_prefix = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    assert!(shared_prefix < 8, "{a} {b}");
}

/// The auth, rate-limit and filter middlewares' rejections reach the client as
/// the crates rendered them (edge-core's problem, with the request id), in the
/// same shape as the API's own errors.
#[tokio::test]
async fn rejections_made_by_the_crates_carry_the_request_id() {
    let api = Api::with_fresh_database(&["--rate-limit-ip", "4/1m"]).await;
    let client = reqwest::Client::new();

    // edge-auth: no token.
    let response = client.get(api.url("/api/auth/me")).send().await.unwrap();
    assert!(response.headers().contains_key("www-authenticate"));
    let (status, id, body) = problem(response).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    assert_eq!(body["title"], "Unauthorized");
    assert_eq!(body["request_id"], id.as_str());

    // edge-filter: an attack in the query.
    let (status, id, body) = problem(
        client
            .get(api.url("/healthz?q=1%27%20OR%20%271%27%3D%271"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("request_blocked"))
    );
    assert_eq!(body["request_id"], id.as_str());

    // edge-ratelimit: past the per-IP limit.
    let mut limited = None;
    for _ in 0..6 {
        // (Health probes are never limited: another public path.)
        let response = client.get(api.url("/openapi.json")).send().await.unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("the fifth request is limited");
    assert!(response.headers().contains_key("retry-after"));
    let (_, id, body) = problem(response).await;
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["title"], "Too Many Requests");
    assert_eq!(body["request_id"], id.as_str());
}

#[tokio::test]
async fn an_empty_body_labelled_json_is_malformed_json_and_an_unlabelled_one_is_missing() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let user = client.user("empty-bodies").await;
    let created = client.create(&user, "kept").await;
    let item = format!("/api/resources/{}", created["id"]);
    for (method, path) in [
        (reqwest::Method::POST, "/api/resources"),
        (reqwest::Method::PUT, item.as_str()),
        (reqwest::Method::POST, "/api/auth/login"),
    ] {
        let labelled = client
            .request(method.clone(), path, Some(&user.token))
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let body = crate::support::expect_problem(labelled, 400, "invalid_json").await;
        assert!(body["detail"].as_str().unwrap().contains("empty"), "{body}");
        let unlabelled = client
            .request(method, path, Some(&user.token))
            .send()
            .await
            .unwrap();
        crate::support::expect_problem(unlabelled, 422, "validation_failed").await;
    }
    // Nothing was changed by either.
    let kept = client
        .request(reqwest::Method::GET, &item, Some(&user.token))
        .send()
        .await
        .unwrap();
    let kept: serde_json::Value = kept.json().await.unwrap();
    assert_eq!(kept["version"], 1);
    assert_eq!(kept["name"], "kept");
}
