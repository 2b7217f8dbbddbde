//! Authentication's metrics, read back through a debugging recorder: each
//! counter moves exactly as the behaviour it counts.

mod common;

use common::validator;
use edge_auth::metrics::{REJECTIONS_TOTAL, TOKEN_CACHE_HITS_TOTAL, TOKEN_CACHE_MISSES_TOTAL};
use edge_auth::{Decision, ManualClock};
use edge_test_support::jwt::*;
use edge_test_support::metrics::Recorded;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::json;

fn decide(validator: &edge_auth::Validator, authorization: Option<&str>) -> Decision {
    let mut headers = HeaderMap::new();
    if let Some(value) = authorization {
        headers.insert("authorization", HeaderValue::from_str(value).unwrap());
    }
    validator.decide(&Method::GET, "/items", &headers)
}

#[test]
fn rejections_are_counted_by_reason_and_the_token_cache_by_hit_and_miss() {
    let recorded = Recorded::install();
    edge_auth::metrics::describe();
    let clock = ManualClock::new(NOW * 1000);
    let validator = validator(clock.clone());
    let bearer = |token: &str| format!("Bearer {token}");
    let header = json!({"alg": "HS256", "typ": "JWT"});

    // A valid token: verified once (a miss), then found (hits).
    let token = valid_token();
    for _ in 0..3 {
        assert!(matches!(
            decide(&validator, Some(&bearer(&token))),
            Decision::Authenticated(_)
        ));
    }
    // A public route asks for nothing and counts nothing.
    assert!(matches!(
        validator.decide(&Method::GET, "/public", &HeaderMap::new()),
        Decision::Public
    ));
    let seen = recorded.changes();
    assert_eq!(seen.counter(TOKEN_CACHE_MISSES_TOTAL, &[]), 1);
    assert_eq!(seen.counter(TOKEN_CACHE_HITS_TOTAL, &[]), 2);
    assert_eq!(seen.total(REJECTIONS_TOTAL), 0);

    // One rejection of each kind, each counted under its reason.
    let rejected = [
        ("missing", None),
        ("malformed_header", Some("Bearer two words".to_owned())),
        ("malformed", Some(bearer("not-a-token"))),
        (
            "bad_signature",
            Some(bearer(&sign(&header, &claims(), OTHER_SECRET))),
        ),
        (
            "unknown_key",
            Some(bearer(&sign(
                &json!({"alg": "HS256", "kid": "gone"}),
                &claims(),
                SECRET,
            ))),
        ),
        (
            "expired",
            Some(bearer(&sign(
                &header,
                &with(claims(), "exp", json!(NOW - 60)),
                SECRET,
            ))),
        ),
        (
            "not_yet_valid",
            Some(bearer(&sign(
                &header,
                &with(claims(), "nbf", json!(NOW + 60)),
                SECRET,
            ))),
        ),
        (
            "wrong_issuer",
            Some(bearer(&sign(
                &header,
                &with(claims(), "iss", json!("evil")),
                SECRET,
            ))),
        ),
        (
            "invalid_claims",
            Some(bearer(&sign(
                &header,
                &with(claims(), "sub", json!(null)),
                SECRET,
            ))),
        ),
    ];
    for (reason, authorization) in &rejected {
        match decide(&validator, authorization.as_deref()) {
            Decision::Rejected(error) => assert_eq!(error.reason(), *reason),
            other => panic!("{reason}: {other:?}"),
        }
    }
    let seen = recorded.changes();
    for (reason, _) in &rejected {
        assert_eq!(
            seen.counter(REJECTIONS_TOTAL, &[("reason", reason)]),
            1,
            "{reason}"
        );
    }
    assert_eq!(seen.total(REJECTIONS_TOTAL), rejected.len() as u64);

    // A cached token that expires is a hit, then an `expired` rejection.
    clock.advance(std::time::Duration::from_secs(3600));
    assert!(matches!(
        decide(&validator, Some(&bearer(&token))),
        Decision::Rejected(_)
    ));
    let seen = recorded.changes();
    assert_eq!(seen.counter(TOKEN_CACHE_HITS_TOTAL, &[]), 1);
    assert_eq!(seen.counter(REJECTIONS_TOTAL, &[("reason", "expired")]), 1);
}
