//! Each crate's part of the stack, built once from the configuration and shared
//! by every worker: the token validator, the two limiters, the cache, the
//! filter with its route rules.

use edge_auth::Validator;
use edge_cache::{Cache, RedisTier};
use edge_filter::routes::{Param, Route, Routes};
use edge_filter::{Filter, Mode, SecurityLog};
use edge_ratelimit::{KeyKind, Policy, RateLimiter, RedisStore, Scope};
use http::Method;
use serde_json::json;

use crate::config::Config;

/// The access-token validator: `iss` = `--jwt-issuer`, HS256 with the JWT secret,
/// and the public routes under `/api`.
pub fn validator(config: &Config, secret: &[u8]) -> Result<Validator, edge_auth::ConfigError> {
    Validator::builder(config.jwt_issuer.clone())
        .hmac_secret(secret)
        .public_route(&Method::POST, "/api/auth/register")
        .public_route(&Method::POST, "/api/auth/login")
        .public_route(&Method::POST, "/api/auth/refresh")
        .build()
}

/// The two limiters: per IP (with the login and registration limits) and per
/// user / endpoint class.
/// With a Redis URL they share their counts with every instance on that Redis.
pub fn limiters(
    config: &Config,
) -> Result<(RateLimiter, RateLimiter), edge_ratelimit::ConfigError> {
    let redis = config
        .redis_url
        .as_deref()
        .map(RedisStore::new)
        .transpose()?;
    let with_store = |builder: edge_ratelimit::RateLimiterBuilder| {
        let builder = builder
            .proxies(config.proxies())
            .ipv6_prefix(config.rate_limit_ipv6_prefix)
            .fail_mode(config.rate_limit_fail_mode);
        match &redis {
            Some(store) => builder.redis(store.clone()),
            None => builder,
        }
    };
    let ip = with_store(RateLimiter::builder())
        .policy(Policy::new("ip", config.rate_limit_ip, KeyKind::ClientIp)?)
        .policy(
            Policy::new("login", config.rate_limit_login, KeyKind::ClientIp)?
                .method("POST")
                .route("/api/auth/login")?
                .fail_mode(config.rate_limit_login_fail_mode),
        )
        .policy(
            Policy::new("register", config.rate_limit_register, KeyKind::ClientIp)?
                .method("POST")
                .route("/api/auth/register")?
                .fail_mode(config.rate_limit_login_fail_mode),
        )
        .build()?;
    let user = with_store(RateLimiter::builder())
        .policy(Policy::new(
            "user",
            config.rate_limit_user,
            KeyKind::Subject,
        )?)
        .policy(
            Policy::new("read", config.rate_limit_read, KeyKind::SubjectOrIp)?.scope(Scope::Reads),
        )
        .policy(
            Policy::new("write", config.rate_limit_write, KeyKind::SubjectOrIp)?
                .scope(Scope::Writes),
        )
        .build()?;
    Ok((ip, user))
}

/// The response cache: one resource and the list pages are the same for every
/// caller, so they are shared between authorized callers for `--cache-ttl`,
/// without `X-Cache`/`Age` unless `--cache-status-header` (see the access log).
/// Changing a resource invalidates it and every list page; nothing else is
/// cached. With a Redis URL, entries and invalidations are shared by every instance.
pub fn cache(config: &Config) -> Result<Cache, edge_cache::ConfigError> {
    let builder = Cache::builder()
        .default_ttl(config.cache_ttl)
        .cache_unlisted(false)
        .route(
            edge_cache::Route::new("/api/resources/{id}")
                .share_authorized()
                .announce_status(config.cache_status_header)
                .invalidates("/api/resources"),
        )
        .route(
            edge_cache::Route::new("/api/resources")
                .share_authorized()
                .announce_status(config.cache_status_header),
        );
    match config.redis_url.as_deref() {
        Some(url) => builder.redis(RedisTier::new(url)?).build(),
        None => builder.build(),
    }
}

/// Parameter rules and body schemas of every endpoint (SPEC §4).
pub fn validation_routes() -> Result<Routes, edge_filter::ConfigError> {
    let credentials = json!({
        "type": "object",
        "properties": {
            "username": {"type": "string", "minLength": 3, "maxLength": 32, "pattern": "^[A-Za-z0-9_.-]+$"},
            "password": {"type": "string", "minLength": 8, "maxLength": 128}
        },
        "required": ["username", "password"],
        "additionalProperties": false
    });
    // Login checks shape only: malformed names get the same 401 as wrong passwords.
    let login = json!({
        "type": "object",
        "properties": {
            "username": {"type": "string", "maxLength": 256},
            "password": {"type": "string", "maxLength": 1024}
        },
        "required": ["username", "password"],
        "additionalProperties": false
    });
    let refresh_token = json!({
        "type": "object",
        "properties": {"refresh_token": {"type": "string", "minLength": 1, "maxLength": 512}},
        "required": ["refresh_token"],
        "additionalProperties": false
    });
    let resource = json!({
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
            "data": {"type": ["object", "null"]}
        },
        "required": ["name"],
        "additionalProperties": false
    });
    let id = || Param::path("id").integer(1, i64::MAX);
    Ok(Routes::new()
        .route(Route::new("POST", "/api/auth/register")?.schema(&credentials)?)
        .route(Route::new("POST", "/api/auth/login")?.schema(&login)?)
        .route(Route::new("POST", "/api/auth/refresh")?.schema(&refresh_token)?)
        .route(Route::new("POST", "/api/auth/logout")?.schema(&refresh_token)?)
        .route(Route::new("POST", "/api/resources")?.schema(&resource)?)
        .route(
            Route::new("GET", "/api/resources")?
                .param(Param::query("limit").integer(1, 100))
                .param(Param::query("cursor").text(1, 64, Some("[A-Za-z0-9_-]+"))?),
        )
        .route(Route::new("GET", "/api/resources/{id}")?.param(id()))
        .route(
            Route::new("PUT", "/api/resources/{id}")?
                .param(id())
                .schema(&resource)?,
        )
        .route(Route::new("DELETE", "/api/resources/{id}")?.param(id()))
        .route(
            Route::new("GET", "/api/resources/{id}/audit")?
                .param(id())
                .param(Param::query("limit").integer(1, 100))
                .param(Param::query("cursor").text(1, 64, Some("[A-Za-z0-9_-]+"))?),
        ))
}

/// Size, media-type, parameter, schema and attack checks, with findings going to `security_log`.
pub fn filter(
    config: &Config,
    security_log: SecurityLog,
) -> Result<Filter, edge_filter::ConfigError> {
    let mode = match config.filter_mode {
        crate::config::FilterMode::Block => Mode::Block,
        crate::config::FilterMode::Detect => Mode::DetectOnly,
    };
    Filter::builder()
        .max_body(usize::try_from(config.max_body).unwrap_or(usize::MAX))
        .body_timeout(Some(config.body_timeout))
        .mode(mode)
        .security_log(security_log)
        .routes(validation_routes()?)
        .build()
}
