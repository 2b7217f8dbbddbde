//! RFC 9457 problem details: the one error shape of the API, and its code table.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The machine-readable error codes of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// 400: the body is not valid JSON.
    InvalidJson,
    /// 400: a path or query parameter is invalid.
    InvalidParameter,
    /// 401: no valid access token.
    Unauthorized,
    /// 403: authenticated but not allowed.
    Forbidden,
    /// 403: the input filter blocked the request.
    RequestBlocked,
    /// 404: no such resource or route.
    NotFound,
    /// 405: the route exists but not for this method.
    MethodNotAllowed,
    /// 408: the request body did not arrive in time.
    RequestTimeout,
    /// 409: the change conflicts with existing data.
    Conflict,
    /// 412: an `If-Match` precondition failed.
    PreconditionFailed,
    /// 413: the body is larger than allowed.
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 422: the body does not match the schema (see `errors`).
    ValidationFailed,
    /// 429: too many requests (see `Retry-After`).
    RateLimited,
    /// 500: an unexpected failure.
    Internal,
    /// 503: a dependency is unavailable.
    ServiceUnavailable,
}

impl Code {
    /// The HTTP status of this code.
    pub fn status(self) -> StatusCode {
        match self {
            Code::InvalidJson | Code::InvalidParameter => StatusCode::BAD_REQUEST,
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Forbidden | Code::RequestBlocked => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Code::Conflict => StatusCode::CONFLICT,
            Code::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Code::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code as it appears in the `code` member.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidJson => "invalid_json",
            Code::InvalidParameter => "invalid_parameter",
            Code::Unauthorized => "unauthorized",
            Code::Forbidden => "forbidden",
            Code::RequestBlocked => "request_blocked",
            Code::NotFound => "not_found",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::RequestTimeout => "request_timeout",
            Code::Conflict => "conflict",
            Code::PreconditionFailed => "precondition_failed",
            Code::PayloadTooLarge => "payload_too_large",
            Code::UnsupportedMediaType => "unsupported_media_type",
            Code::ValidationFailed => "validation_failed",
            Code::RateLimited => "rate_limited",
            Code::Internal => "internal",
            Code::ServiceUnavailable => "service_unavailable",
        }
    }

    /// The code for a bare error status (e.g. actix-web's own 404 and 405).
    pub fn for_status(status: StatusCode) -> Code {
        match status.as_u16() {
            400 => Code::InvalidParameter,
            401 => Code::Unauthorized,
            403 => Code::Forbidden,
            404 => Code::NotFound,
            405 => Code::MethodNotAllowed,
            408 => Code::RequestTimeout,
            409 => Code::Conflict,
            412 => Code::PreconditionFailed,
            413 => Code::PayloadTooLarge,
            415 => Code::UnsupportedMediaType,
            422 => Code::ValidationFailed,
            429 => Code::RateLimited,
            503 => Code::ServiceUnavailable,
            _ => Code::Internal,
        }
    }
}

/// One violation in a `validation_failed` problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer to the offending field (`/name`), or `/` for the whole body.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:edge:problem:{code}`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// The status's reason phrase (`Unprocessable Entity`), the same for every
    /// occurrence of a code.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// The machine-readable code.
    pub code: Code,
    /// The request id (also in the `X-Request-Id` header).
    pub request_id: String,
    /// Every violation, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// An error a handler returns: a code and a detail, rendered as [`Problem`] with
/// the request id by the [`crate::app`] error middleware.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {detail}")]
pub struct ApiError {
    /// The code (and so the status).
    pub code: Code,
    /// The occurrence's detail.
    pub detail: String,
    /// Field violations, for `validation_failed`.
    pub errors: Option<Vec<FieldError>>,
    /// Seconds for a `Retry-After` header (503s of a saturated resource).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `code` and `detail`.
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: detail.into(),
            errors: None,
            retry_after: None,
        }
    }

    /// The same error with a `Retry-After` of `seconds`.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// A `validation_failed` error listing every violation.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        ApiError {
            code: Code::ValidationFailed,
            detail: format!("{} field(s) failed validation", errors.len()),
            errors: Some(errors),
            retry_after: None,
        }
    }

    /// The problem for this error in the request `request_id`: rendered by
    /// edge-core like every crate's rejection, so the API's own errors and the
    /// crates' read alike (`type`, the status's reason as `title`, `status`,
    /// `detail`, `code`, `request_id`, and `errors` for 422).
    pub fn to_problem(&self, request_id: &str) -> edge_core::Problem {
        let status = http::StatusCode::from_u16(self.code.status().as_u16())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let problem = edge_core::Problem::new(status, self.code.as_str(), self.detail.clone())
            .member("request_id", request_id.into());
        match &self.errors {
            Some(errors) => {
                problem.member("errors", serde_json::to_value(errors).unwrap_or_default())
            }
            None => problem,
        }
    }
}

