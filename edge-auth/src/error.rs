//! Typed errors: [`ConfigError`] for building, [`AuthError`] for rejections.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;

/// An invalid validator or issuer setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No algorithm was allowed.
    #[error("at least one algorithm must be allowed")]
    NoAlgorithms,
    /// An HMAC algorithm was allowed but no secret was given (or the reverse).
    #[error("algorithm {0} is allowed but no key for it was given")]
    MissingKey(&'static str),
    /// HMAC secrets must be at least as long as the hash output.
    #[error("HMAC secrets must be at least {min} bytes (got {got})")]
    WeakSecret {
        /// The minimum length.
        min: usize,
        /// The given length.
        got: usize,
    },
    /// The issuer was empty.
    #[error("an issuer is required")]
    MissingIssuer,
    /// A key or key set could not be loaded.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A public route is not a route template (edge-core's syntax).
    #[error(transparent)]
    InvalidRoute(#[from] edge_core::TemplateError),
}

/// Why a request was not authenticated or not authorized.
///
/// It knows its HTTP status (401, or 403 for [`AuthErrorKind::Forbidden`]), its
/// RFC 6750 error code, and a description safe to show the client.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthError {
    kind: AuthErrorKind,
    description: Cow<'static, str>,
}

/// The kinds of [`AuthError`]. New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No `Authorization: Bearer` credentials were sent.
    Missing,
    /// The `Authorization` header is not a well-formed bearer credential.
    MalformedHeader,
    /// The token is not a well-formed compact JWS, is too long, or uses an
    /// algorithm (or `none`) that is not allowed.
    Malformed,
    /// The signature does not verify with any configured key.
    BadSignature,
    /// The token has expired, or has no `exp`.
    Expired,
    /// The token's `nbf` is in the future.
    NotYetValid,
    /// A required claim (`sub`, `exp`, `nbf`) is missing or not well-formed.
    InvalidClaims,
    /// The token's issuer (`iss`) is not the accepted one.
    WrongIssuer,
    /// The token is not meant for this audience (`aud`).
    WrongAudience,
    /// The token names a key (`kid`) the validator does not have.
    UnknownKey,
    /// The token was valid but has been revoked, or a refresh token was reused.
    Revoked,
    /// Authenticated, but not allowed (role or ownership): 403.
    Forbidden,
}

impl AuthErrorKind {
    /// The kind as a short snake_case name (`bad_signature`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthErrorKind::Missing => "missing",
            AuthErrorKind::MalformedHeader => "malformed_header",
            AuthErrorKind::Malformed => "malformed",
            AuthErrorKind::BadSignature => "bad_signature",
            AuthErrorKind::Expired => "expired",
            AuthErrorKind::NotYetValid => "not_yet_valid",
            AuthErrorKind::InvalidClaims => "invalid_claims",
            AuthErrorKind::WrongIssuer => "wrong_issuer",
            AuthErrorKind::WrongAudience => "wrong_audience",
            AuthErrorKind::UnknownKey => "unknown_key",
            AuthErrorKind::Revoked => "revoked",
            AuthErrorKind::Forbidden => "forbidden",
        }
    }
}

impl AuthError {
    /// An error of `kind` with a client-safe `description`.
    pub fn new(kind: AuthErrorKind, description: impl Into<Cow<'static, str>>) -> Self {
        AuthError {
            kind,
            description: description.into(),
        }
    }

    pub(crate) fn missing() -> Self {
        AuthError::new(AuthErrorKind::Missing, "an access token is required")
    }

    pub(crate) fn malformed(description: &'static str) -> Self {
        AuthError::new(AuthErrorKind::Malformed, description)
    }

    /// A 403 for an authenticated caller who may not do this.
    pub fn forbidden(description: impl Into<Cow<'static, str>>) -> Self {
        AuthError::new(AuthErrorKind::Forbidden, description)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The kind as a short snake_case name (`bad_signature`): the `reason`
    /// label of [`metrics::REJECTIONS_TOTAL`](crate::metrics::REJECTIONS_TOTAL).
    pub fn reason(&self) -> &'static str {
        self.kind.as_str()
    }

    /// A description safe to show the client.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// 401, or 403 for [`AuthErrorKind::Forbidden`].
    pub fn status(&self) -> StatusCode {
        match self.kind {
            AuthErrorKind::Forbidden => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 §3.1 error code; none when no credentials were sent.
    pub fn error_code(&self) -> Option<&'static str> {
        match self.kind {
            AuthErrorKind::Missing => None,
            AuthErrorKind::MalformedHeader => Some("invalid_request"),
            AuthErrorKind::Forbidden => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthError")
            .field("kind", &self.kind)
            .field("description", &self.description)
            .finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

impl std::error::Error for AuthError {}
