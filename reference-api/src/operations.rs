//! The API's operations, one row each: the one table that drives the routes the
//! app registers, the routes that need no token, the login and registration
//! limits, the cached routes, and the parameter rules and body schemas the input
//! filter enforces (so handlers receive checked, typed input and check nothing
//! again).

use actix_web::web;
use edge_filter::routes::{Param, Route, Routes};
use http::Method;
use serde_json::{Value, json};

use crate::problem::Code;
use crate::routes::{admin, auth, health, metrics, openapi, resources};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Public,
    /// A valid bearer token.
    Bearer,
}

/// A per-IP limit only this operation meets, on top of the general one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpLimit {
    /// `--rate-limit-login`.
    Login,
    /// `--rate-limit-register`.
    Register,
}

/// How the response cache treats an operation's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Not cached.
    None,
    /// GETs answered from one entry shared by every authorized caller; a write
    /// to the path invalidates it and, when named, the entries of another path.
    Shared {
        /// Another path a write here invalidates (the list, after a change to one item).
        invalidates: Option<&'static str>,
    },
}

/// A parameter rule the input filter enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamRule {
    /// The `{id}` path segment: a positive 64-bit integer.
    Id,
    /// The `limit` query parameter: 1 to 100.
    Limit,
    /// The `cursor` query parameter: an opaque 1-64 character token.
    Cursor,
}

/// One operation of the API.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The method.
    pub method: Method,
    /// The path template (edge-core's `{name}` syntax).
    pub path: &'static str,
    /// Its OpenAPI `operationId`.
    pub id: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Its own per-IP limit, if any.
    pub ip_limit: Option<IpLimit>,
    /// How the cache treats it (GETs).
    pub caching: Caching,
    /// Its parameter rules.
    pub params: &'static [ParamRule],
    /// The JSON Schema its body must meet, if it takes one.
    pub body: Option<fn() -> Value>,
    /// A health probe or the metrics scrape: public and never rate-limited (an
    /// orchestrator or Prometheus asks from one address, often).
    pub probe: bool,
    /// The problems its handler answers with (those of the middleware in front
    /// of it follow from the other fields).
    pub answers: &'static [Code],
    /// The handler, as an actix-web route of this method.
    pub handler: fn() -> actix_web::Route,
}

const PAGE: &[ParamRule] = &[ParamRule::Limit, ParamRule::Cursor];
const ID: &[ParamRule] = &[ParamRule::Id];
const ID_PAGE: &[ParamRule] = &[ParamRule::Id, ParamRule::Limit, ParamRule::Cursor];

/// An operation with the defaults: bearer token, no own limit, not cached, no
/// parameters, no body.
const fn operation(
    method: Method,
    path: &'static str,
    id: &'static str,
    handler: fn() -> actix_web::Route,
) -> Operation {
    Operation {
        method,
        path,
        id,
        access: Access::Public,
        ip_limit: None,
        caching: Caching::None,
        params: &[],
        body: None,
        probe: false,
        answers: &[],
        handler,
    }
    .bearer()
}

impl Operation {
    const fn public(mut self) -> Self {
        self.access = Access::Public;
        self
    }

    const fn probe(mut self) -> Self {
        self.probe = true;
        self.public()
    }

    const fn bearer(mut self) -> Self {
        self.access = Access::Bearer;
        self
    }

    const fn ip_limit(mut self, limit: IpLimit) -> Self {
        self.ip_limit = Some(limit);
        self
    }

    const fn cached(mut self, invalidates: Option<&'static str>) -> Self {
        self.caching = Caching::Shared { invalidates };
        self
    }

    const fn params(mut self, params: &'static [ParamRule]) -> Self {
        self.params = params;
        self
    }

    const fn body(mut self, schema: fn() -> Value) -> Self {
        self.body = Some(schema);
        self
    }

    const fn answers(mut self, codes: &'static [Code]) -> Self {
        self.answers = codes;
        self
    }
}

