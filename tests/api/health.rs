//! `/livez`, `/readyz` and `/healthz`: liveness without dependencies, readiness
//! that follows the database and drains at shutdown, none of them rate-limited;
//! `/openapi.json` describes the API.

use std::time::{Duration, Instant};

use edge_test_support::harness;

use crate::support::{Api, Client, JWT_SECRET, expect_problem};

#[tokio::test]
async fn healthz_is_503_while_the_database_is_down_and_200_after() {
    let mut server = harness::private_postgres();
    let api = Api::start(&["--database-url", &server.url("postgres")]).await;
    let response = reqwest::get(api.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 200);

    server.stop();
    // A report is reused for about a second (probes cannot flood the database).
    let deadline = Instant::now() + Duration::from_secs(5);
    let response = loop {
        let response = reqwest::get(api.url("/healthz")).await.unwrap();
        if response.status() != 200 || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "unavailable");
    // Readiness follows the database too; liveness does not (a restart would not help).
    assert_eq!(
        reqwest::get(api.url("/readyz")).await.unwrap().status(),
        503
    );
    let live = reqwest::get(api.url("/livez")).await.unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(
        live.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );

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
async fn liveness_and_readiness_answer_and_are_never_rate_limited() {
    let api = Api::with_fresh_database(&["--rate-limit-ip", "3/1m"]).await;
    for _ in 0..4 {
        for probe in ["/livez", "/readyz", "/healthz"] {
            let response = reqwest::get(api.url(probe)).await.unwrap();
            assert_eq!(response.status(), 200, "{probe}");
            assert!(
                !response.headers().contains_key("ratelimit-policy"),
                "{probe} is not counted"
            );
            assert_eq!(response.headers()["cache-control"], "no-store");
        }
    }
    let ready: serde_json::Value = reqwest::get(api.url("/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ok");
    assert_eq!(ready["database"], "ok");
    // Twelve probes later the per-IP quota is whole: other paths are still counted.
    let statuses =
        futures_util::future::join_all((0..4).map(|_| reqwest::get(api.url("/openapi.json"))))
            .await;
    let codes: Vec<u16> = statuses
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 3, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 1, "{codes:?}");
}

#[tokio::test]
async fn at_sigterm_readiness_fails_while_requests_are_still_served_then_the_server_stops() {
    let api = Api::with_fresh_database(&["--shutdown-drain", "3s"]).await;
    assert_eq!(
        reqwest::get(api.url("/readyz")).await.unwrap().status(),
        200
    );
    let started = Instant::now();
    api.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(2);
    let draining = loop {
        let response = reqwest::get(api.url("/readyz")).await.unwrap();
        if response.status() == 503 || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(draining.status(), 503);
    assert_eq!(
        draining.json::<serde_json::Value>().await.unwrap()["status"],
        "draining"
    );
    // Still serving during the drain: liveness and the API itself.
    assert_eq!(reqwest::get(api.url("/livez")).await.unwrap().status(), 200);
    let user = api.client().user("lastcaller").await;
    assert!(!user.token.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the checks ran within the drain"
    );
    let status = api.wait();
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "it waited out the drain"
    );
}

#[tokio::test]
async fn reads_are_503_while_the_database_is_down_and_served_after() {
    let mut server = harness::private_postgres();
    let url = server.url("postgres");
    let api = Api::start(&["--database-url", &url, "--jwt-secret", JWT_SECRET]).await;
    let client = api.client();
    let user = client.user("reader").await;
    let created = client.create(&user, "survives a restart").await;
    let path = format!("/api/resources/{}", created["id"]);
    for _ in 0..3 {
        assert_eq!(
            uncached_get(&client, &user.token, &path).await.status(),
            200
        );
        assert_eq!(
            uncached_get(&client, &user.token, "/api/resources")
                .await
                .status(),
            200
        );
    }

    server.stop();
    for target in [path.as_str(), "/api/resources", &path] {
        let started = Instant::now();
        expect_problem(
            uncached_get(&client, &user.token, target).await,
            503,
            "service_unavailable",
        )
        .await;
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    server.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while uncached_get(&client, &user.token, &path).await.status() != 200 {
        assert!(Instant::now() < deadline, "reads did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..3 {
        let response = uncached_get(&client, &user.token, &path).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["name"], "survives a restart");
        assert_eq!(
            uncached_get(&client, &user.token, "/api/resources")
                .await
                .status(),
            200
        );
    }
}

/// A GET past the cache, so it reaches the database (on a shared connection).
async fn uncached_get(client: &Client, token: &str, path: &str) -> reqwest::Response {
    client
        .request(reqwest::Method::GET, path, Some(token))
        .header("cache-control", "no-store")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn openapi_describes_the_api() {
    let api = Api::with_fresh_database(&[]).await;
    let response = reqwest::get(api.url("/openapi.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: serde_json::Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/healthz"]["get"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // What is served is the document generated from the operation table and the
    // filter's rules (tested in the crate; checked against the API in contract.rs).
    assert_eq!(doc, reference_api::openapi::document().unwrap());
}

#[tokio::test]
async fn healthz_keeps_one_redis_connection_and_reuses_a_fresh_report() {
    let database = harness::fresh_database().await;
    let redis = harness::private_redis();
    let api = Api::start(&["--database-url", &database.url, "--redis-url", &redis.url()]).await;
    let connections_received = || {
        let client = redis::Client::open(redis.url()).unwrap();
        async move {
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let info: String = redis::cmd("INFO")
                .arg("stats")
                .query_async(&mut conn)
                .await
                .unwrap();
            info.lines()
                .find_map(|l| l.strip_prefix("total_connections_received:"))
                .unwrap()
                .trim()
                .parse::<u64>()
                .unwrap()
        }
    };
    let probe = || async { reqwest::get(api.url("/healthz")).await.unwrap().status() };
    assert_eq!(probe().await, 200);
    let before = connections_received().await;
    // Past the report's second of reuse, three times: each probes Redis again.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(probe().await, 200);
    }
    // A burst inside one second is answered from the same report.
    for _ in 0..20 {
        assert_eq!(probe().await, 200);
    }
    let after = connections_received().await;
    // Only the measuring connection itself is new: the probes reused theirs.
    assert_eq!(
        after - before,
        1,
        "health probes opened new Redis connections"
    );
}
