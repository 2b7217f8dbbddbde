//! The application: routes and the middleware stack, in order, in one place.
//!
//! actix-web runs the **last** `.wrap()` first. From the outside in:
//!
//! 1. `AccessLogger` (edge-log): request id in and out (`X-Request-Id`), the
//!    client IP resolved once behind `--trusted-proxies` (edge-core's `ClientIp`
//!    and `RequestId` extensions, which the limits and the security log read),
//!    the request span every later layer records into, and one JSON access line
//!    on stdout per response — errors and 429s included.
//! 2. `QueryCounter` (edge-db): counts each request's database queries (0 for
//!    requests turned away before any handler).
//! 3. `errors`: every error response rendered as RFC 9457 problem+json with the
//!    request id.
//! 4. `CanonicalUrl`: one spelling per URL for every layer inside and the router
//!    (unreserved escapes decoded); see [`crate::canonical`].
//! 5. `RateLimit` (edge-ratelimit), per client IP, plus the stricter login and
//!    registration limits: before any other work, so floods are turned away cheaply.
//! 6. `RequestFilter` (edge-filter): body size (413 while streaming), media type
//!    (415), JSON syntax (400) and attack detection in path, query, headers and
//!    body (403), written to the security log (apart from the access log).
//! 7. On `/api`: `Auth` (edge-auth) validates the bearer token; only register,
//!    login and refresh are public there.
//! 8. On `/api`: `RateLimit` per user and per endpoint class (reads, writes),
//!    keyed by the authenticated subject (the client IP when anonymous).
//! 9. On `/api`: `ResponseCache` (edge-cache) answers GETs of resources and list
//!    pages from the cache (`ETag`, 304, gzip, `X-Cache`) and invalidates after
//!    writes; behind authentication, so only valid callers reach cached data.
//! 10. The routes.
//!
//! Every response carries the headers of the tightest policy of both limiters.
//!
//! The access line's fields come from what the layers leave in the request and
//! response extensions (see [`access_fields`]): reading them costs far less per
//! request than recording span fields through a subscriber.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use std::future::{Ready, ready};

use actix_web::dev::{
    Service, ServiceFactory, ServiceRequest, ServiceResponse, Transform, forward_ready,
};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{App, HttpMessage, web};
use edge_auth::actix::Auth;
use edge_auth::{AuthError, Identity, Validator};
use edge_cache::actix::ResponseCache;
use edge_cache::{Cache, RedisTier};
use edge_db::actix::QueryCounter;
use edge_filter::actix::RequestFilter;
use edge_filter::routes::{Param, Route, Routes};
use edge_filter::{Filter, Mode, Rejection, SecurityLog};
use edge_log::RequestId;
use edge_log::actix::AccessLogger;
use edge_ratelimit::actix::RateLimit;
use edge_ratelimit::{KeyKind, Policy, RateLimiter, RedisStore, Scope, Verdict};
use futures_util::TryFutureExt;
use futures_util::future::MapOk;
use http::Method;
use serde_json::json;

use crate::canonical::CanonicalUrl;
use crate::config::Config;
use crate::problem::{ApiError, Code, PROBLEM_JSON};
use crate::routes::{auth, health, openapi, resources};
use crate::state::AppState;

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
                .path_prefix("/api/auth/login")
                .fail_mode(config.rate_limit_login_fail_mode),
        )
        .policy(
            Policy::new("register", config.rate_limit_register, KeyKind::ClientIp)?
                .method("POST")
                .path_prefix("/api/auth/register")
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
    Ok(Filter::builder()
        .max_body(usize::try_from(config.max_body).unwrap_or(usize::MAX))
        .body_timeout(Some(config.body_timeout))
        .mode(mode)
        .security_log(security_log)
        .routes(validation_routes()?)
        .build())
}

