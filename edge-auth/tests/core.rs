//! The validator over crafted tokens, key sets, the cache and refresh rotation (no server).

mod common;

use std::time::Duration;

use common::*;
use edge_auth::{
    Algorithm, AuthErrorKind, ConfigError, Decision, ManualClock, MemoryRefreshStore, RefreshError,
    RefreshTokens, TokenIssuer, Validator,
};
use edge_test_support::jwt::*;
use http::{HeaderMap, HeaderValue, Method};
use josekit::jwk::Jwk;
use josekit::jws::{self, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use serde_json::json;

#[test]
fn a_valid_token_yields_its_identity() {
    let identity = validator(ManualClock::new(NOW * 1000))
        .validate(&valid_token())
        .unwrap();
    assert_eq!(identity.subject(), "42");
    assert_eq!(identity.role(), Some("user"));
    assert_eq!(identity.claims()["iss"], "edge");
}

#[test]
fn every_hostile_token_is_rejected_with_401() {
    let validator = validator(ManualClock::new(NOW * 1000));
    for (name, token) in hostile_tokens() {
        match validator.validate(&token) {
            Ok(identity) => panic!("{name}: accepted as {identity:?}"),
            Err(e) => {
                assert_eq!(e.status(), 401, "{name}");
                assert_eq!(e.error_code(), Some("invalid_token"), "{name}");
            }
        }
    }
}

#[test]
fn bearer_headers_are_read_case_insensitively_and_checked() {
    let validator = validator(ManualClock::new(NOW * 1000));
    let token = valid_token();
    let decide = |value: Option<&str>| {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert("authorization", HeaderValue::from_str(value).unwrap());
        }
        validator.decide(&Method::GET, "/private", &headers)
    };
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        assert!(
            matches!(
                decide(Some(&format!("{scheme} {token}"))),
                Decision::Authenticated(_)
            ),
            "{scheme}"
        );
    }
    for (value, kind) in [
        (None, AuthErrorKind::Missing),
        (Some("Bearer"), AuthErrorKind::MalformedHeader),
        (Some("Bearer "), AuthErrorKind::MalformedHeader),
        (Some("Basic dXNlcjpwYXNz"), AuthErrorKind::Missing),
        (Some("Bearer a.b.c"), AuthErrorKind::Malformed),
    ] {
        match decide(value) {
            Decision::Rejected(e) => assert_eq!(e.kind(), kind, "{value:?}"),
            other => panic!("{value:?}: {other:?}"),
        }
    }
    // Not a token68, checked even right after the valid token was cached.
    assert!(validator.cached_tokens() > 0);
    for credentials in [format!("{token}!"), format!("{token} x"), "a\"b".to_owned()] {
        match decide(Some(&format!("Bearer {credentials}"))) {
            Decision::Rejected(e) => {
                assert_eq!(e.kind(), AuthErrorKind::MalformedHeader, "{credentials}");
            }
            other => panic!("{credentials}: {other:?}"),
        }
    }
    assert!(matches!(
        validator.decide(&Method::POST, "/public", &HeaderMap::new()),
        Decision::Public
    ));
}

#[test]
fn leeway_covers_small_clock_skew_only() {
    let hs = json!({"alg": "HS256"});
    let validator = validator(ManualClock::new(NOW * 1000));
    assert!(
        validator
            .validate(&sign(&hs, &with(claims(), "exp", json!(NOW - 3)), SECRET))
            .is_ok()
    );
    assert!(
        validator
            .validate(&sign(&hs, &with(claims(), "nbf", json!(NOW + 3)), SECRET))
            .is_ok()
    );
    assert!(
        validator
            .validate(&sign(&hs, &with(claims(), "exp", json!(NOW - 6)), SECRET))
            .is_err()
    );
}

#[test]
fn audience_is_required_when_configured() {
    let validator = Validator::builder("edge")
        .hmac_secret(SECRET)
        .audience("api")
        .clock(ManualClock::new(NOW * 1000))
        .build()
        .unwrap();
    let hs = json!({"alg": "HS256"});
    assert!(
        validator
            .validate(&sign(&hs, &with(claims(), "aud", json!("api")), SECRET))
            .is_ok()
    );
    assert!(
        validator
            .validate(&sign(
                &hs,
                &with(claims(), "aud", json!(["web", "api"])),
                SECRET
            ))
            .is_ok()
    );
    assert!(
        validator
            .validate(&sign(&hs, &with(claims(), "aud", json!("web")), SECRET))
            .is_err()
    );
    assert!(validator.validate(&valid_token()).is_err());
}

