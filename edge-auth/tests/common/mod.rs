//! Crafting tokens for tests, valid and hostile.
#![allow(dead_code, reason = "each test target uses part of the helpers")]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde_json::{Value, json};

pub(crate) const SECRET: &[u8] = b"test secret that is long enough for HS256";
pub(crate) const OTHER_SECRET: &[u8] = b"another secret that is long enough, too!";
pub(crate) const NOW: u64 = 1_800_000_000;

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn hmac(secret: &[u8], message: &str) -> Vec<u8> {
    let key = PKey::hmac(secret).unwrap();
    let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
    signer.sign_oneshot_to_vec(message.as_bytes()).unwrap()
}

/// `header.claims` signed with HS256 under `secret`, whatever the header says.
pub(crate) fn sign(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = hmac(secret, &input);
    format!("{input}.{}", b64(signature))
}

pub(crate) fn claims() -> Value {
    json!({"sub": "42", "iss": "edge", "exp": NOW + 600, "iat": NOW, "role": "user"})
}

pub(crate) fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(key);
    } else {
        claims[key] = value;
    }
    claims
}

pub(crate) fn valid_token() -> String {
    sign(&json!({"alg": "HS256", "typ": "JWT"}), &claims(), SECRET)
}

pub(crate) fn validator(clock: edge_auth::ManualClock) -> edge_auth::Validator {
    edge_auth::Validator::builder("edge")
        .hmac_secret(SECRET)
        .leeway(std::time::Duration::from_secs(5))
        .clock(clock)
        .public("/public*")
        .build()
        .unwrap()
}

/// Every hostile token of the table, with its name.
pub(crate) fn hostile_tokens() -> Vec<(&'static str, String)> {
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let valid = valid_token();
    let parts: Vec<&str> = valid.split('.').collect();
    let tampered_payload = b64(with(claims(), "sub", json!("1")).to_string());
    let mut cases = vec![
        ("wrong key", sign(&hs, &claims(), OTHER_SECRET)),
        (
            "tampered payload, old signature",
            format!("{}.{tampered_payload}.{}", parts[0], parts[2]),
        ),
        (
            "tampered role, old signature",
            format!(
                "{}.{}.{}",
                parts[0],
                b64(with(claims(), "role", json!("admin")).to_string()),
                parts[2]
            ),
        ),
        (
            "expired",
            sign(&hs, &with(claims(), "exp", json!(NOW - 60)), SECRET),
        ),
        (
            "nbf in the future",
            sign(&hs, &with(claims(), "nbf", json!(NOW + 600)), SECRET),
        ),
        (
            "no exp",
            sign(&hs, &with(claims(), "exp", Value::Null), SECRET),
        ),
        (
            "wrong iss",
            sign(&hs, &with(claims(), "iss", json!("evil")), SECRET),
        ),
        (
            "no sub",
            sign(&hs, &with(claims(), "sub", Value::Null), SECRET),
        ),
        (
            "RS256 header over an HMAC signature",
            sign(&json!({"alg": "RS256"}), &claims(), SECRET),
        ),
        (
            "HS512 header over an HS256 signature",
            sign(&json!({"alg": "HS512"}), &claims(), SECRET),
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
        ("payload not JSON", sign_raw(&hs.to_string(), "[1,2,3]")),
        (
            "crit header",
            sign(
                &json!({"alg": "HS256", "crit": ["b64"], "b64": false}),
                &claims(),
                SECRET,
            ),
        ),
        (
            "10 KB token",
            sign(
                &hs,
                &with(claims(), "pad", json!("x".repeat(10_000))),
                SECRET,
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

fn sign_raw(header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = hmac(SECRET, &input);
    format!("{input}.{}", b64(signature))
}
