//! `GET /healthz`: probes the database (and Redis when configured) through
//! edge-log's [`Health`](edge_log::Health), each within one second.

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
