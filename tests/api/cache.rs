//! The response cache over real HTTP: `X-Cache` MISS then HIT, `ETag` and 304,
//! `If-Match` on writes (412 and nothing changed), writes invalidating the item
//! and the list pages, gzip when asked, and two instances sharing one Redis.
//! Most tests start the API with `--cache-status-header` to read `X-Cache`; by
//! default the shared resource routes send none (the last test).

use std::io::Read;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use crate::support::{Api, Client, User, expect_problem};

/// A GET's status, headers and (decoded) body.
struct Got {
    status: u16,
    headers: HeaderMap,
    raw: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }

    fn x_cache(&self) -> &str {
        self.header("x-cache")
    }

    fn etag(&self) -> String {
        let etag = self.header("etag");
        assert!(etag.starts_with('"'), "no strong ETag: {:?}", self.headers);
        etag.to_owned()
    }

    /// The body, gunzipped when it was sent gzip-encoded.
    fn json(&self) -> Value {
        let bytes = if self.header("content-encoding") == "gzip" {
            gunzip(&self.raw)
        } else {
            self.raw.clone()
        };
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&bytes));
        })
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

async fn get(client: &Client, user: &User, path: &str, headers: &[(&str, &str)]) -> Got {
    let mut request = client.request(Method::GET, path, Some(&user.token));
    for (name, value) in headers {
        request = request.header(*name, HeaderValue::from_str(value).unwrap());
    }
    let response = request.send().await.unwrap();
    Got {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        raw: response.bytes().await.unwrap().to_vec(),
    }
}

async fn put(
    client: &Client,
    user: &User,
    id: i64,
    body: &Value,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut request = client
        .request(
            Method::PUT,
            &format!("/api/resources/{id}"),
            Some(&user.token),
        )
        .json(body);
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.unwrap()
}

async fn delete(client: &Client, user: &User, id: i64, if_match: &str) -> reqwest::Response {
    client
        .request(
            Method::DELETE,
            &format!("/api/resources/{id}"),
            Some(&user.token),
        )
        .header("if-match", if_match)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_get_is_cached_with_an_etag_and_revalidates_with_304() {
    let api = Api::with_accounts(&["--cache-status-header"]).await;
    let client = api.client();
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let created = client.create(&alice, "cached").await;
    let path = format!("/api/resources/{}", created["id"]);

    let first = get(&client, &alice, &path, &[]).await;
    assert_eq!((first.status, first.x_cache()), (200, "MISS"));
    assert_eq!(first.json(), created);
    // The item is the same for every caller: another user's GET is a hit.
    let second = get(&client, &bob, &path, &[]).await;
    assert_eq!((second.status, second.x_cache()), (200, "HIT"));
    assert_eq!(second.raw, first.raw);
    assert_eq!(second.etag(), first.etag());

    let current = get(&client, &alice, &path, &[("if-none-match", &first.etag())]).await;
    assert_eq!((current.status, current.x_cache()), (304, "HIT"));
    assert!(current.raw.is_empty());
    assert_eq!(current.etag(), first.etag());
    let listed = format!("\"0-0\", W/{}", first.etag());
    let weak_match = get(&client, &alice, &path, &[("if-none-match", &listed)]).await;
    assert_eq!(weak_match.status, 304, "If-None-Match compares weakly");
    let stale = get(&client, &alice, &path, &[("if-none-match", "\"0-0\"")]).await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.raw, first.raw);

    // Not cached: what differs per caller, and errors.
    let me = get(&client, &alice, "/api/auth/me", &[]).await;
    assert_eq!((me.status, me.x_cache()), (200, "BYPASS"));
    let trail = get(&client, &alice, &format!("{path}/audit"), &[]).await;
    assert_eq!((trail.status, trail.x_cache()), (200, "BYPASS"));
    assert_eq!(
        get(&client, &bob, &format!("{path}/audit"), &[])
            .await
            .status,
        403
    );
    for _ in 0..2 {
        let missing = get(&client, &alice, "/api/resources/999999", &[]).await;
        assert_eq!((missing.status, missing.x_cache()), (404, "MISS"));
    }
}

