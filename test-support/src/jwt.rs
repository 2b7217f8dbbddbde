//! Crafting JWTs for tests: valid ones, and a table of hostile ones.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    reason = "test helpers"
)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde_json::{Value, json};

/// The HS256 secret the helpers sign with.
pub const SECRET: &[u8] = b"test secret that is long enough for HS256";
/// A second secret, for "wrong key" cases.
pub const OTHER_SECRET: &[u8] = b"another secret that is long enough, too!";
/// The time (Unix seconds) the crafted claims are relative to.
pub const NOW: u64 = 1_800_000_000;

/// Base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// HMAC-SHA256 of `message`.
pub fn hmac(secret: &[u8], message: &str) -> Vec<u8> {
    let key = PKey::hmac(secret).unwrap();
    let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
    signer.sign_oneshot_to_vec(message.as_bytes()).unwrap()
}

/// `header.claims` signed with HS256 under `secret`, whatever the header says.
pub fn sign(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = hmac(secret, &input);
    format!("{input}.{}", b64(signature))
}

/// Valid claims for subject 42 at [`NOW`].
pub fn claims() -> Value {
    claims_at("42", NOW)
}

/// Valid claims (issuer `edge`, role `user`) for `subject`, issued at `now`, valid for 10 minutes.
pub fn claims_at(subject: &str, now: u64) -> Value {
    json!({"sub": subject, "iss": "edge", "exp": now + 600, "iat": now, "role": "user"})
}

/// `claims` with `key` set to `value` (removed when `value` is null).
pub fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(key);
    } else {
        claims[key] = value;
    }
    claims
}

/// A valid HS256 token for subject 42 at [`NOW`].
pub fn valid_token() -> String {
    sign(&json!({"alg": "HS256", "typ": "JWT"}), &claims(), SECRET)
}

/// Every hostile token of the table, with its name, built around [`claims`].
pub fn hostile_tokens() -> Vec<(&'static str, String)> {
    hostile_tokens_for(&claims(), SECRET)
}

/// The hostile-token table built around valid `claims` (with `exp`, `nbf`-free) signed
/// under `secret`: each token differs from a valid one in one way that must be rejected.
pub fn hostile_tokens_for(claims: &Value, secret: &[u8]) -> Vec<(&'static str, String)> {
    let claims = claims.clone();
    let now = claims["iat"].as_u64().unwrap_or(NOW);
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let valid = sign(&hs, &claims, secret);
    let parts: Vec<&str> = valid.split('.').collect();
    // Another subject than the real one, whatever that is.
    let other_subject = format!("{}0", claims["sub"].as_str().unwrap_or("1"));
    let tampered_payload = b64(with(claims.clone(), "sub", json!(other_subject)).to_string());
    let mut cases = vec![
        ("wrong key", sign(&hs, &claims, OTHER_SECRET)),
        (
            "tampered payload, old signature",
            format!("{}.{tampered_payload}.{}", parts[0], parts[2]),
        ),
        (
            "tampered role, old signature",
            format!(
                "{}.{}.{}",
                parts[0],
                b64(with(claims.clone(), "role", json!("admin")).to_string()),
                parts[2]
            ),
        ),
        (
            "expired",
            sign(&hs, &with(claims.clone(), "exp", json!(now - 60)), secret),
        ),
        (
            "nbf in the future",
            sign(&hs, &with(claims.clone(), "nbf", json!(now + 3600)), secret),
        ),
        (
            "no exp",
            sign(&hs, &with(claims.clone(), "exp", Value::Null), secret),
        ),
        (
            "wrong iss",
            sign(&hs, &with(claims.clone(), "iss", json!("evil")), secret),
        ),
        (
            "no sub",
            sign(&hs, &with(claims.clone(), "sub", Value::Null), secret),
        ),
        (
            "RS256 header over an HMAC signature",
            sign(&json!({"alg": "RS256"}), &claims.clone(), secret),
        ),
        (
            "HS512 header over an HS256 signature",
            sign(&json!({"alg": "HS512"}), &claims.clone(), secret),
        ),
        ("empty signature", format!("{}.{}.", parts[0], parts[1])),
        ("four segments", format!("{valid}.{}", parts[2])),
        ("two segments", format!("{}.{}", parts[0], parts[1])),
        (
            "non-base64",
            format!("{}.{}.{}", parts[0], "not*base64!", parts[2]),
        ),
        (
            "header not JSON",
            format!("{}.{}.{}", b64("nope"), parts[1], parts[2]),
        ),
        (
            "payload not JSON",
            sign_raw(&hs.to_string(), "[1,2,3]", secret),
        ),
        (
            "crit header",
            sign(
                &json!({"alg": "HS256", "crit": ["b64"], "b64": false}),
                &claims.clone(),
                secret,
            ),
        ),
        (
            "10 KB token",
            sign(
                &hs,
                &with(claims.clone(), "pad", json!("x".repeat(10_000))),
                secret,
            ),
        ),
    ];
    for alg in ["none", "None", "nOnE", "NONE"] {
        let header = b64(json!({"alg": alg}).to_string());
        cases.push(("alg none", format!("{header}.{}.", parts[1])));
        cases.push((
            "alg none with a signature",
            format!("{header}.{}.{}", parts[1], parts[2]),
        ));
    }
    cases
}

fn sign_raw(header: &str, payload: &str, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = hmac(secret, &input);
    format!("{input}.{}", b64(signature))
}
