//! The live settings, for admins: read them, change them (every instance
//! applies a change within a second; see [`crate::settings`]).

use std::collections::BTreeMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use edge_auth::Identity;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::settings::{self as stored, Stored};
use crate::db::users;
use crate::problem::{ApiError, Code};
use crate::routes::auth::caller_id;
use crate::settings;
use crate::state::AppState;

/// The role that may read and change the settings.
const ADMIN: &str = "admin";

/// The live settings (the document `PUT` takes a part of).
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsDocument {
    /// Incremented by every change; also the `ETag` (`"<version>"`).
    pub version: i64,
    /// Each rate-limit policy's quota (`ip`, `login`, `register`, `user`,
    /// `read`, `write`), such as `"600/1m"`.
    pub rate_limits: BTreeMap<String, String>,
    /// `block` or `detect` (findings logged, requests let through).
    pub filter_mode: String,
    /// Built-in input-filter rules switched off, by id.
    pub filter_rules_off: Vec<String>,
    /// The response cache's TTL, such as `"30s"` (`"0s"`: caching off).
    pub cache_ttl: String,
    /// Cached routes' own TTLs by template (`/api/resources/{id}`,
    /// `/api/resources`); the others use `cache_ttl`.
    pub cache_routes: BTreeMap<String, String>,
    /// The accounts with the admin role. A `PUT` with this list makes exactly
    /// those accounts admins (at least one); each account's new role applies
    /// from its next login or refresh.
    pub admins: Vec<String>,
}

/// The live settings.
#[utoipa::path(get, path = "/api/admin/settings", tag = "admin",
    responses((status = 200, description = "The settings in force", body = SettingsDocument,
        headers(("ETag" = String, description = "`\"<version>\"`: send it as If-Match to change them")))))]
pub async fn get(state: web::Data<AppState>, caller: Identity) -> Result<HttpResponse, ApiError> {
    caller.require_role(ADMIN)?;
    let conn = state.db.conn().await?;
    let current = stored::get(&conn).await?;
    let admins = users::admins(&conn).await?;
    respond(&current, &admins)
}

/// Change some of the live settings: only the keys sent (and, in
/// `rate_limits` and `cache_routes`, only the entries named) change; `admins`
/// names every account that is to be an admin. With `If-Match` (or a
/// `version` in the body), only while the settings are still that version
/// (else 412). Every error is listed at once (422) and nothing changes. Every
/// instance applies the change within a second; the change is audited.
#[utoipa::path(put, path = "/api/admin/settings", tag = "admin",
    responses((status = 200, description = "The new settings, in force", body = SettingsDocument,
        headers(("ETag" = String, description = "The new version's tag")))))]
pub async fn replace(
    state: web::Data<AppState>,
    request: HttpRequest,
    caller: Identity,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_role(ADMIN)?;
    let actor = caller_id(&caller)?;
    let mut changes = body.into_inner();
    let sent_version = changes
        .as_object_mut()
        .and_then(|fields| fields.remove("version"))
        .and_then(|v| v.as_i64());
    let if_match = crate::routes::resources::if_match_of(&request);
    let changed = settings::change(&state, Some(actor), changes, move |current| {
        check_version(current, &if_match, sent_version)
    })
    .await?;
    respond(&changed.stored, &changed.admins)
}

/// The settings (and the admins) as JSON with their version as `ETag`, never cached.
fn respond(current: &Stored, admins: &[String]) -> Result<HttpResponse, ApiError> {
    let mut body = settings::with_admins(&current.document, admins);
    if let Some(fields) = body.as_object_mut() {
        fields.insert("version".to_owned(), Value::from(current.version));
    }
    Ok(HttpResponse::build(StatusCode::OK)
        .insert_header((header::ETAG, etag(current.version)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// 412 unless the settings are still the version `If-Match` (and the body's
/// `version`, when sent) names.
fn check_version(
    current: &Stored,
    if_match: &http::HeaderMap,
    sent: Option<i64>,
) -> Result<(), ApiError> {
    let tag = http::HeaderValue::from_str(&etag(current.version)).ok();
    if edge_cache::if_match(if_match, tag.as_ref()) && sent.is_none_or(|v| v == current.version) {
        return Ok(());
    }
    Err(ApiError::new(
        Code::PreconditionFailed,
        format!(
            "the settings changed since that version was read (now version {}); GET them again",
            current.version
        ),
    ))
}
