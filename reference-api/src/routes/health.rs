//! Health for orchestrators: `GET /livez` (the process answers; no dependency
//! is probed), `GET /readyz` (the dependencies, and 503 while draining at
//! shutdown) and `GET /healthz` (the dependencies, as before). Dependencies are
//! probed through edge-log's [`Health`](edge_log::Health), each within one
//! second. None of them is rate-limited.

use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

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
    let report = state.health.check().await;
    let status =
        StatusCode::from_u16(report.status_code()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(report.to_json())
}

/// `{"status":"ok"}` or, for `/readyz` while draining, `{"status":"draining"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// `ok`, or `draining` while the instance shuts down.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Whether the process answers at all (no dependency is probed, so a
/// database outage never gets the instance restarted).
#[utoipa::path(
    get,
    path = "/livez",
    tag = "health",
    responses((status = 200, description = "The process serves requests", body = Liveness))
)]
pub async fn livez() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Liveness { status: "ok" })
}

/// Whether the instance should get traffic: 503 while it drains at shutdown,
/// else the dependency report of `/healthz`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Every dependency answers", body = Health),
        (status = 503, description = "Draining at shutdown (`{\"status\":\"draining\"}`), or a dependency fails", body = Health),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.load(Ordering::Acquire) {
        return HttpResponse::ServiceUnavailable()
            .insert_header(("Cache-Control", "no-store"))
            .json(Liveness { status: "draining" });
    }
    healthz(state).await
}
