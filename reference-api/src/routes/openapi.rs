//! `GET /openapi.json`: the OpenAPI 3 description, generated from the code.

use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

use crate::problem::{Code, FieldError, Problem};
use crate::routes::health;
use crate::state::AppState;

/// The API's OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Edge reference API", description = "A CRUD backend behind the Edge middleware crates."),
    paths(health::healthz, openapi_json),
    components(schemas(Problem, Code, FieldError, health::Health)),
    tags((name = "health", description = "Liveness and dependencies"), (name = "meta", description = "This description"))
)]
pub struct ApiDoc;

/// Serve the OpenAPI description (rendered once at start-up).
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "The OpenAPI 3 document")))]
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi.clone())
}