fn filter_error(rejection: &Rejection) -> ApiError {
    let code = match rejection {
        Rejection::PayloadTooLarge { .. } => Code::PayloadTooLarge,
        Rejection::BodyTimeout { .. } => Code::RequestTimeout,
        Rejection::UnsupportedMediaType => Code::UnsupportedMediaType,
        Rejection::InvalidJson { .. } => Code::InvalidJson,
        // SPEC §4 has no 431: header-limit violations are bad parameters (400).
        Rejection::InvalidParameter(_) | Rejection::InvalidHeaders { .. } => Code::InvalidParameter,
        Rejection::ValidationFailed(errors) => {
            return ApiError::validation(
                errors
                    .iter()
                    .map(|e| crate::problem::FieldError {
                        field: e.field.clone(),
                        message: e.message.clone(),
                    })
                    .collect(),
            );
        }
        _ => Code::RequestBlocked,
    };
    ApiError::new(code, rejection.detail())
}

fn rate_limit_error(verdict: &Verdict) -> ApiError {
    match verdict {
        Verdict::Limited {
            state,
            retry_after_secs,
        } => ApiError::new(
            Code::RateLimited,
            format!(
                "the {} limit of {} requests is used up; retry in {retry_after_secs} s",
                state.policy, state.limit
            ),
        ),
        _ => ApiError::new(
            Code::ServiceUnavailable,
            "rate limiting is unavailable; retry shortly",
        ),
    }
}

/// Build the application for one worker.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let max_body = usize::try_from(state.config.max_body).unwrap_or(usize::MAX);
    let authenticate = Auth::new(state.validator.clone());
    let ip_limits = RateLimit::new(state.ip_limits.clone());
    let request_filter = RequestFilter::new(state.filter.clone());
    let user_limits = RateLimit::new(state.user_limits.clone())
        .subject_from(|ext| ext.get::<Identity>().map(Identity::subject));
    let cache = ResponseCache::new(state.cache.clone());
    let access_log = AccessLogger::new(state.access_log.clone()).fields_from(access_fields);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(
            web::JsonConfig::default()
                .limit(max_body)
                .error_handler(|err, _| json_error(&err).into()),
        )
        .app_data(
            web::PathConfig::default().error_handler(|err, _| {
                ApiError::new(Code::InvalidParameter, err.to_string()).into()
            }),
        )
        .app_data(
            web::QueryConfig::default().error_handler(|err, _| {
                ApiError::new(Code::InvalidParameter, err.to_string()).into()
            }),
        )
        .wrap(request_filter)
        .wrap(ip_limits)
        .wrap(CanonicalUrl)
        .wrap(Problems)
        .wrap(QueryCounter::new())
        .wrap(access_log)
        .default_service(web::to(no_route))
        // Resources (not bare routes) so that a known path with another method is 405.
        .service(web::resource("/healthz").get(health::healthz))
        .service(web::resource("/openapi.json").get(openapi::openapi_json))
        .service(
            web::scope("/api")
                .wrap(cache)
                .wrap(user_limits)
                .wrap(authenticate)
                .service(web::resource("/auth/register").post(auth::register))
                .service(web::resource("/auth/login").post(auth::login))
                .service(web::resource("/auth/refresh").post(auth::refresh))
                .service(web::resource("/auth/logout").post(auth::logout))
                .service(web::resource("/auth/me").get(auth::me))
                .service(
                    web::resource("/resources")
                        .post(resources::create)
                        .get(resources::list),
                )
                .service(
                    web::resource("/resources/{id}")
                        .get(resources::get)
                        .put(resources::replace)
                        .delete(resources::delete),
                )
                .service(web::resource("/resources/{id}/audit").get(resources::audit_trail)),
        )
}

/// No route matched: 404, or 400 for a path with an encoded `/` or `\\` (no
/// route has one, and it has no single meaning).
async fn no_route(request: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    if crate::canonical::has_encoded_separator(request.path()) {
        return Err(ApiError::new(
            Code::InvalidParameter,
            "the path has an encoded `/` or `\\`, which has no single meaning",
        ));
    }
    Err(ApiError::new(Code::NotFound, "no route matches this path"))
}

fn json_error(err: &actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError;
    match err {
        JsonPayloadError::ContentType => ApiError::new(
            Code::UnsupportedMediaType,
            "the body must be application/json",
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            Code::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::validation(vec![crate::problem::FieldError {
                field: "/".to_owned(),
                message: e.to_string(),
            }])
        }
        other => ApiError::new(Code::InvalidJson, other.to_string()),
    }
}

