//! `GET /healthz`: probes the database (and Redis when configured).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use utoipa::ToSchema;

use crate::state::AppState;

const REDIS_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The health report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when every dependency is, else `degraded`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `ok` or `unavailable`.
    pub database: &'static str,
    /// `ok`, `unavailable`, or `disabled` when no Redis is configured.
    pub redis: &'static str,
}

/// Report whether the API and its dependencies work.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "Every dependency answers", body = Health),
        (status = 503, description = "A dependency fails", body = Health),
    )
)]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let (database, redis) = tokio::join!(
        state.db.ping(),
        probe_redis(state.config.redis_url.as_deref())
    );
    let database = if database.is_ok() {
        "ok"
    } else {
        "unavailable"
    };
    let healthy = database == "ok" && redis != "unavailable";
    let report = Health {
        status: if healthy { "ok" } else { "degraded" },
        database,
        redis,
    };
    let mut response = if healthy {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response
        .insert_header(("Cache-Control", "no-store"))
        .json(report)
}

/// A `PING` over a plain connection, bounded by a timeout.
async fn probe_redis(url: Option<&str>) -> &'static str {
    let Some(url) = url else {
        return "disabled";
    };
    let address = url
        .trim_start_matches("redis://")
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let ping = async {
        let mut stream = tokio::net::TcpStream::connect(&address).await?;
        stream.write_all(b"PING\r\n").await?;
        let mut reply = [0u8; 5];
        stream.read_exact(&mut reply).await?;
        Ok::<_, std::io::Error>(&reply == b"+PONG")
    };
    match tokio::time::timeout(REDIS_PROBE_TIMEOUT, ping).await {
        Ok(Ok(true)) => "ok",
        _ => "unavailable",
    }
}
