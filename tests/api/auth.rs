//! Accounts and tokens over real HTTP: register, login, refresh rotation, logout,
//! me, and the hostile-token table.

use edge_test_support::jwt;
use reqwest::Method;
use serde_json::json;

use crate::support::{Api, JWT_SECRET, expect_problem};

#[tokio::test]
async fn register_validates_and_refuses_taken_names_in_any_case() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let response = client.register("Alice_1", "correct horse battery").await;
    assert_eq!(response.status(), 201);
    let account: serde_json::Value = response.json().await.unwrap();
    assert_eq!(account["username"], "Alice_1");
    assert_eq!(account["role"], "user");
    assert!(account["id"].as_i64().unwrap() > 0);
    assert!(chrono_like(account["created_at"].as_str().unwrap()));
    assert!(account.get("password_hash").is_none());

    expect_problem(
        client.register("alice_1", "another password").await,
        409,
        "conflict",
    )
    .await;

    let body = expect_problem(
        client.register("a", "short").await,
        422,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["/username", "/password"]);
    expect_problem(
        client.register("bad name!", "long enough pw").await,
        422,
        "validation_failed",
    )
    .await;
    expect_problem(
        client.register(&"x".repeat(33), "long enough pw").await,
        422,
        "validation_failed",
    )
    .await;
    expect_problem(
        client.register("bob", &"p".repeat(129)).await,
        422,
        "validation_failed",
    )
    .await;

    let not_json = client
        .request(Method::POST, "/api/auth/register", None)
        .body("username=bob")
        .send()
        .await
        .unwrap();
    expect_problem(not_json, 415, "unsupported_media_type").await;
    let broken = client
        .request(Method::POST, "/api/auth/register", None)
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    expect_problem(broken, 400, "invalid_json").await;
}

fn chrono_like(s: &str) -> bool {
    s.len() >= 20
        && s.as_bytes()[4] == b'-'
        && s.contains('T')
        && (s.ends_with('Z') || s.contains('+'))
}