/// Every error response becomes problem+json carrying the request id (which
/// the access logger, outside, put in the request and echoes on the response).
/// A plain service wrapper rather than `from_fn`, whose boxed inner service and
/// future cost an allocation and an indirect call per request.
#[derive(Debug, Clone, Copy)]
struct Problems;

impl<S, B> Transform<S, ServiceRequest> for Problems
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Transform = ProblemsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ProblemsMiddleware { service }))
    }
}

/// The middleware built by [`Problems`].
struct ProblemsMiddleware<S> {
    service: S,
}

type ToProblem<B> = fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B, BoxBody>>;

impl<S, B> Service<ServiceRequest> for ProblemsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    // Every layer inside answers with a response (errors included), so an `Err`
    // here is an actix-web internal failure; it is passed on as it is.
    type Future = MapOk<S::Future, ToProblem<B>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        self.service.call(request).map_ok(errors as ToProblem<B>)
    }
}

/// An error response rendered as a problem; other responses as they are.
fn errors<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> ServiceResponse<EitherBody<B, BoxBody>> {
    let response = response.map_into_left_body();
    if response.status().as_u16() < 400 {
        return response;
    }
    // The request id is looked up only for the responses that show it.
    let id = response
        .request()
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::generate);
    render_problem(response, id.as_str())
}

/// Render an error response's body as a problem: a handler's or extractor's
/// [`ApiError`], or a bare error status from actix-web itself (404, 405, ...).
/// JSON error bodies that are not errors of ours (the health report) pass as they are.
fn render_problem<B: MessageBody + 'static>(
    response: ServiceResponse<EitherBody<B, BoxBody>>,
    request_id: &str,
) -> ServiceResponse<EitherBody<B, BoxBody>> {
    let status = response.status();
    if status.as_u16() < 400 {
        return response;
    }
    let api_error = response
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .cloned()
        .or_else(|| {
            response
                .response()
                .extensions()
                .get::<AuthError>()
                .cloned()
                .map(ApiError::from)
        })
        .or_else(|| {
            response
                .response()
                .extensions()
                .get::<Verdict>()
                .map(rate_limit_error)
        })
        .or_else(|| {
            response
                .response()
                .extensions()
                .get::<Rejection>()
                .map(filter_error)
        });
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let error = match api_error {
        Some(error) => error,
        None if is_json => return response,
        None => {
            let code = Code::for_status(status);
            let detail = match code {
                Code::NotFound => "no route matches this path".to_owned(),
                Code::MethodNotAllowed => "this route does not accept this method".to_owned(),
                _ => status.canonical_reason().unwrap_or("error").to_owned(),
            };
            ApiError::new(code, detail)
        }
    };
    let body = serde_json::to_vec(&error.to_problem(request_id)).unwrap_or_default();
    response.map_body(|head, _| {
        head.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // The problem replaces the body, so no encoding of the old one applies.
        head.headers_mut().remove(header::CONTENT_ENCODING);
        EitherBody::right(BoxBody::new(body))
    })
}

/// The access line's fields, from the extensions each layer leaves: the
/// authenticated identity (edge-auth, request), the tightest rate-limit state
/// (edge-ratelimit), the cache status (edge-cache) and the query count (edge-db,
/// responses).
fn access_fields(
    request: &actix_web::HttpRequest,
    response: &actix_web::dev::Extensions,
    fields: &mut edge_log::SpanFields,
) {
    fields.user = request
        .extensions()
        .get::<Identity>()
        .map(|identity| identity.subject().to_owned());
    fields.ratelimit = response
        .get::<edge_ratelimit::RateLimitState>()
        .map(|state| edge_log::RateLimitField {
            policy: String::from(&*state.policy),
            limit: state.limit.into(),
            remaining: state.remaining.into(),
        });
    fields.cache = response
        .get::<edge_cache::CacheStatus>()
        .map(|status| status.as_lowercase().to_owned());
    fields.db_queries = response
        .get::<edge_db::QueryCount>()
        .map(|count| count.get());
}
