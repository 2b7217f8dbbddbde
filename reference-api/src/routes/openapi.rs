//! `GET /openapi.json`: the OpenAPI 3 description ([`crate::openapi`]).

use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// Serve the OpenAPI description (rendered once at start-up).
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "This OpenAPI 3.1 document")))]
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi.clone())
}
