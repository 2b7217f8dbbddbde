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
    assert_eq!(body["title"], "Not found");
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

    let a = client.get(api.url("/healthz")).send().await.unwrap();
    let b = client.get(api.url("/healthz")).send().await.unwrap();
    assert_ne!(a.headers()["x-request-id"], b.headers()["x-request-id"]);
}
