//! Request body and parameter validation for the reference API's endpoints
//! (SPEC §4). Every violation is collected, then reported at once as 422.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::db::resources::Fields;
use crate::problem::{ApiError, Code, FieldError};

/// Collects violations as JSON pointers and messages.
#[derive(Debug, Default)]
struct Violations(Vec<FieldError>);

impl Violations {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}

fn object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object().ok_or_else(|| {
        ApiError::validation(vec![FieldError {
            field: "/".to_owned(),
            message: "the body must be a JSON object".to_owned(),
        }])
    })
}

fn reject_unknown(map: &Map<String, Value>, allowed: &[&str], violations: &mut Violations) {
    for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        violations.add(&format!("/{}", escape_pointer(key)), "unknown field");
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn string_field<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    required: bool,
    chars: std::ops::RangeInclusive<usize>,
    violations: &mut Violations,
) -> Option<&'a str> {
    let pointer = format!("/{key}");
    match map.get(key) {
        None | Some(Value::Null) if !required => None,
        None | Some(Value::Null) => {
            violations.add(&pointer, "is required");
            None
        }
        Some(Value::String(s)) => {
            let n = s.chars().count();
            if !chars.contains(&n) {
                violations.add(
                    &pointer,
                    format!(
                        "must be {} to {} characters (got {n})",
                        chars.start(),
                        chars.end()
                    ),
                );
            }
            Some(s)
        }
        Some(_) => {
            violations.add(&pointer, "must be a string");
            None
        }
    }
}

/// `{username, password}` of register and login.
#[derive(Debug)]
pub struct Credentials {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

/// Validate `{username, password}`: username 3-32 of `[A-Za-z0-9_.-]`, password 8-128 characters.
pub fn credentials(body: &Value) -> Result<Credentials, ApiError> {
    let map = object(body)?;
    let mut violations = Violations::default();
    reject_unknown(map, &["username", "password"], &mut violations);
    let username = string_field(map, "username", true, 3..=32, &mut violations);
    if let Some(name) = username
        && !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        violations.add(
            "/username",
            "may contain only letters, digits, '_', '.' and '-'",
        );
    }
    let password = string_field(map, "password", true, 8..=128, &mut violations);
    let credentials = Credentials {
        username: username.unwrap_or_default().to_owned(),
        password: password.unwrap_or_default().to_owned(),
    };
    violations.finish(credentials)
}

/// Validate a login body's shape only: both fields strings. Unknown or badly
/// formed usernames get the same 401 as wrong passwords, not a 422.
pub fn login(body: &Value) -> Result<Credentials, ApiError> {
    let map = object(body)?;
    let mut violations = Violations::default();
    let username = string_field(map, "username", true, 0..=256, &mut violations);
    let password = string_field(map, "password", true, 0..=1024, &mut violations);
    let credentials = Credentials {
        username: username.unwrap_or_default().to_owned(),
        password: password.unwrap_or_default().to_owned(),
    };
    violations.finish(credentials)
}

/// Validate `{refresh_token}`.
pub fn refresh_token(body: &Value) -> Result<String, ApiError> {
    let map = object(body)?;
    let mut violations = Violations::default();
    reject_unknown(map, &["refresh_token"], &mut violations);
    let token = string_field(map, "refresh_token", true, 1..=512, &mut violations);
    let token = token.unwrap_or_default().to_owned();
    violations.finish(token)
}

/// The most bytes `data` may take, serialized.
const MAX_DATA_BYTES: usize = 64 * 1024;

/// Validate a resource body: `name` 1-200, `description` ≤ 10 000, `tags` ≤ 20 unique
/// strings of 1-32, `data` an object ≤ 64 KiB, nothing else.
pub fn resource(body: &Value) -> Result<Fields, ApiError> {
    let map = object(body)?;
    let mut violations = Violations::default();
    reject_unknown(
        map,
        &["name", "description", "tags", "data"],
        &mut violations,
    );
    let name = string_field(map, "name", true, 1..=200, &mut violations);
    let description = string_field(map, "description", false, 0..=10_000, &mut violations);
    let mut tags = Vec::new();
    match map.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if items.len() > 20 {
                violations.add("/tags", format!("at most 20 tags (got {})", items.len()));
            }
            let mut seen = HashSet::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(tag) if (1..=32).contains(&tag.chars().count()) => {
                        if !seen.insert(tag) {
                            violations.add(&format!("/tags/{i}"), "duplicate tag");
                        }
                        tags.push(tag.to_owned());
                    }
                    Some(_) => violations.add(&format!("/tags/{i}"), "must be 1 to 32 characters"),
                    None => violations.add(&format!("/tags/{i}"), "must be a string"),
                }
            }
        }
        Some(_) => violations.add("/tags", "must be an array of strings"),
    }
    let data = match map.get("data") {
        None | Some(Value::Null) => None,
        Some(value @ Value::Object(_)) => {
            let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
            if size > MAX_DATA_BYTES {
                violations.add(
                    "/data",
                    format!("must be at most {MAX_DATA_BYTES} bytes as JSON (got {size})"),
                );
            }
            Some(value.clone())
        }
        Some(_) => {
            violations.add("/data", "must be a JSON object");
            None
        }
    };
    let fields = Fields {
        name: name.unwrap_or_default().to_owned(),
        description: description.map(str::to_owned),
        tags,
        data,
    };
    violations.finish(fields)
}

/// A resource id from the path: a positive 64-bit integer.
pub fn resource_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::new(
            Code::InvalidParameter,
            "`id` must be a positive 64-bit integer",
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn resource_bodies_report_every_violation() {
        let err = resource(&json!({
            "name": "",
            "description": 5,
            "tags": ["a", "a", "", 7],
            "data": [1],
            "extra": true
        }))
        .unwrap_err();
        let fields: Vec<_> = err.errors.unwrap().into_iter().map(|e| e.field).collect();
        for expected in [
            "/name",
            "/description",
            "/tags/1",
            "/tags/2",
            "/tags/3",
            "/data",
            "/extra",
        ] {
            assert!(
                fields.contains(&expected.to_owned()),
                "{expected} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn good_resource_bodies_pass() {
        let fields = resource(&json!({"name": "n", "tags": ["x", "y"], "data": {"k": 1}})).unwrap();
        assert_eq!((fields.name.as_str(), fields.tags.len()), ("n", 2));
        assert!(resource(&json!({"name": "x".repeat(200)})).is_ok());
        assert!(resource(&json!({"name": "x".repeat(201)})).is_err());
        assert!(resource(&json!({"name": "n", "data": {"big": "x".repeat(70_000)}})).is_err());
    }

    #[test]
    fn credentials_and_ids() {
        assert!(credentials(&json!({"username": "al", "password": "12345678"})).is_err());
        assert!(credentials(&json!({"username": "al ice", "password": "12345678"})).is_err());
        assert!(credentials(&json!({"username": "alice", "password": "1234567"})).is_err());
        assert!(credentials(&json!({"username": "a.l-i_ce", "password": "12345678"})).is_ok());
        assert_eq!(resource_id("42").unwrap(), 42);
        for bad in ["0", "-1", "abc", "9223372036854775808", ""] {
            assert!(resource_id(bad).is_err(), "{bad}");
        }
    }
}
