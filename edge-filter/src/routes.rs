//! Per-route validation: typed path and query parameters (400) and a JSON Schema
//! for the body (422), compiled once when the routes are built.
//!
//! ```
//! use edge_filter::routes::{Param, Route, Routes};
//! use serde_json::json;
//!
//! let routes = Routes::new()
//!     .route(Route::new("GET", "/items")?
//!         .param(Param::query("limit").integer(1, 100))
//!         .param(Param::query("sort").one_of(["name", "date"]))
//!         .reject_unknown_query())
//!     .route(Route::new("GET", "/items/{id}")?.param(Param::path("id").integer(1, i64::MAX).required()))
//!     .route(Route::new("POST", "/items")?.schema(&json!({
//!         "type": "object",
//!         "properties": {"name": {"type": "string", "minLength": 1}},
//!         "required": ["name"],
//!         "additionalProperties": false
//!     }))?);
//! assert!(routes.check_params("GET", "/items/0", "").is_err());
//! assert!(routes.check_params("GET", "/items", "limit=20&sort=name").is_ok());
//! # Ok::<(), edge_filter::ConfigError>(())
//! ```

use std::borrow::Cow;

use regex::Regex;
use serde::Serialize;
use serde_json::{Value, json};

use crate::ConfigError;

/// One violation of a body schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON pointer to the offending value (`/name`), `/` for the whole body.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A bad path or query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter's name.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Path,
    Query,
}

#[derive(Debug, Clone)]
enum Kind {
    Any,
    Integer {
        min: i64,
        max: i64,
    },
    OneOf(Vec<String>),
    Text {
        min: usize,
        max: usize,
        pattern: Option<Regex>,
    },
}

/// A rule for one parameter.
#[derive(Debug, Clone)]
#[must_use]
pub struct Param {
    name: String,
    source: Source,
    kind: Kind,
    required: bool,
    description: Option<String>,
}

impl Param {
    /// A path parameter, written `{name}` in the route.
    pub fn path(name: &str) -> Param {
        Param {
            name: name.to_owned(),
            source: Source::Path,
            kind: Kind::Any,
            required: true,
            description: None,
        }
    }

    /// A query parameter.
    pub fn query(name: &str) -> Param {
        Param {
            name: name.to_owned(),
            source: Source::Query,
            kind: Kind::Any,
            required: false,
            description: None,
        }
    }

    /// An integer in `min..=max`, in canonical decimal form (`5`, `-3`, `0`; not
    /// `05`, `+5` or `-0`).
    pub fn integer(mut self, min: i64, max: i64) -> Param {
        self.kind = Kind::Integer { min, max };
        self
    }

    /// One of `values`.
    pub fn one_of<I: IntoIterator<Item = S>, S: Into<String>>(mut self, values: I) -> Param {
        self.kind = Kind::OneOf(values.into_iter().map(Into::into).collect());
        self
    }

    /// Text of `min..=max` characters, optionally matching `pattern` (whole value).
    pub fn text(
        mut self,
        min: usize,
        max: usize,
        pattern: Option<&str>,
    ) -> Result<Param, ConfigError> {
        let pattern = pattern
            .map(|p| Regex::new(&format!("^(?:{p})$")))
            .transpose()
            .map_err(|e| ConfigError::InvalidParameterRule(self.name.clone(), e.to_string()))?;
        self.kind = Kind::Text { min, max, pattern };
        Ok(self)
    }

    /// The parameter must be present.
    pub fn required(mut self) -> Param {
        self.required = true;
        self
    }

    /// What the parameter means, for documentation ([`Param::openapi`]).
    pub fn description(mut self, text: impl Into<String>) -> Param {
        self.description = Some(text.into());
        self
    }

