//! `/healthz` follows the database; `/openapi.json` describes the API.

use std::time::{Duration, Instant};

use edge_test_support::harness;

use crate::support::Api;

#[tokio::test]
async fn healthz_is_503_while_the_database_is_down_and_200_after() {
    let mut server = harness::private_postgres();
    let api = Api::start(&["--database-url", &server.url("postgres")]).await;
    let response = reqwest::get(api.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 200);

    server.stop();
    let response = reqwest::get(api.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "unavailable");

    server.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = reqwest::get(api.url("/healthz")).await.unwrap();
        if response.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the API did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn openapi_describes_the_api() {
    let api = Api::with_fresh_database(&[]).await;
    let response = reqwest::get(api.url("/openapi.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    let doc: serde_json::Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/healthz"]["get"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}
