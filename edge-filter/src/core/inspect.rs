//! [`Inspector`]: normalizes each value of a request and matches the rules.

use std::sync::LazyLock;

use serde_json::Value;

use crate::core::builtin::default_rules;
use crate::core::normalize::normalize;
use crate::core::rules::{Category, RuleSet};

/// How much of an offending value is kept for the security log.
pub const EXCERPT_BYTES: usize = 256;

/// A rule that matched a value of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule's stable id.
    pub rule_id: String,
    /// The rule's category.
    pub category: Category,
    /// Where: `path`, `query.q`, `header.user-agent`, `body./tags/0`, `body./key` (for keys).
    pub location: String,
    /// The start of the raw value, at most 256 bytes (escaped when logged); for
    /// a value of a sensitive field (a password, token, secret, cookie or
    /// authorization: [`is_sensitive_location`]) only its length, `[redacted N bytes]`.
    pub excerpt: String,
}

/// Matches request values against a [`RuleSet`] after normalization.
#[derive(Debug, Clone)]
pub struct Inspector {
    rules: RuleSet,
}

/// The built-in rules, compiled once per process and shared (a `RegexSet` clone is cheap).
static DEFAULT_RULES: LazyLock<RuleSet> = LazyLock::new(|| {
    // The built-in rules are tested to compile; an empty set is the impossible fallback.
    RuleSet::new(default_rules()).unwrap_or_else(|_| RuleSet::empty())
});

impl Default for Inspector {
    /// The built-in rules.
    fn default() -> Self {
        Inspector::new(DEFAULT_RULES.clone())
    }
}

impl Inspector {
    /// An inspector over `rules`.
    pub fn new(rules: RuleSet) -> Self {
        Inspector { rules }
    }

    /// The rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Inspect one raw value found at `location`.
    pub fn inspect_value(&self, location: impl FnOnce() -> String, raw: &str) -> Option<Finding> {
        self.inspect_with(location, raw, false)
    }

    fn inspect_with(
        &self,
        location: impl FnOnce() -> String,
        raw: &str,
        plus_is_space: bool,
    ) -> Option<Finding> {
        let text = normalize(raw, plus_is_space);
        let rule = self.rules.first_match(&text)?;
        let location = location();
        let excerpt = if is_sensitive_location(&location) {
            format!("[redacted {} bytes]", raw.len())
        } else {
            excerpt(raw)
        };
        Some(Finding {
            rule_id: rule.id.clone(),
            category: rule.category,
            location,
            excerpt,
        })
    }

    /// Inspect a URL path (each segment decoded).
    pub fn inspect_path(&self, path: &str) -> Option<Finding> {
        self.inspect_with(|| "path".to_owned(), path, false)
    }

    /// Inspect a query string: every parameter name and value (`+` is a space).
    pub fn inspect_query(&self, query: &str) -> Option<Finding> {
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .find_map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let label = || format!("query.{}", excerpt(&normalize(name, true)));
                self.inspect_with(label, name, true)
                    .or_else(|| self.inspect_with(label, value, true))
            })
    }

    /// Inspect an `application/x-www-form-urlencoded` body: every field name
    /// and value (`+` is a space), labelled `form.<name>`.
    pub fn inspect_form(&self, form: &str) -> Option<Finding> {
        form.split('&')
            .filter(|pair| !pair.is_empty())
            .find_map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let label = || format!("form.{}", excerpt(&normalize(name, true)));
                self.inspect_with(label, name, true)
                    .or_else(|| self.inspect_with(label, value, true))
            })
    }

    /// Inspect a header value.
    pub fn inspect_header(&self, name: &str, value: &str) -> Option<Finding> {
        self.inspect_with(|| format!("header.{name}"), value, false)
    }

    /// Inspect every string of a JSON document, object keys included.
    pub fn inspect_json(&self, value: &Value) -> Option<Finding> {
        let mut pointer = String::new();
        self.walk(value, &mut pointer)
    }

    fn walk(&self, value: &Value, pointer: &mut String) -> Option<Finding> {
        match value {
            Value::String(s) => {
                self.inspect_value(|| format!("body.{}", display_pointer(pointer)), s)
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = pointer.len();
                pointer.push('/');
                let _ = std::fmt::Write::write_fmt(pointer, format_args!("{i}"));
                let found = self.walk(item, pointer);
                pointer.truncate(len);
                found
            }),
            Value::Object(map) => map.iter().find_map(|(key, item)| {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                let found = self
                    .inspect_value(|| format!("body.{} (key)", display_pointer(pointer)), key)
                    .or_else(|| self.walk(item, pointer));
                pointer.truncate(len);
                found
            }),
            Value::Null | Value::Bool(_) | Value::Number(_) => None,
        }
    }
}