    /// The parameter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the parameter is: `"path"` or `"query"`, as OpenAPI's `in` says.
    pub fn location(&self) -> &'static str {
        match self.source {
            Source::Path => "path",
            Source::Query => "query",
        }
    }

    /// Whether the parameter must be present.
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// The JSON Schema of the values this rule accepts: what a client may
    /// send, stated with the rule's own bounds and (anchored) pattern.
    pub fn json_schema(&self) -> Value {
        match &self.kind {
            Kind::Any => json!({"type": "string"}),
            Kind::Integer { min, max } => {
                json!({"type": "integer", "minimum": min, "maximum": max})
            }
            Kind::OneOf(values) => json!({"type": "string", "enum": values}),
            Kind::Text { min, max, pattern } => {
                let mut schema = json!({"type": "string", "minLength": min, "maxLength": max});
                if let Some(pattern) = pattern {
                    schema["pattern"] = Value::from(pattern.as_str());
                }
                schema
            }
        }
    }

    /// This rule as an OpenAPI 3 Parameter Object (`name`, `in`, `required`,
    /// `schema`, and `description` when given), for generating an API
    /// description from the rules the filter enforces.
    pub fn openapi(&self) -> Value {
        let mut object = json!({
            "name": self.name,
            "in": self.location(),
            "required": self.required,
            "schema": self.json_schema(),
        });
        if let Some(description) = &self.description {
            object["description"] = Value::from(description.as_str());
        }
        object
    }

    fn check(&self, value: Option<&str>) -> Result<(), ParamError> {
        let error = |message: String| ParamError {
            name: self.name.clone(),
            message,
        };
        let Some(value) = value else {
            return if self.required {
                Err(error(format!("`{}` is required", self.name)))
            } else {
                Ok(())
            };
        };
        match &self.kind {
            Kind::Any => Ok(()),
            Kind::Integer { min, max } => match value.parse::<i64>() {
                // One spelling per number (`5`, never `05` or `+5`), so a value
                // cannot be an alias of another in cache keys or logs.
                Ok(n) if (*min..=*max).contains(&n) && is_canonical_integer(value) => Ok(()),
                _ => Err(error(format!(
                    "`{}` must be an integer from {min} to {max}, written without sign or leading zeros",
                    self.name
                ))),
            },
            Kind::OneOf(values) if values.iter().any(|v| v == value) => Ok(()),
            Kind::OneOf(values) => Err(error(format!(
                "`{}` must be one of {}",
                self.name,
                values.join(", ")
            ))),
            Kind::Text { min, max, pattern } => {
                let n = value.chars().count();
                if !(*min..=*max).contains(&n) {
                    return Err(error(format!(
                        "`{}` must be {min} to {max} characters",
                        self.name
                    )));
                }
                match pattern {
                    Some(p) if !p.is_match(value) => {
                        Err(error(format!("`{}` has an invalid format", self.name)))
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

/// One route's rules.
#[derive(Debug, Clone)]
#[must_use]
pub struct Route {
    method: String,
    path: edge_core::PathTemplate,
    params: Vec<Param>,
    reject_unknown_query: bool,
    schema: Option<Schema>,
}

/// A body schema: as given, and compiled.
#[derive(Debug, Clone)]
struct Schema {
    source: std::sync::Arc<Value>,
    validator: std::sync::Arc<jsonschema::Validator>,
}

impl Route {
    /// Rules for `method` requests to `pattern` (`/items/{id}`: edge-core's
    /// [`PathTemplate`](edge_core::PathTemplate) syntax, shared with edge-cache).
    pub fn new(method: &str, pattern: &str) -> Result<Route, ConfigError> {
        Ok(Route {
            method: method.to_ascii_uppercase(),
            path: edge_core::PathTemplate::parse(pattern)?,
            params: Vec::new(),
            reject_unknown_query: false,
            schema: None,
        })
    }

    /// Add a parameter rule.
    pub fn param(mut self, param: Param) -> Route {
        self.params.push(param);
        self
    }

    /// Reject query parameters that have no rule.
    pub fn reject_unknown_query(mut self) -> Route {
        self.reject_unknown_query = true;
        self
    }

    /// Validate bodies against `schema` (compiled now; no remote `$ref`s).
    /// `pattern`s run on the linear-time `regex` engine, so no body can make a
    /// pattern backtrack for long; patterns that need backtracking
    /// (look-around, back-references) are refused here.
    pub fn schema(mut self, schema: &Value) -> Result<Route, ConfigError> {
        let validator = jsonschema::options()
            .with_pattern_options(jsonschema::PatternOptions::regex())
            .build(schema)
            .map_err(|e| ConfigError::InvalidSchema(e.to_string()))?;
        self.schema = Some(Schema {
            source: std::sync::Arc::new(schema.clone()),
            validator: std::sync::Arc::new(validator),
        });
        Ok(self)
    }

    /// The method, upper case.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path template, as given.
    pub fn pattern(&self) -> &str {
        self.path.source()
    }

    /// The parameter rules.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The body's JSON Schema, exactly as given to [`Route::schema`].
    pub fn json_schema(&self) -> Option<&Value> {
        self.schema.as_ref().map(|schema| &*schema.source)
    }

    /// The captures of `path` if this route matches it.
    fn captures<'a>(&'a self, method: &str, path: &'a str) -> Option<edge_core::path::Params<'a>> {
        if self.method != method {
            return None;
        }
        self.path.matches(path)
    }
}

/// Every route's rules; requests to other routes pass unchecked.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Routes {
    routes: Vec<Route>,
}

impl Routes {
    /// No routes yet.
    pub fn new() -> Routes {
        Routes::default()
    }

    /// Add a route.
    pub fn route(mut self, route: Route) -> Routes {
        self.routes.push(route);
        self
    }

    /// The routes, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    fn find<'a>(
        &'a self,
        method: &str,
        path: &'a str,
    ) -> Option<(&'a Route, edge_core::path::Params<'a>)> {
        self.routes
            .iter()
            .find_map(|r| r.captures(method, path).map(|c| (r, c)))
    }

    /// Check the path and query parameters of a request.
    pub fn check_params(&self, method: &str, path: &str, query: &str) -> Result<(), ParamError> {
        let Some((route, captures)) = self.find(method, path) else {
            return Ok(());
        };
        let query: Vec<(Cow<'_, str>, Cow<'_, str>)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(name), decode(value))
            })
            .collect();
        for param in &route.params {
            let value = match param.source {
                Source::Path => captures
                    .iter()
                    .find(|(n, _)| *n == param.name)
                    .map(|(_, v)| decode(v)),
                Source::Query => query
                    .iter()
                    .find(|(n, _)| *n == param.name)
                    .map(|(_, v)| Cow::Borrowed(&**v)),
            };
            param.check(value.as_deref())?;
        }
        if route.reject_unknown_query
            && let Some((name, _)) = query.iter().find(|(n, _)| {
                !route
                    .params
                    .iter()
                    .any(|p| p.source == Source::Query && p.name == *n)
            })
        {
            return Err(ParamError {
                name: name.clone().into_owned(),
                message: format!("`{name}` is not a parameter of this endpoint"),
            });
        }
        Ok(())
    }

    /// Whether a body schema applies to this request.
    pub fn has_schema(&self, method: &str, path: &str) -> bool {
        // Most requests (reads) have no schema route for their method: no matching.
        self.routes
            .iter()
            .any(|r| r.schema.is_some() && r.method == method)
            && self
                .find(method, path)
                .is_some_and(|(r, _)| r.schema.is_some())
    }

    /// Validate `body` against the route's schema; every violation is listed.
    pub fn check_body(
        &self,
        method: &str,
        path: &str,
        body: &Value,
    ) -> Result<(), Vec<FieldError>> {
        let Some(schema) = self
            .find(method, path)
            .and_then(|(r, _)| r.schema.as_ref().map(|s| s.validator.clone()))
        else {
            return Ok(());
        };
        let mut errors = Vec::new();
        for error in schema.iter_errors(body) {
            let base = error.instance_path().to_string();
            // Each unexpected field is reported at its own pointer.
            if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } =
                error.kind()
            {
                for name in unexpected {
                    errors.push(FieldError {
                        field: format!("{base}/{}", name.replace('~', "~0").replace('/', "~1")),
                        message: "is not allowed here".to_owned(),
                    });
                }
                continue;
            }
            errors.push(FieldError {
                field: if base.is_empty() {
                    "/".to_owned()
                } else {
                    base
                },
                message: error.masked().to_string(),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Percent-decode a parameter (`+` as space); invalid escapes stay as they are.
/// `raw` with `+` and `%XX` decoded (borrowed when it has neither).
fn decode(raw: &str) -> Cow<'_, str> {
    let bytes = raw.as_bytes();
    if !bytes.iter().any(|&b| b == b'+' || b == b'%') {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(invalid) => Cow::Owned(String::from_utf8_lossy(invalid.as_bytes()).into_owned()),
    }
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// `0`, or an optional `-` and digits without a leading zero (`-0` excluded).
fn is_canonical_integer(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    match digits.as_bytes() {
        [b'0'] => digits.len() == value.len(),
        [first, ..] => *first != b'0' && digits.bytes().all(|b| b.is_ascii_digit()),
        [] => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_describe_themselves_as_openapi_parameters_and_schemas() {
        let body = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let routes = Routes::new().route(
            Route::new("post", "/items/{id}")
                .unwrap()
                .param(Param::path("id").integer(1, 9).description("The item"))
                .param(Param::query("cursor").text(1, 8, Some("[a-z]+")).unwrap())
                .param(Param::query("sort").one_of(["name", "date"]).required())
                .schema(&body)
                .unwrap(),
        );
        let route = routes.iter().next().unwrap();
        assert_eq!((route.method(), route.pattern()), ("POST", "/items/{id}"));
        assert_eq!(route.json_schema(), Some(&body));
        let parameters: Vec<Value> = route.params().iter().map(Param::openapi).collect();
        assert_eq!(
            parameters,
            [
                json!({"name": "id", "in": "path", "required": true, "description": "The item",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 9}}),
                json!({"name": "cursor", "in": "query", "required": false,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 8, "pattern": "^(?:[a-z]+)$"}}),
                json!({"name": "sort", "in": "query", "required": true,
                    "schema": {"type": "string", "enum": ["name", "date"]}}),
            ]
        );
        // The published pattern accepts what the rule accepts, and only that.
        let cursor = jsonschema::validator_for(&parameters[1]["schema"]).unwrap();
        for value in ["abc", "", "ABC", "abcdefghi", "ab-c"] {
            let rule =
                routes.check_params("POST", "/items/1", &format!("sort=name&cursor={value}"));
            assert_eq!(cursor.is_valid(&json!(value)), rule.is_ok(), "{value:?}");
        }
    }

    #[test]
    fn parameters_are_typed() {
        let routes = Routes::new()
            .route(
                Route::new("GET", "/r")
                    .unwrap()
                    .param(Param::query("limit").integer(1, 100))
                    .param(
                        Param::query("cursor")
                            .text(1, 64, Some("[A-Za-z0-9_-]+"))
                            .unwrap(),
                    )
                    .reject_unknown_query(),
            )
            .route(
                Route::new("GET", "/r/{id}")
                    .unwrap()
                    .param(Param::path("id").integer(1, i64::MAX)),
            );
        assert!(
            routes
                .check_params("GET", "/r", "limit=5&cursor=abc_-1")
                .is_ok()
        );
        // Aliases of a number are refused.
        for alias in ["limit=05", "limit=+5", "limit=5.0", "limit=%2B5"] {
            assert_eq!(
                routes.check_params("GET", "/r", alias).unwrap_err().name,
                "limit",
                "{alias}"
            );
        }
        for alias in ["/r/07", "/r/+7", "/r/-0"] {
            assert!(routes.check_params("GET", alias, "").is_err(), "{alias}");
        }
        assert!(routes.check_params("GET", "/r/7", "").is_ok());
        assert_eq!(
            routes
                .check_params("GET", "/r", "limit=0")
                .unwrap_err()
                .name,
            "limit"
        );
        assert_eq!(
            routes
                .check_params("GET", "/r", "cursor=a%20b")
                .unwrap_err()
                .name,
            "cursor"
        );
        assert_eq!(
            routes
                .check_params("GET", "/r", "other=1")
                .unwrap_err()
                .name,
            "other"
        );
        assert_eq!(
            routes.check_params("GET", "/r/abc", "").unwrap_err().name,
            "id"
        );
        assert!(
            routes
                .check_params("GET", "/r/9223372036854775807", "")
                .is_ok()
        );
        assert!(
            routes
                .check_params("GET", "/r/9223372036854775808", "")
                .is_err()
        );
        assert!(routes.check_params("GET", "/elsewhere", "x=1").is_ok());
        assert_eq!(decode("a%2Fb+c%zz%"), "a/b c%zz%");
    }

    #[test]
    fn patterns_run_on_a_linear_time_engine() {
        let route = |pattern: &str| {
            Route::new("POST", "/r").unwrap().schema(&json!({
                "type": "object",
                "properties": {"name": {"type": "string", "pattern": pattern}}
            }))
        };
        // Look-around needs a backtracking engine: refused at configuration.
        assert!(matches!(
            route("^(?=a)a+$"),
            Err(ConfigError::InvalidSchema(_))
        ));
        // The classic catastrophic pattern is answered in linear time.
        let routes = Routes::new().route(route("^(a+)+$").unwrap());
        let hostile = format!("{}!", "a".repeat(64));
        assert!(
            routes
                .check_body("POST", "/r", &json!({ "name": hostile }))
                .is_err()
        );
        assert!(
            routes
                .check_body("POST", "/r", &json!({"name": "aaaa"}))
                .is_ok()
        );
    }

    #[test]
    fn schemas_list_every_violation() {
        let routes = Routes::new().route(
            Route::new("POST", "/r")
                .unwrap()
                .schema(&json!({
                    "type": "object",
                    "properties": {"name": {"type": "string", "minLength": 1}, "n": {"type": "integer"}},
                    "required": ["name"],
                    "additionalProperties": false
                }))
                .unwrap(),
        );
        let errors = routes
            .check_body("POST", "/r", &json!({"name": "", "n": "x", "extra": 1}))
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"/name") && fields.contains(&"/n") && fields.contains(&"/extra"),
            "{errors:?}"
        );
        assert!(
            routes
                .check_body("POST", "/r", &json!({"name": "ok"}))
                .is_ok()
        );
        assert!(
            Route::new("POST", "/x")
                .unwrap()
                .schema(&json!({"type": 5}))
                .is_err()
        );
    }
}
