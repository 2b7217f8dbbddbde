//! `GET /metrics`: every edge crate's measurements in Prometheus' text format,
//! for loopback and `--metrics-allow` clients only.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use edge_core::ClientIp;

use crate::problem::{ApiError, Code};
use crate::state::AppState;

/// The exposition format's media type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every edge crate's measurements (request counts and durations, rate-limit
/// decisions, filter findings, cache results, token checks, database pool),
/// in Prometheus' text exposition format. Only loopback clients and the
/// networks of `--metrics-allow` may read them (the client as resolved behind
/// the trusted proxies); never rate-limited.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text exposition format", body = String,
        content_type = "text/plain; version=0.0.4; charset=utf-8")))]
pub async fn metrics(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let client = request
        .extensions()
        .get::<ClientIp>()
        .map(|client| client.0)
        .or_else(|| request.peer_addr().map(|peer| peer.ip()));
    let allowed = client.is_some_and(|ip| {
        ip.is_loopback()
            || state
                .config
                .metrics_allow
                .iter()
                .any(|net| net.contains(&ip))
    });
    if !allowed {
        return Err(ApiError::new(
            Code::Forbidden,
            "the metrics are served to loopback and --metrics-allow clients only",
        ));
    }
    let Some(handle) = &state.metrics else {
        return Err(ApiError::new(
            Code::ServiceUnavailable,
            "no metrics recorder is installed in this process",
        ));
    };
    // The pool's gauges and the process's, current as of this scrape.
    state.db.stats();
    crate::metrics::process().collect();
    Ok(HttpResponse::Ok()
        .content_type(PROMETHEUS_TEXT)
        .insert_header(("Cache-Control", "no-store"))
        .body(handle.render()))
}
