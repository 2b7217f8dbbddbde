//! Registered-claim checks (RFC 7519 §4.1): `exp` (required), `nbf`, `iss`, `aud`, `sub`.

use serde_json::{Map, Value};

use crate::{AuthError, AuthErrorKind};

/// What a token's claims must satisfy.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    pub(crate) issuer: String,
    pub(crate) audience: Option<String>,
    pub(crate) leeway: u64,
    pub(crate) role_claim: String,
}

/// The facts taken from claims that passed.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub(crate) subject: String,
    pub(crate) roles: Vec<String>,
    pub(crate) expires: u64,
    pub(crate) not_before: Option<u64>,
}

pub(crate) fn check(
    claims: &Map<String, Value>,
    rules: &ClaimRules,
    now: u64,
) -> Result<Checked, AuthError> {
    let invalid = |d: &'static str| AuthError::new(AuthErrorKind::InvalidClaims, d);
    let expires = match claims.get("exp") {
        Some(v) => numeric_date(v).ok_or_else(|| invalid("`exp` is not a NumericDate"))?,
        None => return Err(invalid("the token has no `exp`")),
    };
    let not_before = match claims.get("nbf") {
        Some(v) => Some(numeric_date(v).ok_or_else(|| invalid("`nbf` is not a NumericDate"))?),
        None => None,
    };
    check_times(expires, not_before, now, rules.leeway)?;
    if claims.get("iss").and_then(Value::as_str) != Some(rules.issuer.as_str()) {
        return Err(AuthError::new(
            AuthErrorKind::WrongIssuer,
            "the token's issuer is not accepted",
        ));
    }
    if let Some(audience) = &rules.audience {
        let matches = match claims.get("aud") {
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !matches {
            return Err(AuthError::new(
                AuthErrorKind::WrongAudience,
                "the token is not meant for this audience",
            ));
        }
    }
    let subject = match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
        _ => return Err(invalid("the token has no `sub`")),
    };
    let roles = roles_at(claims, &rules.role_claim);
    Ok(Checked {
        subject,
        roles,
        expires,
        not_before,
    })
}

/// The roles at `path` (dot-separated: `role`, `realm_access.roles`,
/// `permissions`, `scope`): a string is split at spaces (an OAuth `scope`; a
/// single role has none), an array gives its strings; anything else, none.
pub(crate) fn roles_at(claims: &Map<String, Value>, path: &str) -> Vec<String> {
    let mut segments = path.split('.');
    let first = segments.next().and_then(|name| claims.get(name));
    let found = segments.try_fold(first, |value, name| Some(value?.get(name)));
    match found.flatten() {
        Some(Value::String(text)) => text.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The time-dependent checks, also run on every cache hit.
pub(crate) fn check_times(
    expires: u64,
    not_before: Option<u64>,
    now: u64,
    leeway: u64,
) -> Result<(), AuthError> {
    if now >= expires.saturating_add(leeway) {
        return Err(AuthError::new(
            AuthErrorKind::Expired,
            "the token has expired",
        ));
    }
    if let Some(nbf) = not_before
        && now.saturating_add(leeway) < nbf
    {
        return Err(AuthError::new(
            AuthErrorKind::NotYetValid,
            "the token is not valid yet",
        ));
    }
    Ok(())
}

/// A NumericDate: non-negative seconds, fractions allowed and truncated.
fn numeric_date(value: &Value) -> Option<u64> {
    let n = value.as_number()?;
    n.as_u64().or_else(|| {
        let f = n.as_f64()?;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "range checked first"
        )]
        (f.is_finite() && f >= 0.0 && f < u64::MAX as f64).then_some(f as u64)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "edge".into(),
            audience: Some("api".into()),
            leeway: 5,
            role_claim: "role".into(),
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn roles_come_from_a_claim_path_of_strings_arrays_or_scopes() {
        let token = claims(json!({
            "role": "admin",
            "realm_access": {"roles": ["reader", "writer", 7]},
            "scope": "items:read items:write",
            "permissions": ["delete:items"],
            "nested": {"deep": {"role": "auditor"}}
        }));
        let at = |path| roles_at(&token, path);
        assert_eq!(at("role"), ["admin"]);
        assert_eq!(at("realm_access.roles"), ["reader", "writer"]);
        assert_eq!(at("scope"), ["items:read", "items:write"]);
        assert_eq!(at("permissions"), ["delete:items"]);
        assert_eq!(at("nested.deep.role"), ["auditor"]);
        assert!(at("realm_access.missing").is_empty());
        assert!(at("role.deeper").is_empty());
        assert!(at("nothing").is_empty());
    }

    #[test]
    fn accepts_valid_claims() {
        let ok = check(
            &claims(json!({"sub":"1","iss":"edge","aud":["x","api"],"exp":1000,"role":"admin"})),
            &rules(),
            900,
        )
        .unwrap();
        assert_eq!(
            (ok.subject.as_str(), ok.roles.as_slice(), ok.expires),
            ("1", &["admin".to_owned()][..], 1000)
        );
        assert!(
            check(
                &claims(json!({"sub":"1","iss":"edge","aud":"api","exp":1000.7})),
                &rules(),
                900
            )
            .is_ok()
        );
    }

    #[test]
    fn rejects_each_bad_claim() {
        let cases = [
            (
                json!({"sub":"1","iss":"edge","aud":"api"}),
                AuthErrorKind::InvalidClaims,
            ),
            (
                json!({"sub":"1","iss":"edge","aud":"api","exp":"soon"}),
                AuthErrorKind::InvalidClaims,
            ),
            (
                json!({"sub":"1","iss":"edge","aud":"api","exp":-1}),
                AuthErrorKind::InvalidClaims,
            ),
            (
                json!({"sub":"1","iss":"edge","aud":"api","exp":895}),
                AuthErrorKind::Expired,
            ),
            (
                json!({"sub":"1","iss":"edge","aud":"api","exp":1000,"nbf":906}),
                AuthErrorKind::NotYetValid,
            ),
            (
                json!({"sub":"1","iss":"evil","aud":"api","exp":1000}),
                AuthErrorKind::WrongIssuer,
            ),
            (
                json!({"sub":"1","aud":"api","exp":1000}),
                AuthErrorKind::WrongIssuer,
            ),
            (
                json!({"sub":"1","iss":"edge","aud":"web","exp":1000}),
                AuthErrorKind::WrongAudience,
            ),
            (
                json!({"iss":"edge","aud":"api","exp":1000}),
                AuthErrorKind::InvalidClaims,
            ),
            (
                json!({"sub":"","iss":"edge","aud":"api","exp":1000}),
                AuthErrorKind::InvalidClaims,
            ),
        ];
        for (case, kind) in cases {
            assert_eq!(
                check(&claims(case.clone()), &rules(), 900)
                    .unwrap_err()
                    .kind(),
                kind,
                "{case}"
            );
        }
    }

    #[test]
    fn leeway_applies_to_exp_and_nbf() {
        assert!(check_times(900, None, 904, 5).is_ok());
        assert!(check_times(900, None, 905, 5).is_err());
        assert!(check_times(2000, Some(905), 900, 5).is_ok());
        assert!(check_times(2000, Some(906), 900, 5).is_err());
    }
}