#[test]
fn cached_tokens_still_expire() {
    let clock = ManualClock::new(NOW * 1000);
    let validator = validator(clock.clone());
    let token = valid_token();
    assert!(validator.validate(&token).is_ok());
    assert_eq!(validator.cached_tokens(), 1);
    assert!(validator.validate(&token).is_ok(), "a cache hit");
    clock.advance_ms((600 + 5) * 1000);
    assert_eq!(
        validator.validate(&token).unwrap_err().kind(),
        AuthErrorKind::Expired
    );
}

#[test]
fn hmac_secrets_rotate_by_kid() {
    let validator = Validator::builder("edge")
        .hmac_secret_with_kid("old", SECRET)
        .hmac_secret_with_kid("new", OTHER_SECRET)
        .clock(ManualClock::new(NOW * 1000))
        .build()
        .unwrap();
    assert!(
        validator
            .validate(&sign(
                &json!({"alg": "HS256", "kid": "new"}),
                &claims(),
                OTHER_SECRET
            ))
            .is_ok()
    );
    assert!(
        validator
            .validate(&sign(
                &json!({"alg": "HS256", "kid": "old"}),
                &claims(),
                SECRET
            ))
            .is_ok()
    );
    assert!(
        validator
            .validate(&sign(
                &json!({"alg": "HS256", "kid": "old"}),
                &claims(),
                OTHER_SECRET
            ))
            .is_err()
    );
}

/// A key pair: the private JWK (for signing) and the public JWK (for the set).
fn key_pair(algorithm: Algorithm, kid: &str) -> (Jwk, Jwk) {
    let (mut private, mut public) = match algorithm {
        Algorithm::RS256 => {
            let pair = jws::RS256.generate_key_pair(2048).unwrap();
            (pair.to_jwk_private_key(), pair.to_jwk_public_key())
        }
        Algorithm::ES256 => {
            let pair = jws::ES256.generate_key_pair().unwrap();
            (pair.to_jwk_private_key(), pair.to_jwk_public_key())
        }
        Algorithm::EdDSA => {
            let pair = jws::EdDSA
                .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
                .unwrap();
            (pair.to_jwk_private_key(), pair.to_jwk_public_key())
        }
        other => panic!("{other:?}"),
    };
    for jwk in [&mut private, &mut public] {
        jwk.set_key_id(kid);
        jwk.set_algorithm(algorithm.name());
    }
    (private, public)
}

fn sign_with(algorithm: Algorithm, private: &Jwk, kid: &str) -> String {
    let mut payload = JwtPayload::new();
    for (k, v) in claims().as_object().unwrap() {
        payload.set_claim(k, Some(v.clone())).unwrap();
    }
    let mut header = JwsHeader::new();
    header.set_key_id(kid);
    match algorithm {
        Algorithm::RS256 => jwt::encode_with_signer(
            &payload,
            &header,
            &jws::RS256.signer_from_jwk(private).unwrap(),
        ),
        Algorithm::ES256 => jwt::encode_with_signer(
            &payload,
            &header,
            &jws::ES256.signer_from_jwk(private).unwrap(),
        ),
        Algorithm::EdDSA => jwt::encode_with_signer(
            &payload,
            &header,
            &jws::EdDSA.signer_from_jwk(private).unwrap(),
        ),
        other => panic!("{other:?}"),
    }
    .unwrap()
}

fn jwks(keys: &[&Jwk]) -> Vec<u8> {
    let keys: Vec<_> = keys
        .iter()
        .map(|k| serde_json::Value::Object(k.as_ref().clone()))
        .collect();
    serde_json::to_vec(&json!({ "keys": keys })).unwrap()
}

#[test]
fn asymmetric_algorithms_verify_through_jwks_and_rotate_by_kid() {
    for algorithm in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let (private1, public1) = key_pair(algorithm, "k1");
        let (private2, public2) = key_pair(algorithm, "k2");
        let validator = Validator::builder("edge")
            .jwks(jwks(&[&public1]))
            .clock(ManualClock::new(NOW * 1000))
            .build()
            .unwrap();
        let token1 = sign_with(algorithm, &private1, "k1");
        let token2 = sign_with(algorithm, &private2, "k2");
        assert_eq!(
            validator.validate(&token1).unwrap().subject(),
            "42",
            "{algorithm:?}"
        );
        assert!(
            validator.validate(&token2).is_err(),
            "{algorithm:?}: unknown kid accepted"
        );
        // A token claiming k1 but signed by k2 fails.
        assert!(
            validator
                .validate(&sign_with(algorithm, &private2, "k1"))
                .is_err()
        );

        validator
            .replace_jwks(&jwks(&[&public1, &public2]))
            .unwrap();
        assert!(
            validator.validate(&token2).is_ok(),
            "{algorithm:?}: rotated-in key"
        );
        validator.replace_jwks(&jwks(&[&public2])).unwrap();
        assert!(
            validator.validate(&token1).is_err(),
            "{algorithm:?}: rotated-out key still accepted (cache?)"
        );
        // An HS256 token signed with the public key's bytes must not pass (no HS/RS confusion).
        let forged = sign(
            &json!({"alg": "HS256", "kid": "k2"}),
            &claims(),
            &serde_json::to_vec(public2.as_ref()).unwrap(),
        );
        assert!(validator.validate(&forged).is_err());
    }
}

