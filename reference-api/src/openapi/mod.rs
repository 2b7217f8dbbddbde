//! The OpenAPI 3.1 document of `GET /openapi.json`.
//!
//! Handlers state what they answer on success (utoipa reads their annotations
//! and types). Everything else comes from what the server enforces, so the two
//! cannot drift: each operation's id, security and problems from the operation
//! table ([`crate::operations`]), its parameters and body schema from the input
//! filter's own rules (the schemas byte for byte), the headers of every answer
//! from the middleware in front of it, and links between operations so that
//! tools can follow real flows (create, then read, replace, delete).

mod links;
mod problems;

use edge_filter::routes::{Param, Route, Routes};
use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::db::audit::AuditEntry;
use crate::db::resources::Resource;
use crate::operations::{self, Access, Caching, OPERATIONS, Operation};
use crate::problem::{Code, FieldError, Problem};
use crate::routes::{admin, auth, health, metrics, openapi, resources};

/// What utoipa generates from the handlers: paths with their success answers,
/// and the schemas of the bodies the API sends.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Edge reference API", description = "A CRUD backend behind the Edge middleware crates. \
        Every error is application/problem+json (RFC 9457) with a machine-readable `code` and the \
        request id."),
    paths(
        health::livez, health::readyz, health::healthz, metrics::metrics, openapi::openapi_json,
        auth::register, auth::login, auth::refresh, auth::logout, auth::me,
        resources::create, resources::list, resources::get, resources::replace, resources::delete,
        resources::audit_trail, admin::get, admin::replace,
    ),
    components(schemas(
        Problem, Code, FieldError, health::Health, health::Liveness,
        auth::Account, auth::Me, auth::TokenPair,
        resources::Page, resources::AuditPage, Resource, AuditEntry, admin::SettingsDocument,
    )),
    tags(
        (name = "health", description = "Liveness and dependencies"),
        (name = "meta", description = "This description"),
        (name = "auth", description = "Accounts and tokens"),
        (name = "resources", description = "The CRUD resource"),
        (name = "admin", description = "Live settings, for admins"),
    )
)]
pub struct ApiDoc;

/// Why the document could not be made: a mistake in the code, found at start.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The input filter's rules are invalid.
    #[error("invalid validation rules: {0}")]
    Filter(#[from] edge_filter::ConfigError),
    /// utoipa's part could not be read as JSON.
    #[error("the generated document is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An operation of the table has no handler annotation.
    #[error("{method} {path} is in the operation table but no handler describes it")]
    Undescribed {
        /// The operation's method.
        method: String,
        /// Its path.
        path: &'static str,
    },
}

/// The document, as served.
pub fn document() -> Result<Value, DocumentError> {
    let mut document = serde_json::to_value(ApiDoc::openapi())?;
    let rules = operations::validation_routes()?;
    for op in OPERATIONS {
        let method = op.method.as_str().to_ascii_lowercase();
        let Some(operation) = document
            .get_mut("paths")
            .and_then(|paths| paths.get_mut(op.path))
            .and_then(|path| path.get_mut(&method))
        else {
            return Err(DocumentError::Undescribed {
                method: op.method.to_string(),
                path: op.path,
            });
        };
        describe(operation, op, rule_of(&rules, op));
    }
    let components = &mut document["components"];
    components["headers"] = problems::headers();
    components["securitySchemes"] = json!({
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "An access token from `POST /api/auth/login` or `/api/auth/refresh`"}
    });
    Ok(document)
}

/// The input filter's rules for an operation, if it has any.
pub fn rule_of<'a>(rules: &'a Routes, op: &Operation) -> Option<&'a Route> {
    rules
        .iter()
        .find(|route| route.method() == op.method.as_str() && route.pattern() == op.path)
}

/// Complete one operation object from the table and the filter's rules.
fn describe(operation: &mut Value, op: &Operation, rule: Option<&Route>) {
    operation["operationId"] = Value::from(op.id);
    let mut parameters: Vec<Value> = rule
        .map(|route| route.params().iter().map(Param::openapi).collect())
        .unwrap_or_default();
    parameters.extend(request_headers(op));
    if parameters.is_empty() {
        remove(operation, "parameters");
    } else {
        operation["parameters"] = Value::Array(parameters);
    }
    match rule.and_then(Route::json_schema) {
        Some(schema) => {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema}}
            });
        }
        None => remove(operation, "requestBody"),
    }
    match op.access {
        Access::Bearer => operation["security"] = json!([{"bearer": []}]),
        Access::Public => remove(operation, "security"),
    }
    let Some(responses) = operation["responses"].as_object_mut() else {
        return;
    };
    if op.caching != Caching::None {
        responses.insert(
            "304".to_owned(),
            json!({"description": "Not modified: `If-None-Match` names the current version's tag"}),
        );
    }
    for (status, response) in responses.iter_mut() {
        // Indexing a missing `headers` makes it an object.
        let headers = &mut response["headers"];
        if op.caching != Caching::None && (status == "200" || status == "304") {
            headers["ETag"] = problems::header_ref("ETag");
            headers["X-Cache"] = problems::header_ref("X-Cache");
            headers["Age"] = problems::header_ref("Age");
        }
        problems::add_common_headers(headers, op);
    }
    for (status, codes) in problems::of(op) {
        responses
            .entry(status.to_string())
            .or_insert_with(|| problems::response(status, &codes, op));
    }
    for (status, links) in links::of(op.id) {
        if let Some(response) = responses.get_mut(status) {
            response["links"] = links;
        }
    }
}

/// The conditional request headers an operation reads.
fn request_headers(op: &Operation) -> Vec<Value> {
    let mut headers = Vec::new();
    if op.caching != Caching::None {
        headers.push(
            json!({"name": "If-None-Match", "in": "header", "required": false,
            "description": "Tags of versions the caller holds: the current one gets a 304",
            "schema": {"type": "string"}}),
        );
    }
    if op.answers.contains(&Code::PreconditionFailed) {
        headers.push(json!({"name": "If-Match", "in": "header", "required": false,
            "description": "Only change the resource while its current version has one of these tags \
                (or `*`); else 412",
            "schema": {"type": "string"}}));
    }
    headers
}

fn remove(operation: &mut Value, key: &str) {
    if let Some(map) = operation.as_object_mut() {
        map.remove(key);
    }
}

#[cfg(test)]
mod tests;