/// Every operation (SPEC §4). Lookups that go through the table's order (the
/// cache's routes, the filter's rules) meet the most requested path first: one
/// resource by id, then the list.
pub const OPERATIONS: &[Operation] = &[
    operation(Method::GET, "/livez", "livez", || {
        web::get().to(health::livez)
    })
    .probe(),
    operation(Method::GET, "/readyz", "readyz", || {
        web::get().to(health::readyz)
    })
    .probe(),
    operation(Method::GET, "/healthz", "healthz", || {
        web::get().to(health::healthz)
    })
    .probe(),
    operation(Method::GET, "/metrics", "metrics", || {
        web::get().to(metrics::metrics)
    })
    .probe()
    .answers(&[Code::Forbidden, Code::ServiceUnavailable]),
    operation(Method::GET, "/openapi.json", "openapi", || {
        web::get().to(openapi::openapi_json)
    })
    .public(),
    operation(Method::POST, "/api/auth/register", "register", || {
        web::post().to(auth::register)
    })
    .public()
    .ip_limit(IpLimit::Register)
    .body(credentials_schema)
    .answers(&[Code::Conflict, Code::ServiceUnavailable]),
    operation(Method::POST, "/api/auth/login", "login", || {
        web::post().to(auth::login)
    })
    .public()
    .ip_limit(IpLimit::Login)
    .body(login_schema)
    .answers(&[Code::Unauthorized, Code::ServiceUnavailable]),
    operation(Method::POST, "/api/auth/refresh", "refresh", || {
        web::post().to(auth::refresh)
    })
    .public()
    .body(refresh_schema)
    .answers(&[Code::Unauthorized, Code::ServiceUnavailable]),
    operation(Method::POST, "/api/auth/logout", "logout", || {
        web::post().to(auth::logout)
    })
    .body(refresh_schema)
    .answers(&[Code::Unauthorized, Code::ServiceUnavailable]),
    operation(Method::GET, "/api/auth/me", "me", || {
        web::get().to(auth::me)
    })
    .answers(&[Code::ServiceUnavailable]),
    operation(Method::GET, "/api/resources/{id}", "getResource", || {
        web::get().to(resources::get)
    })
    .cached(Some("/api/resources"))
    .params(ID)
    .answers(&[Code::NotFound, Code::ServiceUnavailable]),
    operation(
        Method::PUT,
        "/api/resources/{id}",
        "replaceResource",
        || web::put().to(resources::replace),
    )
    .params(ID)
    .body(resource_schema)
    .answers(&[
        Code::Forbidden,
        Code::NotFound,
        Code::PreconditionFailed,
        Code::ValidationFailed,
        Code::ServiceUnavailable,
    ]),
    operation(
        Method::DELETE,
        "/api/resources/{id}",
        "deleteResource",
        || web::delete().to(resources::delete),
    )
    .params(ID)
    .answers(&[
        Code::Forbidden,
        Code::NotFound,
        Code::PreconditionFailed,
        Code::ServiceUnavailable,
    ]),
    operation(
        Method::GET,
        "/api/resources/{id}/audit",
        "getAuditTrail",
        || web::get().to(resources::audit_trail),
    )
    .params(ID_PAGE)
    .answers(&[
        Code::Forbidden,
        Code::NotFound,
        Code::InvalidParameter,
        Code::ServiceUnavailable,
    ]),
    operation(Method::POST, "/api/resources", "createResource", || {
        web::post().to(resources::create)
    })
    .body(resource_schema)
    .answers(&[Code::ValidationFailed, Code::ServiceUnavailable]),
    operation(Method::GET, "/api/resources", "listResources", || {
        web::get().to(resources::list)
    })
    .cached(None)
    .params(PAGE)
    .answers(&[Code::InvalidParameter, Code::ServiceUnavailable]),
    operation(Method::GET, "/api/admin/settings", "getSettings", || {
        web::get().to(admin::get)
    })
    .answers(&[Code::Forbidden, Code::ServiceUnavailable]),
    operation(Method::PUT, "/api/admin/settings", "changeSettings", || {
        web::put().to(admin::replace)
    })
    .body(settings_schema)
    .answers(&[
        Code::Forbidden,
        Code::PreconditionFailed,
        Code::ValidationFailed,
        Code::ServiceUnavailable,
    ]),
];

/// The operations under `/api` (behind authentication, the per-user limits
/// and the cache).
pub fn api() -> impl Iterator<Item = &'static Operation> {
    OPERATIONS.iter().filter(|op| op.path.starts_with("/api/"))
}

/// The cached operations (GETs whose responses the cache shares), in table order.
pub fn cached() -> impl Iterator<Item = &'static Operation> {
    OPERATIONS.iter().filter(|op| op.caching != Caching::None)
}

/// Every path template, the most requested first (the cached reads, the rest
/// of the API, then the probes): the access log labels requests by the first
/// that matches.
pub fn templates_by_traffic() -> impl Iterator<Item = &'static str> {
    let rest = api().chain(OPERATIONS.iter().filter(|op| !op.path.starts_with("/api/")));
    cached().chain(rest).map(|op| op.path)
}

/// The health probes' paths (no rate limit applies to them).
pub fn probes() -> impl Iterator<Item = &'static str> {
    OPERATIONS.iter().filter(|op| op.probe).map(|op| op.path)
}