fn display_pointer(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

/// Whether a finding's location names a field whose value must not be written to
/// a log: the last name of `query.NAME`, `header.NAME` or `body./a/NAME` contains
/// `password`, `passwd`, `secret`, `token`, `authorization`, `cookie`,
/// `credential`, `api_key`/`apikey`/`api-key` or `session` (any case). An object
/// key that matched (`body./a (key)`) is itself the offending text, not a value.
pub fn is_sensitive_location(location: &str) -> bool {
    if location.ends_with(" (key)") {
        return false;
    }
    let name = location
        .rsplit(['.', '/'])
        .next()
        .unwrap_or(location)
        .to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "authorization",
        "cookie",
        "credential",
        "api_key",
        "apikey",
        "api-key",
        "session",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// At most [`EXCERPT_BYTES`] of `raw`, cut at a character boundary.
pub(crate) fn excerpt(raw: &str) -> String {
    let mut end = raw.len().min(EXCERPT_BYTES);
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    raw[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_attacks_where_they_are() {
        let inspector = Inspector::default();
        let found = inspector
            .inspect_json(&json!({"a": {"b": ["ok", "<script>alert(1)</script>"]}}))
            .unwrap();
        assert_eq!(found.location, "body./a/b/1");
        assert_eq!(found.category, Category::Xss);
        let key = inspector.inspect_json(&json!({"' OR 1=1--": 1})).unwrap();
        assert!(key.location.ends_with("(key)"), "{key:?}");
        let query = inspector
            .inspect_query("page=2&q=1+union+select+1")
            .unwrap();
        assert_eq!(
            (query.location.as_str(), query.category),
            ("query.q", Category::SqlInjection)
        );
        assert!(
            inspector
                .inspect_path("/static/..%2f..%2fetc/passwd")
                .is_some()
        );
        assert!(
            inspector
                .inspect_header("user-agent", "() { :; }; /bin/bash -c id")
                .is_some()
        );
        assert!(
            inspector
                .inspect_json(&json!({"name": "O'Brien", "n": 1, "tags": ["rock & roll"]}))
                .is_none()
        );
    }

    #[test]
    fn values_of_sensitive_fields_are_redacted() {
        let inspector = Inspector::default();
        let attack = "' OR '1'='1' --";
        let finding = inspector
            .inspect_json(&json!({"username": "ada", "password": attack}))
            .unwrap();
        assert_eq!(finding.location, "body./password");
        assert_eq!(
            finding.excerpt,
            format!("[redacted {} bytes]", attack.len())
        );
        let token = inspector
            .inspect_query(&format!("access_token={attack}"))
            .unwrap();
        assert!(token.excerpt.starts_with("[redacted"), "{token:?}");
        let cookie = inspector.inspect_header("cookie", attack).unwrap();
        assert!(cookie.excerpt.starts_with("[redacted"), "{cookie:?}");
        // Other fields keep their excerpt, and a key that is itself the attack too.
        let name = inspector.inspect_json(&json!({"name": attack})).unwrap();
        assert_eq!(name.excerpt, attack);
        let key = inspector.inspect_json(&json!({ attack: 1 })).unwrap();
        assert_eq!(key.excerpt, attack);
        assert!(is_sensitive_location("body./user/Refresh_Token"));
        assert!(!is_sensitive_location("body./description"));
    }

    #[test]
    fn excerpts_are_bounded_at_a_char_boundary() {
        let long = "é".repeat(300);
        let cut = excerpt(&long);
        assert!(cut.len() <= EXCERPT_BYTES && cut.chars().all(|c| c == 'é'));
    }
}
