//! Each crate's part of the stack, built once from the configuration and shared
//! by every worker: the token validator, the two limiters, the cache, the
//! filter with its route rules.

use edge_auth::Validator;
use edge_cache::{Cache, RedisTier, Unlisted};
use edge_filter::{Filter, SecurityLog};
use edge_ratelimit::{KeyKind, Policy, Quota, RateLimiter, RedisStore, Scope};

use crate::config::Config;
use crate::operations::{self, Access, Caching, IpLimit, validation_routes};

/// The access-token validator: `iss` = `--jwt-issuer`, HS256 with the JWT secret,
/// and the public operations under `/api` (from the operation table).
pub fn validator(config: &Config, secret: &[u8]) -> Result<Validator, edge_auth::ConfigError> {
    operations::api()
        .filter(|op| op.access == Access::Public)
        .fold(
            Validator::builder(config.jwt_issuer.clone()).hmac_secret(secret),
            |builder, op| builder.public_route(&op.method, op.path),
        )
        .build()
}

/// The quota of each rate-limit policy: from the flags at start, from the
/// live settings afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    /// `ip`: every request per client IP.
    pub ip: Quota,
    /// `login`: logins per client IP.
    pub login: Quota,
    /// `register`: registrations per client IP.
    pub register: Quota,
    /// `user`: every request per user.
    pub user: Quota,
    /// `read`: reads per user (or IP).
    pub read: Quota,
    /// `write`: writes per user (or IP).
    pub write: Quota,
}

impl Quotas {
    /// The quotas the flags give.
    pub fn of(config: &Config) -> Quotas {
        Quotas {
            ip: config.rate_limit_ip,
            login: config.rate_limit_login,
            register: config.rate_limit_register,
            user: config.rate_limit_user,
            read: config.rate_limit_read,
            write: config.rate_limit_write,
        }
    }

    /// The per-IP limiter's policies: every request, then the login and
    /// registration limits on their operations (failing closed by default:
    /// password guessing must not go unlimited).
    pub fn ip_policies(&self, config: &Config) -> Result<Vec<Policy>, edge_ratelimit::ConfigError> {
        let own_limit = |name: &str, quota, limit| -> Result<Policy, edge_ratelimit::ConfigError> {
            let policy = Policy::new(name, quota, KeyKind::ClientIp)?
                .fail_mode(config.rate_limit_login_fail_mode);
            match operations::with_ip_limit(limit) {
                Some(op) => policy.method(op.method.as_str()).route(op.path),
                None => Ok(policy),
            }
        };
        Ok(vec![
            Policy::new("ip", self.ip, KeyKind::ClientIp)?,
            own_limit("login", self.login, IpLimit::Login)?,
            own_limit("register", self.register, IpLimit::Register)?,
        ])
    }

    /// The per-user limiter's policies: every request, reads, writes.
    pub fn user_policies(&self) -> Result<Vec<Policy>, edge_ratelimit::ConfigError> {
        Ok(vec![
            Policy::new("user", self.user, KeyKind::Subject)?,
            Policy::new("read", self.read, KeyKind::SubjectOrIp)?.scope(Scope::Reads),
            Policy::new("write", self.write, KeyKind::SubjectOrIp)?.scope(Scope::Writes),
        ])
    }
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
    let quotas = Quotas::of(config);
    let ip = operations::probes().fold(with_store(RateLimiter::builder()), |builder, probe| {
        builder.exempt(probe)
    });
    let ip = quotas
        .ip_policies(config)?
        .into_iter()
        .fold(ip, |builder, policy| builder.policy(policy))
        .build()?;
    let user = quotas
        .user_policies()?
        .into_iter()
        .fold(with_store(RateLimiter::builder()), |builder, policy| {
            builder.policy(policy)
        })
        .build()?;
    Ok((ip, user))
}

/// The response cache: one resource and the list pages are the same for every
/// caller, so they are shared between authorized callers for `--cache-ttl`,
/// without `X-Cache`/`Age` unless `--cache-status-header` (see the access log).
/// Changing a resource invalidates it and every list page; nothing else is
/// cached. With a Redis URL, entries and invalidations are shared by every instance.
pub fn cache(config: &Config) -> Result<Cache, edge_cache::ConfigError> {
    let mut builder = Cache::builder()
        .default_ttl(config.cache_ttl)
        .unlisted(Unlisted::Never)
        // SPEC: JSON of at least 1 KiB is gzipped when asked, cached or not.
        .compress_uncached(true);
    for op in operations::cached() {
        let Caching::Shared { invalidates } = op.caching else {
            continue;
        };
        let mut route = edge_cache::Route::new(op.path)
            .share_authorized()
            .announce_status(config.cache_status_header);
        if let Some(path) = invalidates {
            route = route.invalidates(path);
        }
        builder = builder.route(route);
    }
    match config.redis_url.as_deref() {
        Some(url) => builder.redis(RedisTier::new(url)?).build(),
        None => builder.build(),
    }
}

/// Size, media-type, parameter, schema and attack checks, with findings going to `security_log`.
pub fn filter(
    config: &Config,
    security_log: SecurityLog,
) -> Result<Filter, edge_filter::ConfigError> {
    Filter::builder()
        .max_body(usize::try_from(config.max_body).unwrap_or(usize::MAX))
        .body_timeout(Some(config.body_timeout))
        .mode(config.filter_mode.mode())
        .security_log(security_log)
        .routes(validation_routes()?)
        .build()
}

/// CORS for `--cors-origins` (actix-cors): preflights answered with the methods
/// and request headers the API reads, and the response headers a browser app
/// needs exposed (ETag, request id, rate-limit state). Requests from other
/// origins are served without CORS headers, so browsers keep their answers
/// from the calling page.
pub fn cors(config: &Config) -> actix_cors::Cors {
    use actix_web::http::header;
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("traceparent"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::AGE,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("x-cache"),
            header::HeaderName::from_static("ratelimit"),
            header::HeaderName::from_static("ratelimit-policy"),
            header::HeaderName::from_static("x-ratelimit-limit"),
            header::HeaderName::from_static("x-ratelimit-remaining"),
            header::HeaderName::from_static("x-ratelimit-reset"),
        ])
        .max_age(600);
    if config.cors_origins.iter().any(|origin| origin == "*") {
        return cors.allow_any_origin();
    }
    for origin in &config.cors_origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
