//! Resources: create, list (keyset pages), get, replace, delete, audit trail.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use edge_auth::Identity;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::audit::{self, AuditEntry};
use crate::db::resources::{self, Resource};
use crate::problem::{ApiError, Code};
use crate::routes::auth::caller_id;
use crate::state::AppState;

/// The role that may change anyone's resources.
const ADMIN: &str = "admin";

/// A resource body (create and full replacement), checked by the input filter
/// (the operation table's schema) but for the size of `data`.
#[derive(Debug, Deserialize)]
pub struct ResourceBody {
    /// 1-200 characters.
    pub name: String,
    /// Up to 10 000 characters.
    pub description: Option<String>,
    /// Up to 20 unique tags of 1-32 characters.
    pub tags: Option<Vec<String>>,
    /// A JSON object of up to 64 KiB.
    pub data: Option<Value>,
}

/// The most bytes of items one page holds (list and audit pages): a page ends
/// early, with a `next_cursor`, rather than grow past it (a page always holds at
/// least one item).
pub const PAGE_BYTES: usize = 1 << 20;

/// Query parameters of the list and of the audit trail.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    /// Items per page, 1-100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of resources, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page {
    /// The resources.
    pub items: Vec<Resource>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One page of a resource's audit trail, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `{"items": [...], "next_cursor": ...}` of at most `limit` of `rows` (fetched
/// with one extra) and at most [`PAGE_BYTES`] of items, serialized once.
fn page_body<T: Serialize>(
    rows: &[T],
    limit: i64,
    id_of: impl Fn(&T) -> i64,
) -> Result<Vec<u8>, ApiError> {
    let limit = usize::try_from(limit).unwrap_or(20);
    let mut body = br#"{"items":["#.to_vec();
    let mut last_id = None;
    let mut more = false;
    for (index, row) in rows.iter().enumerate() {
        if index == limit {
            more = true;
            break;
        }
        let item = serde_json::to_vec(row).map_err(|_| internal())?;
        if index > 0 && body.len() + item.len() > PAGE_BYTES {
            more = true;
            break;
        }
        if index > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&item);
        last_id = Some(id_of(row));
    }
    body.extend_from_slice(br#"],"next_cursor":"#);
    match last_id.filter(|_| more) {
        Some(id) => {
            let cursor = serde_json::to_vec(&encode_cursor(id)).map_err(|_| internal())?;
            body.extend_from_slice(&cursor);
        }
        None => body.extend_from_slice(b"null"),
    }
    body.push(b'}');
    Ok(body)
}

/// The `limit` parameter (1-100, checked by the input filter), default 20.
fn page_limit(params: &ListParams) -> i64 {
    params.limit.unwrap_or(20)
}

/// The most bytes `data` may take, serialized.
const MAX_DATA_BYTES: usize = 64 * 1024;

impl ResourceBody {
    /// The fields to store, once `data` is within 64 KiB as JSON: the one rule
    /// of the body that a JSON Schema cannot state.
    fn into_fields(self) -> Result<resources::Fields, ApiError> {
        if let Some(data) = &self.data {
            let size = serde_json::to_vec(data).map_or(usize::MAX, |v| v.len());
            if size > MAX_DATA_BYTES {
                return Err(ApiError::validation(vec![crate::problem::FieldError {
                    field: "/data".to_owned(),
                    message: format!("must be at most {MAX_DATA_BYTES} bytes as JSON (got {size})"),
                }]));
            }
        }
        Ok(resources::Fields {
            name: self.name,
            description: self.description,
            tags: self.tags.unwrap_or_default(),
            data: self.data,
        })
    }
}

/// Create a resource owned by the caller.
#[utoipa::path(post, path = "/api/resources", tag = "resources",
    responses((status = 201, description = "The new resource", body = Resource,
        headers(("Location" = String, description = "The new resource's URL"), ("ETag" = String, description = "Its version's tag")))))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Identity,
    body: web::Json<ResourceBody>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.into_inner().into_fields()?;
    let owner = caller_id(&caller)?;
    let created = state
        .db
        .transaction(|tx| {
            let fields = fields.clone();
            Box::pin(async move { resources::create(tx, owner, &fields).await })
        })
        .await?;
    let location = format!("/api/resources/{}", created.id);
    let mut response = with_etag(StatusCode::CREATED, &created)?;
    response.headers_mut().insert(
        header::LOCATION,
        header::HeaderValue::from_str(&location).map_err(|_| internal())?,
    );
    Ok(response)
}