#[tokio::test]
async fn login_gives_a_pair_and_the_same_401_for_unknown_users_and_wrong_passwords() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    assert_eq!(
        client
            .register("carol", "correct horse battery")
            .await
            .status(),
        201
    );

    let response = client.login("CAROL", "correct horse battery").await;
    assert_eq!(response.status(), 200);
    let pair: serde_json::Value = response.json().await.unwrap();
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    assert!(pair["access_token"].as_str().unwrap().split('.').count() == 3);
    assert!(pair["refresh_token"].as_str().unwrap().len() >= 43);

    let wrong = expect_problem(
        client.login("carol", "wrong password!").await,
        401,
        "unauthorized",
    )
    .await;
    let unknown = expect_problem(
        client.login("nobody", "wrong password!").await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    expect_problem(client.login("x", "y").await, 401, "unauthorized").await;
    expect_problem(
        client
            .post_json("/api/auth/login", None, &json!({"username": "carol"}))
            .await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn me_answers_for_the_token_and_only_an_operator_grants_admin() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let dave = client.user("dave").await;
    let response = client
        .request(Method::GET, "/api/auth/me", Some(&dave.token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        me,
        json!({"id": dave.id, "username": "dave", "role": "user"})
    );

    // Registering a name an operator means to promote gives no admin role...
    let boss = client.user("Boss").await;
    let me = |token: String| {
        let client = client.clone();
        async move {
            client
                .request(Method::GET, "/api/auth/me", Some(&token))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(me(boss.token.clone()).await["role"], "user");
    // ...the operator grants it to the existing account (any case), effective
    // from the next login or refresh.
    let granted = api.operator(&["grant-admin", "boss"]);
    assert!(granted.status.success(), "{granted:?}");
    let refreshed: serde_json::Value = client
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": boss.refresh}),
        )
        .await
        .json()
        .await
        .unwrap();
    let admin_token = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(admin_token).await["role"], "admin");
    let revoked = api.operator(&["revoke-admin", "boss"]);
    assert!(revoked.status.success(), "{revoked:?}");
    let login: serde_json::Value = client
        .login("boss", "correct horse battery")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me(login["access_token"].as_str().unwrap().to_owned()).await["role"],
        "user"
    );
    // Unknown accounts are an error, not a silent no-op.
    let unknown = api.operator(&["grant-admin", "nobody"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account is named nobody"));

    let response = client
        .request(Method::GET, "/api/auth/me", None)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"edge\""
    );
    expect_problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let erin = client.user("erin").await;

    let response = client
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": erin.refresh}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let second: serde_json::Value = response.json().await.unwrap();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, erin.refresh);
    let me = client
        .request(Method::GET, "/api/auth/me", second["access_token"].as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // The first token was rotated away: presenting it again is reuse...
    expect_problem(
        client
            .post_json(
                "/api/auth/refresh",
                None,
                &json!({"refresh_token": erin.refresh}),
            )
            .await,
        401,
        "unauthorized",
    )
    .await;
    // ...which revokes its family, so the newest token is dead too.
    expect_problem(
        client
            .post_json(
                "/api/auth/refresh",
                None,
                &json!({"refresh_token": second_refresh}),
            )
            .await,
        401,
        "unauthorized",
    )
    .await;
    expect_problem(
        client
            .post_json(
                "/api/auth/refresh",
                None,
                &json!({"refresh_token": "made-up"}),
            )
            .await,
        401,
        "unauthorized",
    )
    .await;
    // Other sessions of the same account are untouched.
    let fresh = client
        .login("erin", "correct horse battery")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let response = client
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": fresh["refresh_token"]}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let frank = client.user("frank").await;
    let body = json!({"refresh_token": frank.refresh});
    expect_problem(
        client.post_json("/api/auth/logout", None, &body).await,
        401,
        "unauthorized",
    )
    .await;
    // Another account cannot end frank's session with his refresh token.
    let mallory = client.user("mallory").await;
    expect_problem(
        client
            .post_json("/api/auth/logout", Some(&mallory.token), &body)
            .await,
        401,
        "unauthorized",
    )
    .await;
    // ...his session is intact: the token still rotates.
    let rotated = client.post_json("/api/auth/refresh", None, &body).await;
    assert_eq!(rotated.status(), 200);
    assert_eq!(rotated.headers()["cache-control"], "no-store");
    let rotated: serde_json::Value = rotated.json().await.unwrap();
    let body = json!({"refresh_token": rotated["refresh_token"]});
    let response = client
        .post_json("/api/auth/logout", Some(&frank.token), &body)
        .await;
    assert_eq!(response.status(), 204);
    expect_problem(
        client.post_json("/api/auth/refresh", None, &body).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn token_responses_are_not_stored_by_caches() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    client.user("hank").await;
    let login = client.login("hank", "correct horse battery").await;
    assert_eq!(login.status(), 200);
    assert_eq!(login.headers()["cache-control"], "no-store");
    assert_eq!(login.headers()["pragma"], "no-cache");
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime() {
    let api = Api::with_accounts(&["--session-ttl", "2s", "--refresh-ttl", "1h"]).await;
    let client = api.client();
    let ivy = client.user("ivy").await;
    let rotated: serde_json::Value = client
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": ivy.refresh}),
        )
        .await
        .json()
        .await
        .unwrap();
    // Wall-clock time: the session's end is stored in PostgreSQL.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    expect_problem(
        client
            .post_json(
                "/api/auth/refresh",
                None,
                &json!({"refresh_token": rotated["refresh_token"]}),
            )
            .await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn every_hostile_token_is_401_and_a_lowercase_scheme_is_fine() {
    let api = Api::with_accounts(&[]).await;
    let client = api.client();
    let gina = client.user("gina").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = jwt::claims_at(&gina.id.to_string(), now);

    // The crafted valid token passes, so each failure below is due to its one defect.
    let valid = jwt::sign(&json!({"alg": "HS256"}), &claims, JWT_SECRET.as_bytes());
    let response = client
        .request(Method::GET, "/api/auth/me", Some(&valid))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let lowercase = client
        .request(Method::GET, "/api/auth/me", None)
        .header("authorization", format!("bearer {}", gina.token))
        .send()
        .await
        .unwrap();
    assert_eq!(lowercase.status(), 200);

    for (name, token) in jwt::hostile_tokens_for(&claims, JWT_SECRET.as_bytes()) {
        let response = client
            .request(Method::GET, "/api/auth/me", None)
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{name}");
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer realm=\"edge\", error="),
            "{name}"
        );
        expect_problem(response, 401, "unauthorized").await;
    }
    for header in ["Bearer", "Bearer ", "Basic Z2luYTpwdw=="] {
        let response = client
            .request(Method::GET, "/api/auth/me", None)
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        expect_problem(response, 401, "unauthorized").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_hashing_is_bounded_and_a_saturated_login_gets_503_with_retry_after() {
    // One hash at a time, no waiting: concurrent logins beyond it are turned away
    // instead of queueing 19 MiB hashes without bound.
    let api = Api::with_accounts(&[
        "--password-hashes",
        "1",
        "--password-hash-wait",
        "1ms",
        "--rate-limit-login",
        "100/1m",
    ])
    .await;
    let client = api.client();
    client.user("jack").await;
    // A client (connection) each, all started together.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(12));
    let logins: Vec<_> = (0..12)
        .map(|_| {
            let (client, start) = (api.client(), std::sync::Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                client.login("jack", "correct horse battery").await
            })
        })
        .collect();
    let (mut ok, mut busy) = (0, 0);
    for login in logins {
        let response = login.await.unwrap();
        match response.status().as_u16() {
            200 => ok += 1,
            503 => {
                assert_eq!(response.headers()["retry-after"], "1");
                expect_problem(response, 503, "service_unavailable").await;
                busy += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        ok >= 1 && busy >= 1,
        "{ok} logins served, {busy} turned away"
    );
}
