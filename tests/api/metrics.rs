//! `GET /metrics` over HTTP: Prometheus text that parses, numbers that match
//! the requests sent, bounded series, and only loopback or `--metrics-allow`
//! clients served.

use std::collections::BTreeMap;

use reqwest::Method;

use crate::support::{Api, expect_problem};

/// Every sample of an exposition: `name{labels}` → value. Panics on a line that
/// is not a comment, blank, or a sample.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            assert!(
                line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE "),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "{line}");
        }
        samples.insert(series.to_owned(), value);
    }
    samples
}

async fn scrape(api: &Api, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = api.client().request(Method::GET, "/metrics", None);
    if let Some(client) = forwarded_for {
        request = request.header("x-forwarded-for", client);
    }
    request.send().await.unwrap()
}

async fn samples(api: &Api) -> BTreeMap<String, f64> {
    let response = scrape(api, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    parse(&response.text().await.unwrap())
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_the_requests_sent_with_bounded_series() {
    let api = Api::with_accounts(crate::support::NO_RATE_LIMITS).await;
    let client = api.client();
    let user = client.user("metrics").await;
    let created = client.create(&user, "measured").await;
    let item = format!("/api/resources/{}", created["id"]);
    let before = samples(&api).await;
    for _ in 0..3 {
        let response = client
            .request(Method::GET, &item, Some(&user.token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    for _ in 0..2 {
        let response = client
            .request(Method::GET, "/no/such/route", None)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }
    let after = samples(&api).await;
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(
        delta(r#"edge_http_requests_total{method="GET",route="/api/resources/{id}",status="200"}"#),
        3.0
    );
    assert_eq!(
        delta(r#"edge_http_requests_total{method="GET",route="unmatched",status="404"}"#),
        2.0
    );
    assert_eq!(
        delta(
            r#"edge_http_request_duration_seconds_count{method="GET",route="/api/resources/{id}"}"#
        ),
        3.0
    );
    // The scrape before this one was counted too, and is the only request in
    // flight while this one is rendered.
    assert_eq!(value(&after, "edge_http_requests_in_flight"), 1.0);
    assert!(
        after.keys().any(
            |s| s.starts_with("edge_http_request_duration_seconds_bucket{")
                && s.contains(r#"le="0.0001""#)
        ),
        "the durations are a histogram with the documented buckets"
    );

    // Every crate's measurements are there, moved by what was sent.
    let unauthenticated = client
        .request(Method::GET, "/api/resources", None)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let attack = client
        .request(
            Method::GET,
            "/api/resources?q=%3Cscript%3Ealert(1)%3C/script%3E",
            Some(&user.token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(attack.status(), 403);
    let crates = samples(&api).await;
    let delta = |series: &str| value(&crates, series) - value(&after, series);
    assert_eq!(
        delta(r#"edge_auth_rejections_total{reason="missing"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"edge_filter_findings_total{category="xss",action="blocked"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"edge_filter_rejections_total{reason="request_blocked"}"#),
        1.0
    );
    // Three GETs of one resource: a miss stored it before, then hits.
    assert!(value(&crates, r#"edge_cache_requests_total{result="hit"}"#) >= 2.0);
    assert!(
        value(
            &crates,
            r#"edge_ratelimit_requests_total{policy="ip",result="allowed"}"#
        ) >= 5.0
    );
    assert!(value(&crates, "edge_db_queries_total") >= 1.0);
    assert_eq!(value(&crates, "edge_db_pool_max"), 16.0);
    assert!(crates.contains_key(r#"edge_db_pool_connections{state="idle"}"#));
    assert!(crates.contains_key("edge_auth_token_cache_hits_total"));
    // And the process's own: memory, file descriptors, CPU time.
    assert!(value(&crates, "process_resident_memory_bytes") > 1_000_000.0);
    assert!(value(&crates, "process_open_fds") >= 3.0);
    assert!(crates.contains_key("process_cpu_seconds_total"));

    // A thousand distinct ids (and unknown paths) add no series.
    for id in 1_000..2_000 {
        client
            .request(
                Method::GET,
                &format!("/api/resources/{id}"),
                Some(&user.token),
            )
            .send()
            .await
            .unwrap();
    }
    for id in 0..100 {
        client
            .request(Method::GET, &format!("/scan/{id}"), None)
            .send()
            .await
            .unwrap();
    }
    let scanned = samples(&api).await;
    let requests = |samples: &BTreeMap<String, f64>| {
        samples
            .keys()
            .filter(|s| s.starts_with("edge_http_requests_total{"))
            .cloned()
            .collect::<Vec<_>>()
    };
    let new: Vec<_> = requests(&scanned)
        .into_iter()
        .filter(|s| !crates.contains_key(s))
        .collect();
    assert!(
        new.iter().all(|s| s.contains(r#"status="404""#)) && new.len() <= 1,
        "only a 404 series for the resource route may be new: {new:?}"
    );
    assert!(
        !scanned
            .keys()
            .any(|s| s.contains("/scan/") || s.contains("/api/resources/1"))
    );
}

#[tokio::test]
async fn only_loopback_and_allowed_clients_read_the_metrics_and_scrapes_are_not_limited() {
    let api = Api::with_fresh_database(&[
        "--trusted-proxies",
        "127.0.0.1",
        "--metrics-allow",
        "10.0.0.0/8",
        "--rate-limit-ip",
        "2/1m",
    ])
    .await;
    // Behind the trusted proxy, the client is the forwarded address.
    let refused = scrape(&api, Some("203.0.113.9")).await;
    let body = expect_problem(refused, 403, "forbidden").await;
    assert!(
        body["detail"].as_str().unwrap().contains("metrics-allow"),
        "{body}"
    );
    assert_eq!(scrape(&api, Some("10.1.2.3")).await.status(), 200);
    // Loopback itself, many times: the scrape has no rate limit.
    for _ in 0..5 {
        assert_eq!(scrape(&api, None).await.status(), 200);
    }
}

#[tokio::test]
async fn the_dashboard_queries_only_metrics_the_api_exports() {
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../deploy/grafana/dashboards/edge.json"),
        )
        .unwrap(),
    )
    .expect("the dashboard is JSON");
    let queries: Vec<&str> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap())
        .map(|target| target["expr"].as_str().unwrap())
        .collect();
    assert!(queries.len() >= 8, "{queries:?}");

    // Traffic that makes every crate record: accounts, a cached read, a
    // refused token, a blocked attack.
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let user = client.user("dashboard").await;
    let created = client.create(&user, "watched").await;
    let item = format!("/api/resources/{}", created["id"]);
    for _ in 0..2 {
        client
            .request(Method::GET, &item, Some(&user.token))
            .send()
            .await
            .unwrap();
    }
    client
        .request(Method::GET, &item, None)
        .send()
        .await
        .unwrap();
    client
        .request(
            Method::GET,
            "/api/resources?q=%3Cscript%3E",
            Some(&user.token),
        )
        .send()
        .await
        .unwrap();
    let exported: std::collections::BTreeSet<String> = samples(&api)
        .await
        .into_keys()
        .map(|series| series.split('{').next().unwrap().to_owned())
        .collect();
    for query in queries {
        let mut rest = query;
        while let Some(start) = rest.find("edge_") {
            let name: String = rest[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                exported.contains(&name),
                "the dashboard queries `{name}`, which the API does not export: {query}\n{exported:?}"
            );
            rest = &rest[start + name.len()..];
        }
    }
}