#[tokio::test]
async fn if_match_with_a_stale_etag_is_refused_and_changes_nothing() {
    let api = Api::with_accounts(&["--cache-status-header"]).await;
    let client = api.client();
    let alice = client.user("alice").await;
    let created = client.create(&alice, "original").await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/resources/{id}");
    let original = get(&client, &alice, &path, &[]).await;
    let original_tag = original.etag();

    let stale = put(
        &client,
        &alice,
        id,
        &json!({"name": "lost"}),
        Some("\"0-0\""),
    )
    .await;
    expect_problem(stale, 412, "precondition_failed").await;
    let weak = format!("W/{original_tag}");
    let weak = put(&client, &alice, id, &json!({"name": "lost"}), Some(&weak)).await;
    expect_problem(weak, 412, "precondition_failed").await;
    let unchanged = get(&client, &alice, &path, &[]).await;
    assert_eq!(unchanged.json(), created, "a refused write changes nothing");
    let trail = get(&client, &alice, &format!("{path}/audit"), &[]).await;
    assert_eq!(
        trail.json()["items"].as_array().unwrap().len(),
        1,
        "and audits nothing"
    );

    let replaced = put(
        &client,
        &alice,
        id,
        &json!({"name": "second"}),
        Some(&original_tag),
    )
    .await;
    assert_eq!(replaced.status(), 200);
    let new_tag = replaced.headers()["etag"].to_str().unwrap().to_owned();
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(replaced["version"], 2);
    assert_ne!(new_tag, original_tag);

    // The very next GET sees the new version, with the tag the PUT returned.
    let after = get(&client, &alice, &path, &[]).await;
    assert_eq!(after.x_cache(), "MISS");
    assert_eq!(after.json(), replaced);
    assert_eq!(after.etag(), new_tag);

    // The old tag is now stale for PUT and DELETE; `*` and the current tag pass.
    let again = put(
        &client,
        &alice,
        id,
        &json!({"name": "x"}),
        Some(&original_tag),
    )
    .await;
    expect_problem(again, 412, "precondition_failed").await;
    expect_problem(
        delete(&client, &alice, id, &original_tag).await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(get(&client, &alice, &path, &[]).await.json(), replaced);
    let starred = put(&client, &alice, id, &json!({"name": "third"}), Some("*")).await;
    assert_eq!(starred.status(), 200);
    let third_tag = get(&client, &alice, &path, &[]).await.etag();
    assert_eq!(delete(&client, &alice, id, &third_tag).await.status(), 204);
    let gone = get(&client, &alice, &path, &[]).await;
    assert_eq!(gone.status, 404, "a GET right after the DELETE misses");
}

#[tokio::test]
async fn writes_invalidate_the_item_and_every_list_page() {
    let api = Api::with_accounts(&["--cache-status-header"]).await;
    let client = api.client();
    let alice = client.user("alice").await;
    let first = client.create(&alice, "first").await;
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let pages = ["/api/resources", "/api/resources?limit=1"];
    for page in pages {
        assert_eq!(get(&client, &alice, page, &[]).await.x_cache(), "MISS");
        let hit = get(&client, &alice, page, &[]).await;
        assert_eq!(hit.x_cache(), "HIT");
        assert_eq!(names(&hit.json()), ["first"]);
    }
    // The query's order does not make another entry.
    let reordered = get(&client, &alice, "/api/resources?limit=1&", &[]).await;
    assert_eq!(reordered.x_cache(), "HIT");

    client.create(&alice, "second").await;
    for page in pages {
        let after_post = get(&client, &alice, page, &[]).await;
        assert_eq!(after_post.x_cache(), "MISS", "{page}");
        assert_eq!(names(&after_post.json())[0], "second", "{page}");
    }

    let id = first["id"].as_i64().unwrap();
    let item = format!("/api/resources/{id}");
    get(&client, &alice, &item, &[]).await;
    assert_eq!(get(&client, &alice, &item, &[]).await.x_cache(), "HIT");
    let renamed = put(&client, &alice, id, &json!({"name": "renamed"}), None).await;
    assert_eq!(renamed.status(), 200);
    assert_eq!(
        get(&client, &alice, &item, &[]).await.json()["name"],
        "renamed"
    );
    assert_eq!(
        names(&get(&client, &alice, "/api/resources", &[]).await.json()),
        ["second", "renamed"]
    );

    // A refused write invalidates nothing.
    get(&client, &alice, "/api/resources", &[]).await;
    let invalid = put(&client, &alice, id, &json!({"name": ""}), None).await;
    assert_eq!(invalid.status(), 422);
    assert_eq!(
        get(&client, &alice, "/api/resources", &[]).await.x_cache(),
        "HIT"
    );

    let deleted = client
        .request(Method::DELETE, &item, Some(&alice.token))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(get(&client, &alice, &item, &[]).await.status, 404);
    assert_eq!(
        names(&get(&client, &alice, "/api/resources", &[]).await.json()),
        ["second"]
    );
}

#[tokio::test]
async fn json_of_at_least_1_kib_is_gzipped_only_when_asked() {
    let api = Api::with_accounts(&["--cache-status-header"]).await;
    let client = api.client();
    let alice = client.user("alice").await;
    let big = client
        .post_json(
            "/api/resources",
            Some(&alice.token),
            &json!({"name": "big", "description": "lorem ipsum dolor ".repeat(100)}),
        )
        .await;
    assert_eq!(big.status(), 201);
    let big: Value = big.json().await.unwrap();
    let small = client.create(&alice, "small").await;
    let big_path = format!("/api/resources/{}", big["id"]);
    let small_path = format!("/api/resources/{}", small["id"]);
    let gzip = [("accept-encoding", "gzip, br")];

    for expected_cache in ["MISS", "HIT"] {
        let packed = get(&client, &alice, &big_path, &gzip).await;
        assert_eq!(packed.x_cache(), expected_cache);
        assert_eq!(packed.header("content-encoding"), "gzip");
        assert!(
            packed
                .header("vary")
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{:?}",
            packed.headers
        );
        assert!(packed.raw.len() < 1000, "{} bytes", packed.raw.len());
        assert_eq!(packed.json(), big);
    }
    let plain = get(&client, &alice, &big_path, &[]).await;
    assert_eq!(plain.x_cache(), "HIT");
    assert_eq!(plain.header("content-encoding"), "");
    assert_eq!(serde_json::from_slice::<Value>(&plain.raw).unwrap(), big);
    let refused = get(
        &client,
        &alice,
        &big_path,
        &[("accept-encoding", "gzip;q=0")],
    )
    .await;
    assert_eq!(refused.header("content-encoding"), "");

    let below = get(&client, &alice, &small_path, &gzip).await;
    assert_eq!(
        below.header("content-encoding"),
        "",
        "under 1 KiB stays plain"
    );
    assert_eq!(below.json(), small);

    // Uncached JSON is compressed too: the audit trail holds the big description.
    let trail = get(&client, &alice, &format!("{big_path}/audit"), &gzip).await;
    assert_eq!(trail.x_cache(), "BYPASS");
    assert_eq!(trail.header("content-encoding"), "gzip");
    assert_eq!(
        trail.json()["items"][0]["after"]["description"],
        big["description"]
    );
}

#[tokio::test]
async fn two_instances_on_one_redis_share_entries_and_invalidations() {
    let (a, b, _redis) = Api::pair_on_redis(&["--cache-status-header"]).await;
    let (on_a, on_b) = (a.client(), b.client());
    let alice = on_a.user("alice").await;
    let created = on_a.create(&alice, "v1").await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/resources/{id}");

    let stored_by_b = get(&on_b, &alice, &path, &[]).await;
    assert_eq!(stored_by_b.x_cache(), "MISS");
    let shared = get(&on_a, &alice, &path, &[]).await;
    assert_eq!(shared.x_cache(), "HIT", "A reads what B stored in Redis");
    assert_eq!(shared.etag(), stored_by_b.etag());
    assert_eq!(get(&on_b, &alice, &path, &[]).await.x_cache(), "HIT");

    // A write on A, then at once a GET on B: the new version, every time.
    for version in 2..=6 {
        let name = format!("v{version}");
        let replaced = put(&on_a, &alice, id, &json!({"name": name}), None).await;
        assert_eq!(replaced.status(), 200);
        let seen = get(&on_b, &alice, &path, &[]).await;
        assert_eq!(seen.json()["version"], version, "B served a stale version");
        assert_eq!(get(&on_b, &alice, &path, &[]).await.x_cache(), "HIT");
        let listed = get(&on_b, &alice, "/api/resources", &[]).await;
        assert_eq!(listed.json()["items"][0]["name"], name.as_str());
    }
    // And a conditional write on B with the tag read on B.
    let tag = get(&on_b, &alice, &path, &[]).await.etag();
    let guarded = put(&on_b, &alice, id, &json!({"name": "v7"}), Some(&tag)).await;
    assert_eq!(guarded.status(), 200);
    let late = put(&on_a, &alice, id, &json!({"name": "lost"}), Some(&tag)).await;
    expect_problem(late, 412, "precondition_failed").await;
    assert_eq!(get(&on_a, &alice, &path, &[]).await.json()["name"], "v7");
}

#[tokio::test]
async fn an_encoded_alias_of_a_resource_is_the_same_cache_entry_and_is_invalidated() {
    let api = Api::with_accounts(&["--cache-status-header"]).await;
    let client = api.client();
    let user = client.user("alias").await;
    let id = client.create(&user, "original").await["id"]
        .as_i64()
        .unwrap();
    // `%3N` is the digit N: the same URL, spelt differently.
    let alias = {
        let digits = id.to_string();
        let (first, rest) = digits.split_at(1);
        format!("/api/resources/%3{first}{rest}")
    };
    let cached = get(&client, &user, &alias, &[]).await;
    assert_eq!(cached.status, 200);
    let etag = get(&client, &user, &format!("/api/resources/{id}"), &[]).await;
    assert_eq!(etag.x_cache(), "HIT", "one entry for both spellings");
    let tag = etag.header("etag").to_owned();
    let changed = put(&client, &user, id, &json!({"name": "changed"}), Some(&tag)).await;
    assert_eq!(changed.status(), 200);
    let after = get(&client, &user, &alias, &[]).await;
    let body: Value = serde_json::from_slice(&after.raw).unwrap();
    assert_eq!(body["name"], "changed", "the alias was invalidated too");
    // Other spellings of the id have no meaning and are refused.
    for path in [
        format!("/api/resources/0{id}"),
        format!("/api/resources/+{id}"),
    ] {
        expect_problem(
            client
                .request(Method::GET, &path, Some(&user.token))
                .send()
                .await
                .unwrap(),
            400,
            "invalid_parameter",
        )
        .await;
    }
    expect_problem(
        client
            .request(Method::GET, "/api%2Fresources", Some(&user.token))
            .send()
            .await
            .unwrap(),
        400,
        "invalid_parameter",
    )
    .await;
}

#[tokio::test]
async fn shared_resource_responses_do_not_tell_one_user_what_another_read() {
    // Default configuration: bob cannot learn from X-Cache/Age that alice just
    // read the resource; the access log still records hit and miss.
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let id = client.create(&alice, "secret plans").await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/resources/{id}");
    let first = get(&client, &alice, &path, &[]).await;
    let second = get(&client, &bob, &path, &[]).await;
    for got in [&first, &second] {
        assert_eq!(got.status, 200);
        assert_eq!((got.x_cache(), got.header("age")), ("", ""));
        assert!(!got.header("etag").is_empty(), "ETag stays");
    }
    let status = |got: &Got| got.header("x-request-id").to_owned();
    assert_eq!(api.access_line(&status(&first)).await["cache"], "miss");
    assert_eq!(api.access_line(&status(&second)).await["cache"], "hit");
    let list = get(&client, &bob, "/api/resources", &[]).await;
    assert_eq!(list.x_cache(), "");
}
