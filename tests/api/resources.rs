//! Resources over real HTTP: CRUD with audit, the 401/403 matrix, validation,
//! keyset pagination under concurrent inserts, and failed writes leaving no trace.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Api, Client, User, expect_problem};

async fn send(
    client: &Client,
    method: Method,
    path: &str,
    user: Option<&User>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = client.request(method, path, user.map(|u| u.token.as_str()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn audit(client: &Client, user: &User, id: i64) -> Vec<Value> {
    let response = send(
        client,
        Method::GET,
        &format!("/api/resources/{id}/audit"),
        Some(user),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    assert!(page["next_cursor"].is_null(), "a short trail is one page");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn create_read_replace_delete_with_an_audit_trail() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let owner = client.user("owner").await;

    let body = json!({"name": "first", "description": "O'Brien's café", "tags": ["a", "b"], "data": {"k": [1, 2]}});
    let response = send(
        &client,
        Method::POST,
        "/api/resources",
        Some(&owner),
        Some(body),
    )
    .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/resources/{id}"));
    assert_eq!(created["owner_id"], owner.id);
    assert_eq!(created["description"], "O'Brien's café");
    assert_eq!(created["tags"], json!(["a", "b"]));
    assert_eq!(created["data"], json!({"k": [1, 2]}));
    assert_eq!(created["version"], 1);
    for field in ["created_at", "updated_at"] {
        assert!(created[field].as_str().unwrap().contains('T'), "{field}");
    }

    let fetched: Value = send(&client, Method::GET, &location, Some(&owner), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, created);

    let replaced = send(
        &client,
        Method::PUT,
        &location,
        Some(&owner),
        Some(json!({"name": "renamed"})),
    )
    .await;
    assert_eq!(replaced.status(), 200);
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(replaced["version"], 2);
    assert_eq!(replaced["name"], "renamed");
    assert_eq!(
        replaced["description"],
        Value::Null,
        "a PUT replaces every field"
    );
    assert_eq!(replaced["tags"], json!([]));

    let trail = audit(&client, &owner, id).await;
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "update"]);
    assert_eq!(trail[0]["before"], Value::Null);
    assert_eq!(trail[0]["after"]["name"], "first");
    assert_eq!(trail[1]["before"]["name"], "first");
    assert_eq!(trail[1]["after"]["name"], "renamed");
    assert_eq!(trail[1]["actor_id"], owner.id);

    assert_eq!(
        send(&client, Method::DELETE, &location, Some(&owner), None)
            .await
            .status(),
        204
    );
    expect_problem(
        send(&client, Method::GET, &location, Some(&owner), None).await,
        404,
        "not_found",
    )
    .await;
    expect_problem(
        send(&client, Method::DELETE, &location, Some(&owner), None).await,
        404,
        "not_found",
    )
    .await;
    expect_problem(
        send(
            &client,
            Method::PUT,
            &location,
            Some(&owner),
            Some(json!({"name": "x"})),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let trail = audit(&client, &owner, id).await;
    assert_eq!(trail.len(), 3);
    assert_eq!(trail[2]["action"], "delete");
    assert_eq!(trail[2]["after"], Value::Null);
    expect_problem(
        send(
            &client,
            Method::GET,
            "/api/resources/999999/audit",
            Some(&owner),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn the_401_403_matrix_with_admin_override() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let alice = client.user("alice").await;
    let mallory = client.user("mallory").await;
    let admin = api.admin("admin").await;
    let resource = client.create(&alice, "alice's").await;
    let path = format!("/api/resources/{}", resource["id"]);
    let audit_path = format!("{path}/audit");

    // No token, or a bad one: 401 everywhere that needs one.
    let bad = User {
        token: "not.a.token".to_owned(),
        ..alice.clone()
    };
    for user in [None, Some(&bad)] {
        for (method, target, body) in [
            (Method::GET, "/api/resources", None),
            (Method::POST, "/api/resources", Some(json!({"name": "x"}))),
            (Method::GET, path.as_str(), None),
            (Method::PUT, path.as_str(), Some(json!({"name": "x"}))),
            (Method::DELETE, path.as_str(), None),
            (Method::GET, audit_path.as_str(), None),
            (Method::GET, "/api/auth/me", None),
            (
                Method::POST,
                "/api/auth/logout",
                Some(json!({"refresh_token": "x"})),
            ),
        ] {
            let response = send(&client, method.clone(), target, user, body).await;
            assert!(
                response.headers().contains_key("www-authenticate"),
                "{method} {target}"
            );
            expect_problem(response, 401, "unauthorized").await;
        }
    }

    // Another user may read, but not change or audit.
    assert_eq!(
        send(&client, Method::GET, &path, Some(&mallory), None)
            .await
            .status(),
        200
    );
    expect_problem(
        send(
            &client,
            Method::PUT,
            &path,
            Some(&mallory),
            Some(json!({"name": "mine"})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        send(&client, Method::DELETE, &path, Some(&mallory), None).await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        send(&client, Method::GET, &audit_path, Some(&mallory), None).await,
        403,
        "forbidden",
    )
    .await;
    let unchanged: Value = send(&client, Method::GET, &path, Some(&alice), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["name"], "alice's");
    assert_eq!(unchanged["version"], 1);

    // An admin may do all of it.
    let response = send(
        &client,
        Method::PUT,
        &path,
        Some(&admin),
        Some(json!({"name": "moderated"})),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        audit(&client, &admin, resource["id"].as_i64().unwrap())
            .await
            .len(),
        2
    );
    assert_eq!(
        send(&client, Method::DELETE, &path, Some(&admin), None)
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn ids_limits_and_cursors_are_validated() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let user = client.user("validator").await;
    for id in [
        "abc",
        "0",
        "-1",
        "1.5",
        "99999999999999999999",
        "9223372036854775808",
    ] {
        let body = expect_problem(
            send(
                &client,
                Method::GET,
                &format!("/api/resources/{id}"),
                Some(&user),
                None,
            )
            .await,
            400,
            "invalid_parameter",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains("id"), "{body}");
    }
    for query in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "limit=-5",
        "cursor=garbage",
        "cursor=",
        "limit=1e2",
    ] {
        let response = send(
            &client,
            Method::GET,
            &format!("/api/resources?{query}"),
            Some(&user),
            None,
        )
        .await;
        expect_problem(response, 400, "invalid_parameter").await;
    }
    assert_eq!(
        send(
            &client,
            Method::GET,
            "/api/resources?limit=100",
            Some(&user),
            None
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn bodies_are_validated_and_every_violation_is_listed() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let user = client.user("writer").await;
    let body = json!({
        "name": "",
        "description": "d".repeat(10_001),
        "tags": ["dup", "dup", "", "t".repeat(33), 5],
        "data": "not an object",
        "owner_id": 1
    });
    let problem = expect_problem(
        send(
            &client,
            Method::POST,
            "/api/resources",
            Some(&user),
            Some(body),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let fields: HashSet<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for expected in [
        "/name",
        "/description",
        "/tags",
        "/tags/2",
        "/tags/3",
        "/tags/4",
        "/data",
        "/owner_id",
    ] {
        assert!(fields.contains(expected), "{expected} not in {fields:?}");
    }
    let too_many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    expect_problem(
        send(
            &client,
            Method::POST,
            "/api/resources",
            Some(&user),
            Some(json!({"name": "n", "tags": too_many})),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let big = json!({"name": "n", "data": {"blob": "x".repeat(64 * 1024)}});
    expect_problem(
        send(
            &client,
            Method::POST,
            "/api/resources",
            Some(&user),
            Some(big),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    expect_problem(
        send(
            &client,
            Method::POST,
            "/api/resources",
            Some(&user),
            Some(json!([1, 2])),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    // At the limits, all is well.
    let edge = json!({"name": "n".repeat(200), "description": "d".repeat(10_000), "tags": (0..20).map(|i| format!("{i:0>32}")).collect::<Vec<_>>()});
    assert_eq!(
        send(
            &client,
            Method::POST,
            "/api/resources",
            Some(&user),
            Some(edge)
        )
        .await
        .status(),
        201
    );
}

#[tokio::test]
async fn a_failed_write_leaves_no_audit_row() {
    // Detect-only filtering lets the NUL through, so PostgreSQL is the one to refuse it.
    let api = Api::with_accounts(&["--filter-mode", "detect"]).await;
    let client = api.client();
    let user = client.user("careful").await;
    let resource = client.create(&user, "kept").await;
    let id = resource["id"].as_i64().unwrap();
    let path = format!("/api/resources/{id}");

    // PostgreSQL refuses NUL in text: the replacement fails inside its transaction.
    let response = send(
        &client,
        Method::PUT,
        &path,
        Some(&user),
        Some(json!({"name": "bad\u{0}name"})),
    )
    .await;
    assert!(response.status().is_client_error(), "{}", response.status());
    // A refused replacement by someone else fails too, after the row was locked.
    let other = client.user("other").await;
    expect_problem(
        send(
            &client,
            Method::PUT,
            &path,
            Some(&other),
            Some(json!({"name": "x"})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        send(&client, Method::DELETE, &path, Some(&other), None).await,
        403,
        "forbidden",
    )
    .await;

    let current: Value = send(&client, Method::GET, &path, Some(&user), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (current["name"].as_str(), current["version"].as_i64()),
        (Some("kept"), Some(1))
    );
    assert_eq!(
        audit(&client, &user, id).await.len(),
        1,
        "only the create is audited"
    );

    // A refused create leaves neither a resource nor an audit row.
    let before: Value = send(
        &client,
        Method::GET,
        "/api/resources?limit=100",
        Some(&user),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let response = send(
        &client,
        Method::POST,
        "/api/resources",
        Some(&user),
        Some(json!({"name": "x", "description": "nul\u{0}"})),
    )
    .await;
    assert!(response.status().is_client_error());
    let after: Value = send(
        &client,
        Method::GET,
        "/api/resources?limit=100",
        Some(&user),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        before["items"].as_array().unwrap().len(),
        after["items"].as_array().unwrap().len()
    );
    let next_id = client.create(&user, "next").await["id"].as_i64().unwrap();
    for skipped in (id + 1)..next_id {
        // An id used by the failed insert (sequences are not transactional) has no audit rows.
        let response = send(
            &client,
            Method::GET,
            &format!("/api/resources/{skipped}/audit"),
            Some(&user),
            None,
        )
        .await;
        expect_problem(response, 404, "not_found").await;
    }
}

#[tokio::test]
async fn walking_all_pages_during_inserts_sees_every_existing_resource_once() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let user = client.user("walker").await;
    let mut existing = HashSet::new();
    for i in 0..45 {
        existing.insert(
            client.create(&user, &format!("r{i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }

    let inserter = {
        let (client, user) = (client.clone(), user.clone());
        tokio::spawn(async move {
            for i in 0..30 {
                client.create(&user, &format!("new{i}")).await;
            }
        })
    };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/resources?limit=7&cursor={c}"),
            None => "/api/resources?limit=7".to_owned(),
        };
        let page: Value = send(&client, Method::GET, &path, Some(&user), None)
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        let ids: Vec<i64> = items.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert!(
            ids.windows(2).all(|w| w[0] > w[1]),
            "not newest first: {ids:?}"
        );
        seen.extend(ids);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        tokio::task::yield_now().await;
    }
    inserter.await.unwrap();

    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a resource appeared twice");
    let missing: Vec<_> = existing.difference(&unique).collect();
    assert!(
        missing.is_empty(),
        "resources that existed at the start were skipped: {missing:?}"
    );
}

/// Walk every page of `path` (a list or an audit trail) with `limit`; the pages'
/// item counts and every item id in order.
async fn walk(client: &Client, user: &User, path: &str, limit: u32) -> (Vec<usize>, Vec<i64>) {
    let (mut pages, mut ids) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
            None => format!("{path}?limit={limit}"),
        };
        let response = send(client, Method::GET, &url, Some(user), None).await;
        assert_eq!(response.status(), 200);
        let body = response.bytes().await.unwrap();
        assert!(
            body.len() <= (1 << 20) + 1024,
            "a page of {} bytes",
            body.len()
        );
        let page: Value = serde_json::from_slice(&body).unwrap();
        let items = page["items"].as_array().unwrap();
        pages.push(items.len());
        ids.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (pages, ids),
        }
    }
}

#[tokio::test]
async fn big_list_and_audit_pages_stop_at_a_byte_budget_and_lose_nothing() {
    let api = Api::with_accounts(&["--rate-limit-write", "1000/1m"]).await;
    let client = api.client();
    let user = client.user("hoarder").await;
    // ~70 KiB per resource (64 KiB of data plus a long description).
    let big = |i: usize| {
        json!({
            "name": format!("big {i}"),
            "description": "d".repeat(9000),
            "data": {"blob": "b".repeat(60 * 1024)}
        })
    };
    let mut created = Vec::new();
    for i in 0..18 {
        let response = send(
            &client,
            Method::POST,
            "/api/resources",
            Some(&user),
            Some(big(i)),
        )
        .await;
        assert_eq!(response.status(), 201);
        created.push(
            response.json::<Value>().await.unwrap()["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let (pages, ids) = walk(&client, &user, "/api/resources", 100).await;
    assert!(pages.len() >= 2 && pages[0] < 18, "pages {pages:?}");
    created.reverse();
    assert_eq!(ids, created, "every resource once, newest first");

    // The audit trail of one resource updated many times pages the same way.
    let id = created[0];
    for i in 0..8 {
        let response = send(
            &client,
            Method::PUT,
            &format!("/api/resources/{id}"),
            Some(&user),
            Some(big(100 + i)),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    let (pages, entries) = walk(&client, &user, &format!("/api/resources/{id}/audit"), 100).await;
    assert!(pages.len() >= 2, "pages {pages:?}");
    assert_eq!(entries.len(), 9);
    assert!(entries.windows(2).all(|w| w[0] < w[1]), "oldest first");
    let (small_pages, _) = walk(&client, &user, &format!("/api/resources/{id}/audit"), 4).await;
    assert_eq!(small_pages, [4, 4, 1]);
}

#[tokio::test]
async fn a_write_stuck_behind_a_lock_is_cancelled_by_the_statement_timeout() {
    let database = edge_test_support::harness::fresh_database().await;
    let api = Api::start(&[
        "--database-url",
        &database.url,
        "--jwt-secret",
        crate::support::JWT_SECRET,
        "--db-statement-timeout",
        "500ms",
    ])
    .await;
    let client = api.client();
    let user = client.user("locked").await;
    let id = client.create(&user, "contended").await["id"]
        .as_i64()
        .unwrap();
    // Another session holds the row.
    let (mut holder, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let lock = holder.transaction().await.unwrap();
    lock.execute("SELECT 1 FROM resources WHERE id = $1 FOR UPDATE", &[&id])
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let response = send(
        &client,
        Method::PUT,
        &format!("/api/resources/{id}"),
        Some(&user),
        Some(json!({"name": "waits"})),
    )
    .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the write waited {:?}",
        started.elapsed()
    );
    assert_eq!(response.headers()["retry-after"], "1");
    expect_problem(response, 503, "service_unavailable").await;
    lock.rollback().await.unwrap();
}
