//! Accounts and tokens: register, login, refresh, logout, me.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use edge_auth::{Identity, RefreshError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::users::{self, User};
use crate::problem::{ApiError, Code};
use crate::state::AppState;

/// `{username, password}`, checked by the input filter (the operation table's
/// schemas): handlers receive it valid.
#[derive(Debug, Deserialize)]
pub struct CredentialsBody {
    /// 3-32 of `[A-Za-z0-9_.-]`, unique case-insensitively.
    pub username: String,
    /// 8-128 characters.
    pub password: String,
}

/// `{refresh_token}`.
#[derive(Debug, Deserialize)]
pub struct RefreshBody {
    /// The refresh token from login or the last refresh.
    pub refresh_token: String,
}

/// A registered account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Account {
    /// Its id.
    pub id: i64,
    /// The name as registered.
    pub username: String,
    /// `user` or `admin`.
    pub role: String,
    /// When it was registered.
    #[serde(serialize_with = "crate::db::rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
}

/// The caller's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// Its id.
    pub id: i64,
    /// The name as registered.
    pub username: String,
    /// `user` or `admin`.
    pub role: String,
}

/// An access token and the refresh token that renews it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// A short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// An opaque, single-use token for `POST /api/auth/refresh`.
    pub refresh_token: String,
}

/// Create an account.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth",
    responses((status = 201, description = "The account", body = Account)))]
pub async fn register(
    state: web::Data<AppState>,
    body: web::Json<CredentialsBody>,
) -> Result<HttpResponse, ApiError> {
    let credentials = body.into_inner();
    let hash = state.passwords.hash(credentials.password).await?;
    let conn = state.db.conn().await?;
    // Every account starts as a user: only an operator grants admin (`grant-admin`).
    let user = users::insert(&conn, &credentials.username, &hash, "user")
        .await
        .map_err(|e| match e.is_conflict() {
            true => ApiError::new(Code::Conflict, "that username is taken"),
            false => e.into(),
        })?;
    Ok(HttpResponse::Created().json(Account {
        id: user.id,
        username: user.username,
        role: user.role,
        created_at: user.created_at,
    }))
}

/// Exchange a username and password for a token pair.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    responses((status = 200, description = "A new token pair", body = TokenPair)))]
pub async fn login(
    state: web::Data<AppState>,
    body: web::Json<CredentialsBody>,
) -> Result<HttpResponse, ApiError> {
    let credentials = body.into_inner();
    let conn = state.db.conn().await?;
    let user = users::by_username(&conn, &credentials.username).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    // Unknown users are checked against a dummy hash: both failures cost and say the same.
    let matches = state.passwords.verify(credentials.password, stored).await?;
    let Some(user) = user.filter(|_| matches) else {
        return Err(ApiError::new(
            Code::Unauthorized,
            "invalid username or password",
        ));
    };
    Ok(no_store(HttpResponse::Ok()).json(issue_pair(&state, &user).await?))
}

/// Exchange a refresh token for a new pair; the presented token stops working.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    responses((status = 200, description = "A new token pair", body = TokenPair)))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let presented = body.into_inner().refresh_token;
    let (subject, next) = state
        .refresh
        .rotate(&presented)
        .await
        .map_err(refresh_error)?;
    let conn = state.db.conn().await?;
    let id = subject
        .parse()
        .map_err(|_| ApiError::new(Code::Unauthorized, "the refresh token is not valid"))?;
    let user = users::by_id(&conn, id)
        .await?
        .ok_or_else(|| ApiError::new(Code::Unauthorized, "the account no longer exists"))?;
    let access = state
        .issuer
        .issue(&user.id.to_string(), Some(&user.role))
        .map_err(internal)?;
    Ok(no_store(HttpResponse::Ok()).json(TokenPair {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: next.token,
    }))
}

/// Revoke the session (refresh-token family) of a refresh token.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 204, description = "The session is revoked")))]
pub async fn logout(
    state: web::Data<AppState>,
    caller: Identity,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let presented = body.into_inner().refresh_token;
    // Only the caller's own session: another account's refresh token is as
    // unknown here as a made-up one.
    let revoked = state
        .refresh
        .revoke(&presented, caller.subject())
        .await
        .map_err(refresh_error)?;
    if !revoked {
        return Err(ApiError::new(
            Code::Unauthorized,
            "the refresh token is not valid",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's account.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, description = "The caller's account", body = Me)))]
pub async fn me(state: web::Data<AppState>, caller: Identity) -> Result<HttpResponse, ApiError> {
    let id = caller_id(&caller)?;
    let conn = state.db.conn().await?;
    let user = users::by_id(&conn, id)
        .await?
        .ok_or_else(|| ApiError::new(Code::Unauthorized, "the account no longer exists"))?;
    Ok(HttpResponse::Ok().json(Me {
        id: user.id,
        username: user.username,
        role: user.role,
    }))
}

/// The caller's account id (the token's subject).
pub fn caller_id(caller: &Identity) -> Result<i64, ApiError> {
    caller
        .subject()
        .parse()
        .map_err(|_| ApiError::new(Code::Unauthorized, "the token's subject is not an account"))
}

/// Token responses must not be stored by any cache (RFC 6749 §5.1).
fn no_store(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((actix_web::http::header::PRAGMA, "no-cache"));
    response
}

async fn issue_pair(state: &AppState, user: &User) -> Result<TokenPair, ApiError> {
    let access = state
        .issuer
        .issue(&user.id.to_string(), Some(&user.role))
        .map_err(internal)?;
    let refresh = state
        .refresh
        .issue(&user.id.to_string())
        .await
        .map_err(refresh_error)?;
    Ok(TokenPair {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: refresh.token,
    })
}

fn refresh_error(error: RefreshError) -> ApiError {
    match error {
        RefreshError::Invalid => {
            ApiError::new(Code::Unauthorized, "the refresh token is not valid")
        }
        RefreshError::Reused => ApiError::new(
            Code::Unauthorized,
            "the refresh token was already used; every token of this session is revoked",
        ),
        RefreshError::Store(e) => match e.0.downcast::<edge_db::DbError>() {
            Ok(db) => ApiError::from(*db),
            Err(other) => internal(other),
        },
        other => internal(other),
    }
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %error, "token issuing failed");
    ApiError::new(Code::Internal, "an unexpected error occurred")
}
