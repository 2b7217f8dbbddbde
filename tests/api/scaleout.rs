//! Scale-out without containers: two reference-api processes on one PostgreSQL
//! and one Redis behave as one service — one rate limit across both, and a write
//! on either is seen at once by reads on the other.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::Api;

#[tokio::test]
async fn two_instances_share_one_rate_limit_and_one_invalidation_stream() {
    let (a, b, _redis) = Api::pair_on_redis(&["--rate-limit-write", "10/1m"]).await;
    let (on_a, on_b) = (a.client(), b.client());
    // A token issued by A is valid on B (one secret, one user table).
    let alice = on_a.user("alice").await;
    let created = on_b.create(&alice, "v1").await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/resources/{id}");

    // Writes alternate between the instances: a PUT on one, then at once a GET on
    // the other (cached there before the write) sees the new version.
    let mut allowed = 1; // the create
    let mut refused = 0;
    for round in 0..14 {
        let (writer, reader) = if round % 2 == 0 {
            (&on_a, &on_b)
        } else {
            (&on_b, &on_a)
        };
        let cached = reader
            .request(Method::GET, &path, Some(&alice.token))
            .send()
            .await
            .unwrap();
        assert_eq!(cached.status(), 200);
        let name = format!("round {round}");
        let put = writer
            .request(Method::PUT, &path, Some(&alice.token))
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        match put.status().as_u16() {
            200 => allowed += 1,
            429 => {
                refused += 1;
                continue;
            }
            other => panic!("PUT answered {other}"),
        }
        let seen: Value = reader
            .request(Method::GET, &path, Some(&alice.token))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            seen["name"],
            name.as_str(),
            "round {round}: the other instance served a stale version"
        );
    }
    // One write limit of 10 a minute for alice across both instances.
    assert_eq!(
        allowed, 10,
        "{allowed} writes allowed across two instances with one limit of 10"
    );
    assert_eq!(refused, 5);
    for api in [&a, &b] {
        let health: Value = reqwest::get(api.url("/healthz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            health,
            json!({"status": "ok", "database": "ok", "redis": "ok"})
        );
    }
}
