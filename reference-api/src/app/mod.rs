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
//! 4. `Cors` (actix-cors, only with `--cors-origins`): preflights answered here,
//!    before the limits and authentication, so a preflight never gets 401 or
//!    429; CORS headers on every response to an allowed origin.
//! 5. `CanonicalUrl`: one spelling per URL for every layer inside and the router
//!    (unreserved escapes decoded); see [`crate::canonical`].
//! 6. `RateLimiting` (edge-ratelimit), per client IP, plus the stricter login and
//!    registration limits: before any other work, so floods are turned away cheaply.
//! 7. `RequestFilter` (edge-filter): body size (413 while streaming), media type
//!    (415), JSON syntax (400) and attack detection in path, query, headers and
//!    body (403), written to the security log (apart from the access log).
//! 8. On `/api`: `Auth` (edge-auth) validates the bearer token; only register,
//!    login and refresh are public there.
//! 9. On `/api`: `RateLimiting` per user and per endpoint class (reads, writes),
//!    keyed by the authenticated subject (the client IP when anonymous).
//! 10. On `/api`: `ResponseCache` (edge-cache) answers GETs of resources and list
//!     pages from the cache (`ETag`, 304, gzip, `X-Cache`) and invalidates after
//!     writes; behind authentication, so only valid callers reach cached data.
//! 11. The routes.
//!
//! Every response carries the headers of the tightest policy of both limiters.
//!
//! The access line's fields come from what the layers leave in the request and
//! response extensions (see [`access_fields`]): reading them costs far less per
//! request than recording span fields through a subscriber.
//!
//! The rooms: [`builders`] makes each crate's part from the configuration,
//! [`problems`] renders every error as problem+json, [`access`] fills the
//! access line; this module composes them into the onion above.

mod access;
pub mod builders;
mod problems;

use actix_web::App;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::web;
use edge_auth::Identity;
use edge_auth::actix::Auth;
use edge_cache::actix::ResponseCache;
use edge_db::actix::QueryCounter;
use edge_filter::actix::RequestFilter;
use edge_log::actix::AccessLogger;
use edge_ratelimit::actix::RateLimiting;

pub use crate::operations::validation_routes;
pub use builders::{cache, filter, limiters, validator};

use crate::canonical::CanonicalUrl;
use crate::operations;
use crate::problem::{ApiError, Code};
use crate::state::AppState;
use access::access_fields;
use problems::{Problems, json_error, no_route};

/// The onion, once, for both server types: `$inner` names the app inside the
/// CORS position and `$wrap` is what stands there (the app itself, or the app
/// wrapped in actix-cors). Two functions expand it, so the default server has
/// no CORS wrapper, future or body layer at all.
macro_rules! onion {
    ($state:ident, $inner:ident => $wrap:expr) => {{
        let state = $state;
        let max_body = usize::try_from(state.config.max_body).unwrap_or(usize::MAX);
        let authenticate = Auth::new(state.validator.clone());
        let ip_limits = RateLimiting::new(state.ip_limits.clone());
        let request_filter = RequestFilter::new(state.filter.clone());
        let user_limits = RateLimiting::new(state.user_limits.clone()).subject::<Identity>();
        let cache = ResponseCache::new(state.cache.clone());
        let access_log = AccessLogger::new(state.access_log.clone()).fields_from(access_fields);
        let $inner = App::new()
            .app_data(web::Data::new(state))
            .app_data(
                web::JsonConfig::default()
                    .limit(max_body)
                    .error_handler(|err, _| json_error(&err).into()),
            )
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                ApiError::new(Code::InvalidParameter, err.to_string()).into()
            }))
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                ApiError::new(Code::InvalidParameter, err.to_string()).into()
            }))
            .wrap(request_filter)
            .wrap(ip_limits)
            .wrap(CanonicalUrl);
        let mut app = $wrap
            .wrap(Problems)
            .wrap(QueryCounter::new())
            .wrap(access_log)
            .default_service(web::to(no_route));
        // Every operation from the table: those under `/api` behind authentication,
        // the per-user limits and the cache; `/healthz` and `/openapi.json` outside.
        let mut api = web::scope("/api")
            .wrap(cache)
            .wrap(user_limits)
            .wrap(authenticate);
        for (path, routes) in operations::resources(operations::api()) {
            let path = path.strip_prefix("/api").unwrap_or(path);
            api = api.service(
                routes
                    .into_iter()
                    .fold(web::resource(path), actix_web::Resource::route),
            );
        }
        // The API first: the router tries services in registration order, and
        // nearly every request is an `/api` one.
        app = app.service(api);
        let outside = operations::OPERATIONS
            .iter()
            .filter(|op| !op.path.starts_with("/api/"));
        for (path, routes) in operations::resources(outside) {
            app = app.service(
                routes
                    .into_iter()
                    .fold(web::resource(path), actix_web::Resource::route),
            );
        }
        app
    }};
}

/// Build the application for one worker, without CORS (the default, and what
/// the benches and in-process tests use).
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
    onion!(state, inner => inner)
}

/// Build the application for one worker with CORS for `--cors-origins`
/// ([`builders::cors`]; made per worker, actix-cors is not `Send`), before the
/// limits and authentication so a preflight never gets 401 or 429.
pub fn app_with_cors(
    state: AppState,
    cors: actix_cors::Cors,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    onion!(state, inner => inner.wrap(cors))
}