/// The operation with this per-IP limit.
pub fn with_ip_limit(limit: IpLimit) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| op.ip_limit == Some(limit))
}

/// Each path once, in table order, with its operations' routes: what the app
/// registers as one resource per path (so a known path with another method is 405).
pub fn resources<'a>(
    operations: impl Iterator<Item = &'a Operation>,
) -> Vec<(&'static str, Vec<actix_web::Route>)> {
    let mut paths: Vec<(&'static str, Vec<actix_web::Route>)> = Vec::new();
    for op in operations {
        match paths.iter_mut().find(|(path, _)| *path == op.path) {
            Some((_, routes)) => routes.push((op.handler)()),
            None => paths.push((op.path, vec![(op.handler)()])),
        }
    }
    paths
}

/// The input filter's rules: every operation's parameters and body schema.
pub fn validation_routes() -> Result<Routes, edge_filter::ConfigError> {
    let mut routes = Routes::new();
    for op in OPERATIONS {
        if op.params.is_empty() && op.body.is_none() {
            continue;
        }
        let mut route = Route::new(op.method.as_str(), op.path)?;
        for rule in op.params {
            route = route.param(param(*rule)?);
        }
        if let Some(schema) = op.body {
            route = route.schema(&schema())?;
        }
        routes = routes.route(route);
    }
    Ok(routes)
}

fn param(rule: ParamRule) -> Result<Param, edge_filter::ConfigError> {
    Ok(match rule {
        ParamRule::Id => Param::path("id")
            .integer(1, i64::MAX)
            .description("The resource's id"),
        ParamRule::Limit => Param::query("limit")
            .integer(1, 100)
            .description("Items per page (default 20)"),
        ParamRule::Cursor => Param::query("cursor")
            .text(1, 64, Some("[A-Za-z0-9_-]+"))?
            .description(
                "`next_cursor` of the previous page: opaque, and only the API's own \
                 cursors are accepted (any other is a 400)",
            ),
    })
}

/// `{username, password}` of registration: username 3-32 of `[A-Za-z0-9_.-]`,
/// password 8-128 characters.
fn credentials_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "username": {"type": "string", "minLength": 3, "maxLength": 32, "pattern": "^[A-Za-z0-9_.-]+$"},
            "password": {"type": "string", "minLength": 8, "maxLength": 128}
        },
        "required": ["username", "password"],
        "additionalProperties": false
    })
}

/// Login checks shape only: malformed names get the same 401 as wrong passwords.
fn login_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "username": {"type": "string", "maxLength": 256},
            "password": {"type": "string", "maxLength": 1024}
        },
        "required": ["username", "password"],
        "additionalProperties": false
    })
}

/// `{refresh_token}` of refresh and logout.
fn refresh_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"refresh_token": {"type": "string", "minLength": 1, "maxLength": 512}},
        "required": ["refresh_token"],
        "additionalProperties": false
    })
}

/// A resource body. The size of `data` (at most 64 KiB as JSON) is the one rule
/// a schema cannot state; the create and replace handlers check it.
fn resource_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": {"type": ["string", "null"], "maxLength": 10000},
            "tags": {
                "type": ["array", "null"],
                "maxItems": 20,
                "uniqueItems": true,
                "items": {"type": "string", "minLength": 1, "maxLength": 32}
            },
            "data": {"type": ["object", "null"], "description": "At most 64 KiB as JSON (larger is a 422)"}
        },
        "required": ["name"],
        "additionalProperties": false
    })
}

/// A change to the live settings: any of their keys (each checked again, with
/// every error listed, by the handler).
fn settings_schema() -> Value {
    let quota = json!({
        "type": "string",
        "maxLength": 32,
        "pattern": "^[1-9][0-9]{0,9}/[0-9]{0,9}(ms|s|sec|m|min|h|d)$",
        "description": "Requests per period, such as 600/1m"
    });
    let limits: serde_json::Map<String, Value> =
        ["ip", "login", "register", "user", "read", "write"]
            .into_iter()
            .map(|name| (name.to_owned(), quota.clone()))
            .collect();
    json!({
        "type": "object",
        "properties": {
            "version": {"type": "integer", "description": "When sent: change only this version (else 412)"},
            "rate_limits": {"type": "object", "properties": limits, "additionalProperties": false},
            "filter_mode": {"enum": ["block", "detect"]},
            "filter_rules_off": {
                "type": "array",
                "maxItems": 100,
                "uniqueItems": true,
                "items": {"type": "string", "minLength": 1, "maxLength": 64}
            },
            "cache_ttl": {"type": "string", "minLength": 1, "maxLength": 32, "description": "Such as 30s; 0s turns caching off"},
            "admins": {
                "type": "array",
                "minItems": 1,
                "maxItems": 100,
                "uniqueItems": true,
                "items": {"type": "string", "minLength": 3, "maxLength": 32, "pattern": "^[A-Za-z0-9_.-]+$"},
                "description": "Every account that is to be an admin (from its next login or refresh)"
            },
            "cache_routes": {
                "type": "object",
                "maxProperties": 16,
                "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 32},
                "description": "Cached routes' own TTLs, by route template"
            }
        },
        "additionalProperties": false
    })
}

