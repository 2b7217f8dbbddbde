//! Keys from an OIDC provider over HTTP: discovery, the JWK set, rotation
//! picked up on an unknown `kid` (rate-limited) and periodically. The provider
//! is a small axum server on loopback serving what a real one does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use edge_auth::Validator;
use edge_auth::oidc::{OidcError, RemoteJwks};
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::json;

#[derive(Default)]
struct Provider {
    issuer: Mutex<String>,
    jwks: Mutex<serde_json::Value>,
    fetches: AtomicUsize,
}

async fn start() -> (Arc<Provider>, String) {
    let provider = Arc::new(Provider::default());
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|State(p): State<Arc<Provider>>| async move {
                let issuer = p.issuer.lock().unwrap().clone();
                axum::Json(json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")}))
            }),
        )
        .route(
            "/jwks",
            get(|State(p): State<Arc<Provider>>| async move {
                p.fetches.fetch_add(1, Ordering::SeqCst);
                axum::Json(p.jwks.lock().unwrap().clone())
            }),
        )
        .with_state(Arc::clone(&provider));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    *provider.issuer.lock().unwrap() = issuer.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (provider, issuer)
}

/// A signing key and its public JWK named `kid`.
fn key(kid: &str) -> (Jwk, serde_json::Value) {
    let pair = RS256.generate_key_pair(2048).unwrap();
    let (mut private, mut public) = (pair.to_jwk_private_key(), pair.to_jwk_public_key());
    for jwk in [&mut private, &mut public] {
        jwk.set_key_id(kid);
        jwk.set_algorithm("RS256");
    }
    (private, serde_json::Value::Object(public.as_ref().clone()))
}

fn token(issuer: &str, private: &Jwk, kid: &str) -> String {
    let mut payload = JwtPayload::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (name, value) in [
        ("sub", json!("ada")),
        ("iss", json!(issuer)),
        ("exp", json!(now + 600)),
        ("scope", json!("items:read")),
    ] {
        payload.set_claim(name, Some(value)).unwrap();
    }
    let mut header = JwsHeader::new();
    header.set_key_id(kid);
    jwt::encode_with_signer(&payload, &header, &RS256.signer_from_jwk(private).unwrap()).unwrap()
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn keys_are_discovered_and_a_rotation_is_picked_up() {
    let (provider, issuer) = start().await;
    let (first, first_public) = key("k1");
    let (second, second_public) = key("k2");
    *provider.jwks.lock().unwrap() = json!({"keys": [first_public]});

    let jwks = RemoteJwks::discover(&issuer)
        .await
        .unwrap()
        .min_refresh_gap(Duration::from_millis(300));
    let validator = Validator::builder(issuer.as_str())
        .role_claim("scope")
        .jwks(jwks.keys())
        .build()
        .unwrap();
    let task = jwks.keep_fresh(&validator);
    let identity = validator.validate(&token(&issuer, &first, "k1")).unwrap();
    assert!(identity.has_role("items:read"));

    // The provider rotates: a token with the new key is refused until the
    // validator has fetched the set again, which that very token asks for.
    *provider.jwks.lock().unwrap() = json!({"keys": [first_public, second_public]});
    let rotated = token(&issuer, &second, "k2");
    assert!(validator.validate(&rotated).is_err());
    eventually("the new key is fetched", || {
        validator.validate(&rotated).is_ok()
    })
    .await;

    // Made-up kids cannot make a flood of fetches: at most one per gap.
    let before = provider.fetches.load(Ordering::SeqCst);
    let started = Instant::now();
    for i in 0..50 {
        let _ = validator.validate(&token(&issuer, &first, &format!("bogus-{i}")));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep(Duration::from_millis(350)).await;
    let gaps = started.elapsed().as_millis() / 300 + 1;
    let fetched = provider.fetches.load(Ordering::SeqCst) - before;
    assert!(fetched as u128 <= gaps, "{fetched} fetches in {gaps} gaps");
    task.abort();
}

#[tokio::test]
async fn keys_are_refreshed_periodically_and_bad_documents_are_errors() {
    let (provider, issuer) = start().await;
    let (first, first_public) = key("k1");
    *provider.jwks.lock().unwrap() = json!({"keys": [first_public]});
    let jwks = RemoteJwks::fetch(format!("{issuer}/jwks"))
        .await
        .unwrap()
        .refresh_every(Duration::from_millis(50))
        .min_refresh_gap(Duration::from_millis(10));
    let validator = Validator::builder(issuer.as_str())
        .jwks(jwks.keys())
        .build()
        .unwrap();
    let _task = jwks.keep_fresh(&validator);
    assert!(validator.validate(&token(&issuer, &first, "k1")).is_ok());
    // The provider drops the key: the periodic refresh drops it too.
    let (_, other_public) = key("k9");
    *provider.jwks.lock().unwrap() = json!({"keys": [other_public]});
    let old = token(&issuer, &first, "k1");
    eventually("the withdrawn key is dropped", || {
        validator.validate(&old).is_err()
    })
    .await;

    // Discovery must name the issuer asked for.
    let wrong = RemoteJwks::discover(&format!("{issuer}/other")).await;
    assert!(
        matches!(
            wrong,
            Err(OidcError::Fetch { .. } | OidcError::Discovery { .. })
        ),
        "{wrong:?}"
    );
    *provider.issuer.lock().unwrap() = "https://impostor.example".to_owned();
    let impostor = RemoteJwks::discover(&issuer).await;
    assert!(
        matches!(impostor, Err(OidcError::Discovery { .. })),
        "{impostor:?}"
    );
    // A set that is not a JWK set.
    *provider.jwks.lock().unwrap() = json!({"keys": [{"kty": "nonsense"}]});
    let broken = RemoteJwks::fetch(format!("{issuer}/jwks")).await;
    assert!(matches!(broken, Err(OidcError::Keys { .. })), "{broken:?}");
}
