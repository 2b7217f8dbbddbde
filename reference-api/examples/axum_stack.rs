//! All six edge crates on axum, composed the way the reference API composes
//! them on actix-web (see `reference-api/src/app/mod.rs`), outermost first:
//!
//! 1. CORS (`tower-http`'s `CorsLayer`), so a preflight never meets a limit or auth;
//! 2. the access log (edge-log): request id, trace context and client IP
//!    (resolved behind trusted proxies) for every layer inside, one JSON line
//!    per response with the user, the rate-limit state, the cache status and
//!    the query count read from the response extensions the layers leave;
//! 3. the query counter (edge-db);
//! 4. the per-IP limit (edge-ratelimit), probes exempt;
//! 5. the input filter (edge-filter) with its security log;
//! 6. authentication (edge-auth), `/livez` public;
//! 7. the per-user limit, keyed by the authenticated subject;
//! 8. the response cache (edge-cache) on `/items/{id}`;
//! 9. a small JSON handler reading PostgreSQL through edge-db.
//!
//! Run it with `DATABASE_URL=postgres://... JWT_SECRET=<32+ bytes> cargo run
//! -p reference-api --example axum_stack`; `tests/axum_stack.rs` runs it over HTTP.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use edge_auth::tower::AuthLayer;
use edge_auth::{Identity, Validator};
use edge_cache::tower::ResponseCacheLayer;
use edge_cache::{Cache, CacheStatus, Route};
use edge_db::tower::QueryCounterLayer;
use edge_db::{Db, QueryCount};
use edge_filter::tower::RequestFilterLayer;
use edge_filter::{Filter, SecurityLog};
use edge_log::tower::AccessLoggerLayer;
use edge_log::{AccessLog, RateLimitField, SpanFields, TrustedProxies};
use edge_ratelimit::tower::RateLimitingLayer;
use edge_ratelimit::{KeyKind, Policy, RateLimitState, RateLimiter};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// What the stack is built from.
#[derive(Debug)]
pub struct Settings {
    /// The PostgreSQL pool.
    pub db: Db,
    /// The HS256 secret tokens are signed with (at least 32 bytes).
    pub jwt_secret: Vec<u8>,
    /// The issuer (`iss`) tokens must carry.
    pub jwt_issuer: String,
    /// Where the access log writes.
    pub access_log: AccessLog,
    /// Where findings go.
    pub security_log: SecurityLog,
    /// Requests per minute per client IP, and per user.
    pub per_ip: u32,
    /// Requests per minute per authenticated user.
    pub per_user: u32,
    /// Browser origins allowed by CORS.
    pub cors_origins: Vec<http::HeaderValue>,
}

/// The proxies whose `X-Forwarded-For` names the client (loopback here).
pub fn trusted_proxies() -> TrustedProxies {
    TrustedProxies::new(["127.0.0.0/8".parse().expect("a network")])
}

/// The application: every layer of the onion around the handlers.
pub fn app(settings: Settings) -> Result<Router, Box<dyn std::error::Error>> {
    let quota = |per_minute: u32| format!("{per_minute}/1m").parse();
    let ip_limits = RateLimiter::builder()
        .policy(Policy::new(
            "ip",
            quota(settings.per_ip)?,
            KeyKind::ClientIp,
        )?)
        .proxies(trusted_proxies())
        .exempt("/livez")
        .build()?;
    let user_limits = RateLimiter::builder()
        .policy(Policy::new(
            "user",
            quota(settings.per_user)?,
            KeyKind::Subject,
        )?)
        .build()?;
    let validator = Validator::builder(settings.jwt_issuer)
        .hmac_secret(&settings.jwt_secret)
        .public_route(&http::Method::GET, "/livez")
        .build()?;
    let filter = Filter::builder()
        .security_log(settings.security_log)
        .build()?;
    let cache = Cache::builder()
        .route(Route::new("/items/{id}").share_authorized())
        .build()?;
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(settings.cors_origins))
        .allow_methods([http::Method::GET, http::Method::POST])
        .allow_headers([http::header::AUTHORIZATION, http::header::CONTENT_TYPE]);

    let handlers = Router::new()
        .route(
            "/livez",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/items/{id}", get(item))
        .with_state(settings.db);
    Ok(handlers.layer(
        ServiceBuilder::new()
            .layer(cors)
            .layer(AccessLoggerLayer::new(settings.access_log).fields_from(access_fields))
            .layer(QueryCounterLayer::new())
            .layer(RateLimitingLayer::new(ip_limits))
            .layer(RequestFilterLayer::new(filter))
            .layer(AuthLayer::new(validator))
            .layer(RateLimitingLayer::new(user_limits).subject::<Identity>())
            .layer(ResponseCacheLayer::new(cache)),
    ))
}

/// The access line's fields from the response extensions the layers leave:
/// the caller (edge-auth), the tightest rate-limit state (edge-ratelimit), the
/// cache status (edge-cache) and the query count (edge-db).
fn access_fields(response: &http::response::Parts, fields: &mut SpanFields) {
    let extensions = &response.extensions;
    fields.user = extensions
        .get::<Identity>()
        .map(|identity| identity.subject().to_owned());
    fields.ratelimit = extensions
        .get::<RateLimitState>()
        .map(|state| RateLimitField {
            policy: state.policy.to_string(),
            limit: state.limit.into(),
            remaining: state.remaining.into(),
        });
    fields.cache = extensions
        .get::<CacheStatus>()
        .map(|status| status.as_lowercase().to_owned());
    fields.db_queries = extensions.get::<QueryCount>().map(QueryCount::get);
}

/// `GET /items/{id}`: one row from PostgreSQL, as JSON.
async fn item(
    State(db): State<Db>,
    Path(id): Path<i64>,
) -> Result<axum::Json<serde_json::Value>, http::StatusCode> {
    let unavailable = |_| http::StatusCode::SERVICE_UNAVAILABLE;
    let conn = db.conn().await.map_err(unavailable)?;
    let (id, name): (i64, String) = conn
        .query_one("SELECT $1::bigint, 'item ' || $1::text", &[&id])
        .await
        .map_err(unavailable)?;
    Ok(axum::Json(serde_json::json!({"id": id, "name": name})))
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")?;
    let settings = Settings {
        db: Db::builder(url).build()?,
        jwt_secret: std::env::var("JWT_SECRET")?.into_bytes(),
        jwt_issuer: "edge".to_owned(),
        access_log: AccessLog::builder()
            .trusted_proxies(trusted_proxies())
            .build()?,
        security_log: SecurityLog::open("security.log", 100 << 20, 10_000)?,
        per_ip: 600,
        per_user: 300,
        cors_origins: vec![http::HeaderValue::from_static("http://localhost:3000")],
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    let make = app(settings)?.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, make).await?;
    Ok(())
}