#[test]
fn configuration_errors_are_typed() {
    assert!(matches!(
        Validator::builder("edge").build(),
        Err(ConfigError::NoAlgorithms)
    ));
    assert!(matches!(
        Validator::builder("").hmac_secret(SECRET).build(),
        Err(ConfigError::MissingIssuer)
    ));
    assert!(matches!(
        Validator::builder("edge").hmac_secret(b"short").build(),
        Err(ConfigError::WeakSecret { .. })
    ));
    assert!(matches!(
        Validator::builder("edge")
            .hmac_secret(SECRET)
            .allow(Algorithm::RS256)
            .build(),
        Err(ConfigError::MissingKey("RS256"))
    ));
    assert!(matches!(
        Validator::builder("edge").jwks(b"{not json").build(),
        Err(ConfigError::InvalidKey(_))
    ));
}

#[test]
fn issued_tokens_validate_and_expire() {
    let clock = ManualClock::new(NOW * 1000);
    let issuer = TokenIssuer::hs256(SECRET, "edge", Duration::from_secs(900))
        .unwrap()
        .clock(clock.clone());
    let token = issuer.issue("7", Some("admin")).unwrap();
    assert_eq!(token.expires_in, 900);
    let validator = validator(clock.clone());
    let identity = validator.validate(&token.token).unwrap();
    assert_eq!((identity.subject(), identity.role()), ("7", Some("admin")));
    assert!(identity.claims()["jti"].is_string());
    clock.advance_ms((900 + 5) * 1000);
    assert!(validator.validate(&token.token).is_err());
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_family() {
    let clock = ManualClock::new(NOW * 1000);
    let tokens = RefreshTokens::new(MemoryRefreshStore::default(), Duration::from_secs(3600))
        .clock(clock.clone());
    let first = tokens.issue("42").await.unwrap();
    assert_eq!(first.expires_at, NOW + 3600);
    let (subject, second) = tokens.rotate(&first.token).await.unwrap();
    assert_eq!(subject, "42");
    assert_ne!(first.token, second.token);
    // The old one is spent; presenting it again revokes the family...
    assert!(matches!(
        tokens.rotate(&first.token).await,
        Err(RefreshError::Reused)
    ));
    // ...so even the newest token of that family stops working.
    assert!(matches!(
        tokens.rotate(&second.token).await,
        Err(RefreshError::Invalid)
    ));
    assert!(matches!(
        tokens.rotate("never-issued").await,
        Err(RefreshError::Invalid)
    ));

    let other = tokens.issue("42").await.unwrap();
    // Another subject cannot end this session (a logout checks ownership).
    assert!(!tokens.revoke(&other.token, "7").await.unwrap());
    tokens.rotate(&other.token).await.unwrap();
    let other = tokens.issue("42").await.unwrap();
    assert!(tokens.revoke(&other.token, "42").await.unwrap());
    assert!(matches!(
        tokens.rotate(&other.token).await,
        Err(RefreshError::Invalid)
    ));

    let expiring = tokens.issue("42").await.unwrap();
    clock.advance_ms((3600) * 1000);
    assert!(matches!(
        tokens.rotate(&expiring.token).await,
        Err(RefreshError::Invalid)
    ));
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    let clock = ManualClock::new(NOW * 1000);
    let tokens = RefreshTokens::new(MemoryRefreshStore::default(), Duration::from_secs(3600))
        .session_ttl(Duration::from_secs(5000))
        .clock(clock.clone());
    let first = tokens.issue("42").await.unwrap();
    clock.advance_ms((3000) * 1000);
    // Refreshed before it expired, the next token would be valid for an hour...
    let (_, second) = tokens.rotate(&first.token).await.unwrap();
    // ...but the session ends 5000 s after login, 2000 s later.
    clock.advance_ms((2000) * 1000);
    assert!(matches!(
        tokens.rotate(&second.token).await,
        Err(RefreshError::Invalid)
    ));
}
