//! Live settings over HTTP, two API processes on one database: an admin's
//! change on one instance is in force on the other within a second, without a
//! restart; invalid changes are refused whole; only admins may read or change
//! them; a stale `If-Match` is a 412; a change under load fails no request.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Api, Client, JWT_SECRET, ScratchDir, User, expect_problem};

const SETTINGS: &str = "/api/admin/settings";

/// Two instances on one fresh database (one JWT secret), each with its own
/// security log in `logs`.
async fn pair(logs: &ScratchDir, extra: &[&str]) -> (Api, Api) {
    let database = edge_test_support::harness::fresh_database().await;
    let start = async |name: &str| {
        let log = logs.path().join(name);
        let mut args = vec![
            "--database-url",
            &database.url,
            "--jwt-secret",
            JWT_SECRET,
            "--security-log",
            log.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        Api::start(&args).await
    };
    (start("a.log").await, start("b.log").await)
}

async fn put(
    client: &Client,
    admin: &User,
    if_match: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = client
        .request(Method::PUT, SETTINGS, Some(&admin.token))
        .json(&body);
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.unwrap()
}

async fn settings(client: &Client, admin: &User) -> (String, Value) {
    let response = client
        .request(Method::GET, SETTINGS, Some(&admin.token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (etag, response.json().await.unwrap())
}

/// Poll `done` for at most a second (the settings' promise), then fail.
async fn within_a_second(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !done().await {
        assert!(Instant::now() < deadline, "not within a second: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_lower_user_limit_set_on_one_instance_limits_the_next_requests_on_the_other() {
    let logs = ScratchDir::new();
    let (a, b) = pair(&logs, &["--rate-limit-user", "1000/1m"]).await;
    let (on_a, on_b) = (a.client(), b.client());
    let admin = a.admin("boss").await;
    let (etag, before) = settings(&on_b, &admin).await;
    assert_eq!(etag, "\"1\"");
    assert_eq!(before["version"], 1);
    assert_eq!(before["rate_limits"]["user"], "1000/1m");
    assert_eq!(before["filter_mode"], "block");

    let changed = put(
        &on_a,
        &admin,
        Some(&etag),
        json!({"rate_limits": {"user": "3/1m"}}),
    )
    .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.headers()["etag"], "\"2\"");
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["rate_limits"]["user"], "3/1m");
    // Only what was sent changed.
    assert_eq!(changed["rate_limits"]["ip"], before["rate_limits"]["ip"]);
    assert_eq!(changed["cache_ttl"], before["cache_ttl"]);

    // B, not restarted, limits a user's requests by the new quota.
    let carol = on_a.user("carol").await;
    let me = async || {
        on_b.request(Method::GET, "/api/auth/me", Some(&carol.token))
            .send()
            .await
            .unwrap()
    };
    within_a_second("B applies the new user limit", async || {
        me().await
            .headers()
            .get("x-ratelimit-limit")
            .and_then(|v| v.to_str().ok())
            == Some("3")
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(me().await.status().as_u16());
    }
    assert_eq!(
        statuses,
        [200, 200, 429, 429],
        "3 a minute, one used while polling"
    );
}

#[tokio::test]
async fn detection_only_set_on_one_instance_lets_a_payload_through_on_the_other_and_logs_it() {
    let logs = ScratchDir::new();
    let (a, b) = pair(&logs, &[]).await;
    let (on_a, on_b) = (a.client(), b.client());
    let admin = a.admin("boss").await;
    let alice = on_b.user("alice").await;
    let attack = json!({"name": "1' OR '1'='1' --"});
    let blocked = on_b
        .post_json("/api/resources", Some(&alice.token), &attack)
        .await;
    expect_problem(blocked, 403, "request_blocked").await;

    let changed = put(&on_a, &admin, None, json!({"filter_mode": "detect"})).await;
    assert_eq!(changed.status(), 200);
    within_a_second("B lets the payload through", async || {
        on_b.post_json("/api/resources", Some(&alice.token), &attack)
            .await
            .status()
            == 201
    })
    .await;
    // B's security log has the block and then the detection.
    let log = logs.path().join("b.log");
    let deadline = Instant::now() + Duration::from_secs(5);
    let actions = loop {
        let actions: Vec<String> = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap()["action"].to_string())
            .collect();
        if actions.iter().any(|a| a == "\"detected\"") || Instant::now() > deadline {
            break actions;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(actions.first().map(String::as_str), Some("\"blocked\""));
    assert!(actions.iter().any(|a| a == "\"detected\""), "{actions:?}");
}

#[tokio::test]
async fn an_invalid_change_is_refused_whole_with_every_error_and_nothing_changes() {
    let api = Api::with_fresh_database(&[]).await;
    let client = api.client();
    let admin = api.admin("boss").await;
    let (etag, before) = settings(&client, &admin).await;
    let invalid = json!({
        "rate_limits": {"user": "9999999999/1m", "read": "5/1m"},
        "filter_rules_off": ["no-such-rule"],
        "cache_ttl": "soon",
        "filter_mode": "detect"
    });
    let refused = put(&client, &admin, Some(&etag), invalid).await;
    let problem = expect_problem(refused, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["/rate_limits/user", "/filter_rules_off/0", "/cache_ttl"],
        "{problem}"
    );
    // The schema's own checks: a key that is not a setting, a malformed quota.
    let malformed = put(&client, &admin, None, json!({"colour": "red"})).await;
    expect_problem(malformed, 422, "validation_failed").await;
    let malformed = put(
        &client,
        &admin,
        None,
        json!({"rate_limits": {"ip": "lots"}}),
    )
    .await;
    expect_problem(malformed, 422, "validation_failed").await;
    // Nothing changed, not even the valid parts.
    assert_eq!(settings(&client, &admin).await, (etag, before));
}

#[tokio::test]
async fn only_admins_read_or_change_the_settings() {
    let api = Api::with_fresh_database(&[]).await;
    let client = api.client();
    let alice = client.user("alice").await;
    for method in [Method::GET, Method::PUT] {
        let as_user = client
            .request(method.clone(), SETTINGS, Some(&alice.token))
            .json(&json!({"cache_ttl": "1s"}))
            .send()
            .await
            .unwrap();
        expect_problem(as_user, 403, "forbidden").await;
        let anonymous = client
            .request(method, SETTINGS, None)
            .json(&json!({"cache_ttl": "1s"}))
            .send()
            .await
            .unwrap();
        expect_problem(anonymous, 401, "unauthorized").await;
    }
}

#[tokio::test]
async fn concurrent_changes_from_one_version_give_one_200_and_one_412() {
    let api = Api::with_fresh_database(&[]).await;
    let client = api.client();
    let admin = api.admin("boss").await;
    let (etag, _) = settings(&client, &admin).await;
    let (first, second) = tokio::join!(
        put(&client, &admin, Some(&etag), json!({"cache_ttl": "5s"})),
        put(&client, &admin, Some(&etag), json!({"cache_ttl": "7s"})),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);
    let (etag, now) = settings(&client, &admin).await;
    assert_eq!((etag.as_str(), &now["version"]), ("\"2\"", &json!(2)));
    // A version in the body is checked the same way.
    let stale = put(
        &client,
        &admin,
        None,
        json!({"version": 1, "cache_ttl": "9s"}),
    )
    .await;
    expect_problem(stale, 412, "precondition_failed").await;
    // The change is audited like a resource's.
    let (count,): (i64,) = {
        let database_url = api.database_url().unwrap();
        let (db, connection) = tokio_postgres::connect(&database_url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let row = db
            .query_one(
                "SELECT count(*) FROM settings_audit WHERE actor_id = $1 AND version = 2",
                &[&admin.id],
            )
            .await
            .unwrap();
        (row.get(0),)
    };
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_change_under_load_fails_no_request() {
    let logs = ScratchDir::new();
    let (a, b) = pair(
        &logs,
        &[
            "--rate-limit-user",
            "1000000/1m",
            "--rate-limit-read",
            "1000000/1m",
            "--rate-limit-ip",
            "1000000/1m",
        ],
    )
    .await;
    let (on_a, on_b) = (a.client(), b.client());
    let admin = a.admin("boss").await;
    let alice = on_a.user("alice").await;
    let id = on_a.create(&alice, "loaded").await["id"].as_i64().unwrap();
    let path = format!("/api/resources/{id}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..8)
        .map(|i| {
            let client = if i % 2 == 0 {
                on_a.clone()
            } else {
                on_b.clone()
            };
            let (path, token, stop) = (path.clone(), alice.token.clone(), stop.clone());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                let mut sent = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match client
                        .request(Method::GET, &path, Some(&token))
                        .send()
                        .await
                    {
                        Ok(response) if response.status() == 200 => {}
                        Ok(response) => failures.push(response.status().to_string()),
                        Err(error) => failures.push(error.to_string()),
                    }
                    sent += 1;
                }
                (sent, failures)
            })
        })
        .collect();
    for change in [
        json!({"cache_ttl": "0s"}),
        json!({"filter_mode": "detect"}),
        json!({"rate_limits": {"read": "999999/1m"}}),
        json!({"cache_ttl": "30s", "filter_mode": "block"}),
        json!({"filter_rules_off": ["xss-css-expression"]}),
    ] {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(put(&on_a, &admin, None, change).await.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for task in load {
        let (sent, failures) = task.await.unwrap();
        assert!(failures.is_empty(), "{failures:?}");
        total += sent;
    }
    assert!(total > 100, "only {total} requests were sent");
}

#[tokio::test]
async fn sighup_stores_the_settings_file_as_a_new_version_and_logs_what_changed() {
    let dir = ScratchDir::new();
    let file = dir.path().join("settings.json");
    let api = Api::with_fresh_database(&["--settings-file", file.to_str().unwrap()]).await;
    let client = api.client();
    let admin = api.admin("boss").await;
    // Not read at start.
    std::fs::write(
        &file,
        r#"{"rate_limits": {"write": "2/1m"}, "cache_ttl": "0s"}"#,
    )
    .unwrap();
    assert_eq!(settings(&client, &admin).await.0, "\"1\"");

    api.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    let now = loop {
        let (etag, now) = settings(&client, &admin).await;
        if etag == "\"2\"" || Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(now["version"], 2);
    assert_eq!(
        (
            now["rate_limits"]["write"].as_str(),
            now["cache_ttl"].as_str()
        ),
        (Some("2/1m"), Some("0s"))
    );
    let log = api.log();
    assert!(log.contains("settings changed"), "{log}");
    assert!(log.contains("rate_limits.write"), "{log}");

    // An invalid file: an error in the log, nothing changes.
    std::fs::write(&file, r#"{"filter_mode": "sometimes"}"#).unwrap();
    api.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !api.log().contains("was not applied") {
        assert!(Instant::now() < deadline, "no error logged:\n{}", api.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(settings(&client, &admin).await.0, "\"2\"");
}

#[tokio::test]
async fn a_routes_own_cache_ttl_turns_caching_of_that_route_off_and_on() {
    let api = Api::with_fresh_database(&["--cache-status-header"]).await;
    let client = api.client();
    let admin = api.admin("boss").await;
    let alice = client.user("alice").await;
    let id = client.create(&alice, "cached").await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/resources/{id}");
    let x_cache = async || {
        let response = client
            .request(Method::GET, &path, Some(&alice.token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.headers()["x-cache"].to_str().unwrap().to_owned()
    };
    x_cache().await;
    assert_eq!(x_cache().await, "HIT");
    let off = json!({"cache_routes": {"/api/resources/{id}": "0s"}});
    assert_eq!(put(&client, &admin, None, off).await.status(), 200);
    assert_eq!(x_cache().await, "BYPASS");
    // The list keeps the default TTL; an unknown route is refused.
    let unknown = put(
        &client,
        &admin,
        None,
        json!({"cache_routes": {"/api/nope": "1s"}}),
    )
    .await;
    let problem = expect_problem(unknown, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "/cache_routes/~1api~1nope");
    let on = json!({"cache_routes": {"/api/resources/{id}": "1m"}});
    let (_, now) = settings(&client, &admin).await;
    assert_eq!(now["cache_routes"]["/api/resources/{id}"], "0s");
    assert_eq!(put(&client, &admin, None, on).await.status(), 200);
    x_cache().await;
    assert_eq!(x_cache().await, "HIT");
}

#[tokio::test]
async fn the_admin_list_is_a_setting_applied_from_each_accounts_next_login() {
    let api = Api::with_fresh_database(&[]).await;
    let client = api.client();
    let boss = api.admin("boss").await;
    client.user("alice").await;
    let (_, now) = settings(&client, &boss).await;
    assert_eq!(now["admins"], json!(["boss"]));
    // An unknown account: refused, nothing changes.
    let unknown = put(&client, &boss, None, json!({"admins": ["boss", "nobody"]})).await;
    let problem = expect_problem(unknown, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "/admins/1");
    assert_eq!(settings(&client, &boss).await.1["admins"], json!(["boss"]));

    let changed = put(&client, &boss, None, json!({"admins": ["alice"]})).await;
    assert_eq!(changed.status(), 200);
    assert_eq!(
        changed.json::<Value>().await.unwrap()["admins"],
        json!(["alice"])
    );
    // From their next login: alice reads the settings, boss may not any more.
    let login = |name: &'static str| {
        let client = client.clone();
        async move {
            let pair: Value = client
                .login(name, "correct horse battery")
                .await
                .json()
                .await
                .unwrap();
            pair["access_token"].as_str().unwrap().to_owned()
        }
    };
    let alice = login("alice").await;
    let as_alice = client
        .request(Method::GET, SETTINGS, Some(&alice))
        .send()
        .await
        .unwrap();
    assert_eq!(as_alice.status(), 200);
    let boss_again = login("boss").await;
    let as_boss = client
        .request(Method::GET, SETTINGS, Some(&boss_again))
        .send()
        .await
        .unwrap();
    expect_problem(as_boss, 403, "forbidden").await;
}
