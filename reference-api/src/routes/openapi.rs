//! `GET /openapi.json`: the OpenAPI 3 description, generated from the code.

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::db::audit::AuditEntry;
use crate::db::resources::Resource;
use crate::problem::{Code, FieldError, Problem};
use crate::routes::{auth, health, resources};
use crate::state::AppState;

/// The API's OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Edge reference API", description = "A CRUD backend behind the Edge middleware crates. \
        Every error is application/problem+json (RFC 9457)."),
    paths(
        health::livez, health::readyz, health::healthz, openapi_json,
        auth::register, auth::login, auth::refresh, auth::logout, auth::me,
        resources::create, resources::list, resources::get, resources::replace, resources::delete,
        resources::audit_trail,
    ),
    components(schemas(
        Problem, Code, FieldError, health::Health, health::Liveness,
        auth::CredentialsBody, auth::RefreshBody, auth::Account, auth::Me, auth::TokenPair,
        resources::ResourceBody, resources::Page, resources::AuditPage, Resource, AuditEntry,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and dependencies"),
        (name = "meta", description = "This description"),
        (name = "auth", description = "Accounts and tokens"),
        (name = "resources", description = "The CRUD resource"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme (JWT access tokens).
#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Serve the OpenAPI description (rendered once at start-up).
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "The OpenAPI 3 document")))]
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi.clone())
}