/// List resources, newest first, a page at a time (keyset pagination; a page
/// ends early rather than exceed 1 MiB).
#[utoipa::path(get, path = "/api/resources", tag = "resources",
    responses((status = 200, description = "One page", body = Page)))]
pub async fn list(
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page_limit(&params);
    let before = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let shared = state.db.shared().await?;
    let rows = resources::page(&shared, before, limit).await?;
    json_with_etag(StatusCode::OK, page_body(&rows, limit, |r| r.id)?)
}

/// One resource.
#[utoipa::path(get, path = "/api/resources/{id}", tag = "resources",
    responses((status = 200, description = "The resource", body = Resource)))]
pub async fn get(state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let shared = state.db.shared().await?;
    let resource = resources::get(&shared, id).await?.ok_or_else(not_found)?;
    with_etag(StatusCode::OK, &resource)
}

/// Replace a resource (owner or admin); its version increments. With
/// `If-Match`, only while the resource still has one of the listed ETags (else 412).
#[utoipa::path(put, path = "/api/resources/{id}", tag = "resources",
    responses((status = 200, description = "The new version", body = Resource,
        headers(("ETag" = String, description = "The new version's tag")))))]
pub async fn replace(
    state: web::Data<AppState>,
    request: HttpRequest,
    caller: Identity,
    id: web::Path<i64>,
    body: web::Json<ResourceBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let fields = body.into_inner().into_fields()?;
    let actor = caller_id(&caller)?;
    let if_match = if_match_of(&request);
    let replaced = state
        .db
        .transaction(|tx| {
            let (fields, caller, if_match) = (fields.clone(), caller.clone(), if_match.clone());
            Box::pin(async move {
                let current = resources::lock(tx, id).await?.ok_or_else(not_found)?;
                caller.require_owner_or(&current.owner_id.to_string(), ADMIN)?;
                check_if_match(&if_match, &current)?;
                Ok::<_, ApiError>(resources::replace(tx, actor, &current, &fields).await?)
            })
        })
        .await?;
    with_etag(StatusCode::OK, &replaced)
}