impl From<edge_db::DbError> for ApiError {
    fn from(err: edge_db::DbError) -> Self {
        use edge_db::ErrorKind;
        match err.kind() {
            ErrorKind::Unavailable => ApiError::new(
                Code::ServiceUnavailable,
                "the database is unavailable; retry shortly",
            ),
            ErrorKind::Timeout => ApiError::new(
                Code::ServiceUnavailable,
                "the database did not answer in time; retry shortly",
            )
            .retry_after(1),
            ErrorKind::Conflict => {
                ApiError::new(Code::Conflict, "the change conflicts with existing data")
            }
            ErrorKind::NotFound => ApiError::new(Code::NotFound, "no such resource"),
            ErrorKind::InvalidData | ErrorKind::Constraint => {
                ApiError::validation(vec![FieldError {
                    field: "/".to_owned(),
                    message:
                        "the database cannot store a value of this request (e.g. a NUL character)"
                            .to_owned(),
                }])
            }
            _ => {
                tracing::error!(error = %err, "database error");
                ApiError::new(Code::Internal, "an unexpected error occurred")
            }
        }
    }
}

impl From<edge_auth::AuthError> for ApiError {
    fn from(err: edge_auth::AuthError) -> Self {
        let code = match err.status().as_u16() {
            403 => Code::Forbidden,
            _ => Code::Unauthorized,
        };
        ApiError::new(code, err.description().to_owned())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    /// An empty response of the right status: the error middleware finds this
    /// error on it and renders the body once it knows the request id.
    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        response.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_spec_status_and_name() {
        let table = [
            (Code::InvalidJson, 400, "invalid_json"),
            (Code::InvalidParameter, 400, "invalid_parameter"),
            (Code::Unauthorized, 401, "unauthorized"),
            (Code::Forbidden, 403, "forbidden"),
            (Code::RequestBlocked, 403, "request_blocked"),
            (Code::NotFound, 404, "not_found"),
            (Code::MethodNotAllowed, 405, "method_not_allowed"),
            (Code::RequestTimeout, 408, "request_timeout"),
            (Code::Conflict, 409, "conflict"),
            (Code::PreconditionFailed, 412, "precondition_failed"),
            (Code::PayloadTooLarge, 413, "payload_too_large"),
            (Code::UnsupportedMediaType, 415, "unsupported_media_type"),
            (Code::ValidationFailed, 422, "validation_failed"),
            (Code::RateLimited, 429, "rate_limited"),
            (Code::Internal, 500, "internal"),
            (Code::ServiceUnavailable, 503, "service_unavailable"),
        ];
        for (code, status, name) in table {
            assert_eq!(code.status().as_u16(), status);
            assert_eq!(code.as_str(), name);
            assert_eq!(serde_json::to_value(code).unwrap(), name);
            if ![Code::InvalidJson, Code::RequestBlocked].contains(&code) {
                assert_eq!(Code::for_status(code.status()), code);
            }
        }
    }

    #[test]
    fn problems_serialize_with_every_member() {
        let problem = ApiError::validation(vec![FieldError {
            field: "/name".into(),
            message: "too long".into(),
        }])
        .to_problem("req-1");
        let json: serde_json::Value = serde_json::from_str(&problem.to_json()).unwrap();
        for member in [
            "type",
            "title",
            "status",
            "detail",
            "code",
            "request_id",
            "errors",
        ] {
            assert!(json.get(member).is_some(), "{member} missing");
        }
        assert_eq!(json["status"], 422);
        assert_eq!(json["errors"][0]["field"], "/name");
    }
}