#[cfg(test)]
mod tests {
    use edge_filter::{Filter, Rejection, RequestContext};

    use super::*;

    fn filter() -> Filter {
        Filter::builder()
            .routes(validation_routes().unwrap())
            .build()
            .unwrap()
    }

    /// The fields a body fails on, as the filter reports them.
    fn failures(filter: &Filter, method: &str, path: &str, body: &Value) -> Vec<String> {
        let context = RequestContext {
            sender: &edge_filter::KnownSender {
                request_id: "",
                ..edge_filter::KnownSender::default()
            },
            method,
            path,
        };
        let body = serde_json::to_vec(body).unwrap();
        match filter.check_request_body(&context, Some("application/json"), &body) {
            Ok(()) => Vec::new(),
            Err(Rejection::ValidationFailed(errors)) => {
                errors.into_iter().map(|e| e.field).collect()
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn resource_bodies_report_every_violation() {
        let fields = failures(
            &filter(),
            "POST",
            "/api/resources",
            &json!({"name": "", "description": 5, "tags": ["a", "a", "", 7], "data": [1], "extra": true}),
        );
        for expected in ["/name", "/description", "/tags", "/data"] {
            assert!(
                fields.iter().any(|f| f.starts_with(expected)),
                "{expected} missing from {fields:?}"
            );
        }
        assert!(
            fields.iter().any(|f| f == "/" || f.contains("extra")),
            "{fields:?}"
        );
    }

    #[test]
    fn good_bodies_pass_and_limits_hold() {
        let filter = filter();
        let put = |body: Value| failures(&filter, "PUT", "/api/resources/7", &body);
        assert!(put(json!({"name": "n", "tags": ["x", "y"], "data": {"k": 1}})).is_empty());
        assert!(put(json!({"name": "x".repeat(200)})).is_empty());
        assert!(!put(json!({"name": "x".repeat(201)})).is_empty());
        let register = |body: Value| failures(&filter, "POST", "/api/auth/register", &body);
        assert!(!register(json!({"username": "al", "password": "12345678"})).is_empty());
        assert!(!register(json!({"username": "al ice", "password": "12345678"})).is_empty());
        assert!(!register(json!({"username": "alice", "password": "1234567"})).is_empty());
        assert!(register(json!({"username": "a.l-i_ce", "password": "12345678"})).is_empty());
        // Login checks shape only.
        let login = |body: Value| failures(&filter, "POST", "/api/auth/login", &body);
        assert!(login(json!({"username": "al", "password": "x"})).is_empty());
        assert!(!login(json!({"username": "al"})).is_empty());
    }

    #[test]
    fn ids_are_positive_64_bit_integers() {
        let filter = filter();
        let check = |path: &str| {
            let context = RequestContext {
                sender: &edge_filter::KnownSender {
                    request_id: "",
                    ..edge_filter::KnownSender::default()
                },
                method: "GET",
                path,
            };
            filter.check_head(&context, "", std::iter::empty())
        };
        assert!(check("/api/resources/42").is_ok());
        for bad in ["0", "-1", "abc", "9223372036854775808", "05"] {
            assert!(
                matches!(
                    check(&format!("/api/resources/{bad}")),
                    Err(Rejection::InvalidParameter(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_path_is_one_resource_and_the_special_limits_have_one_route() {
        let registered = resources(OPERATIONS.iter());
        let mut paths: Vec<_> = registered.iter().map(|(path, _)| *path).collect();
        let count = paths.len();
        paths.dedup();
        assert_eq!(paths.len(), count);
        assert_eq!(
            with_ip_limit(IpLimit::Login).map(|op| op.path),
            Some("/api/auth/login")
        );
        assert_eq!(
            with_ip_limit(IpLimit::Register).map(|op| op.path),
            Some("/api/auth/register")
        );
        // Cached operations are GETs.
        for op in cached() {
            assert_eq!(op.method, Method::GET, "{}", op.path);
        }
    }
}