/// Delete a resource (owner or admin). With `If-Match`, only while the resource
/// still has one of the listed ETags (else 412).
#[utoipa::path(delete, path = "/api/resources/{id}", tag = "resources",
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    state: web::Data<AppState>,
    request: HttpRequest,
    caller: Identity,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let actor = caller_id(&caller)?;
    let if_match = if_match_of(&request);
    state
        .db
        .transaction(|tx| {
            let (caller, if_match) = (caller.clone(), if_match.clone());
            Box::pin(async move {
                let current = resources::lock(tx, id).await?.ok_or_else(not_found)?;
                caller.require_owner_or(&current.owner_id.to_string(), ADMIN)?;
                check_if_match(&if_match, &current)?;
                Ok::<_, ApiError>(resources::delete(tx, actor, &current).await?)
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The audit trail of a resource, oldest first, a page at a time like the list
/// (owner or admin; kept after deletion, on purpose: it is an audit log).
#[utoipa::path(get, path = "/api/resources/{id}/audit", tag = "resources",
    responses((status = 200, description = "One page of the trail (also after the resource was deleted)", body = AuditPage)))]
pub async fn audit_trail(
    state: web::Data<AppState>,
    caller: Identity,
    id: web::Path<i64>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let limit = page_limit(&params);
    let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let conn = state.db.conn().await?;
    // The owner is in the first snapshot, so the trail stays readable after a delete.
    let owner = audit::owner_of(&conn, id).await?.ok_or_else(not_found)?;
    caller.require_owner_or(&owner.to_string(), ADMIN)?;
    let rows = audit::page(&conn, id, after, limit).await?;
    let body = page_body(&rows, limit, |e| e.id)?;
    Ok(HttpResponse::Ok()
        .content_type(header::ContentType::json())
        .body(body))
}

fn not_found() -> ApiError {
    ApiError::new(Code::NotFound, "no resource has this id")
}

fn internal() -> ApiError {
    ApiError::new(Code::Internal, "the response could not be produced")
}

/// JSON with its `ETag` (the cache keeps a backend's tag, so a tag reads the
/// same whether the cache served the response or stood aside).
fn with_etag(status: StatusCode, value: &impl Serialize) -> Result<HttpResponse, ApiError> {
    json_with_etag(status, serde_json::to_vec(value).map_err(|_| internal())?)
}

/// A serialized JSON body with its `ETag`.
fn json_with_etag(status: StatusCode, body: Vec<u8>) -> Result<HttpResponse, ApiError> {
    let etag = edge_cache::etag_of(&body);
    let etag = header::HeaderValue::from_bytes(etag.as_bytes()).map_err(|_| internal())?;
    Ok(HttpResponse::build(status)
        .content_type(header::ContentType::json())
        .insert_header((header::ETAG, etag))
        .body(body))
}

/// The request's `If-Match` lines, in the `http` 1 types edge-cache reads.
pub(crate) fn if_match_of(request: &HttpRequest) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for value in request.headers().get_all(header::IF_MATCH) {
        if let Ok(value) = http::HeaderValue::from_bytes(value.as_bytes()) {
            headers.append(http::header::IF_MATCH, value);
        }
    }
    headers
}

/// 412 unless `If-Match` (when sent) names the current version's ETag (or `*`).
fn check_if_match(if_match: &http::HeaderMap, current: &Resource) -> Result<(), ApiError> {
    // Without the header there is nothing to compare: skip serializing the row.
    if if_match.is_empty() {
        return Ok(());
    }
    let body = serde_json::to_vec(current).map_err(|_| internal())?;
    if edge_cache::if_match(if_match, Some(&edge_cache::etag_of(&body))) {
        return Ok(());
    }
    Err(ApiError::new(
        Code::PreconditionFailed,
        format!(
            "the resource changed since that ETag was read (now version {}); GET it again",
            current.version
        ),
    ))
}

fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("v1:")?.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::new(
                Code::InvalidParameter,
                "`cursor` is not a cursor this API issued",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_end_at_the_limit_or_the_byte_budget_with_a_cursor() {
        let page = |rows: Vec<(i64, usize)>, limit| {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .map(|(id, size)| serde_json::json!({"id": id, "pad": "x".repeat(*size)}))
                .collect();
            let body = page_body(&items, limit, |v| v["id"].as_i64().unwrap()).unwrap();
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()
        };
        let small = page(vec![(3, 1), (2, 1), (1, 1)], 2);
        assert_eq!(small["items"].as_array().unwrap().len(), 2);
        assert_eq!(
            decode_cursor(small["next_cursor"].as_str().unwrap()).unwrap(),
            2
        );
        let last = page(vec![(3, 1), (2, 1)], 2);
        assert!(last["next_cursor"].is_null());
        // 400 KiB items: two fit in 1 MiB, the third starts the next page.
        let big = page(vec![(5, 400 << 10), (4, 400 << 10), (3, 400 << 10)], 100);
        assert_eq!(big["items"].as_array().unwrap().len(), 2);
        assert_eq!(
            decode_cursor(big["next_cursor"].as_str().unwrap()).unwrap(),
            4
        );
        // One item larger than the budget still makes a page.
        let huge = page(vec![(9, 2 << 20), (8, 1)], 100);
        assert_eq!(huge["items"].as_array().unwrap().len(), 1);
        assert!(huge["next_cursor"].is_string());
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        assert_eq!(decode_cursor(&encode_cursor(12345)).unwrap(), 12345);
        for bad in ["", "!!", "djE6", "djE6LTE", &URL_SAFE_NO_PAD.encode("v2:5")] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
