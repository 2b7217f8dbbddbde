//! Every problem an operation can answer with, and the headers of every answer.
//!
//! The middleware in front of a handler decides most of them, so they follow
//! from the operation's row in the table: every request meets the input filter
//! (400, 403) and may fail unexpectedly (500); all but the probes meet the
//! per-IP limit (429, and 503 when its shared store is down and the limit
//! fails closed); a body meets the filter's body checks (400, 408, 413, 415,
//! 422); a bearer operation meets authentication (401) and the per-user limits
//! (429). The handler's own answers are listed in the row.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::operations::{Access, Operation};
use crate::problem::{Code, PROBLEM_JSON};

/// The problems of one operation, by status, in status order.
pub(super) fn of(op: &Operation) -> BTreeMap<u16, Vec<Code>> {
    let mut codes = vec![Code::InvalidParameter, Code::RequestBlocked, Code::Internal];
    if !op.probe {
        codes.extend([Code::RateLimited, Code::ServiceUnavailable]);
    }
    if op.body.is_some() {
        codes.extend([
            Code::InvalidJson,
            Code::RequestTimeout,
            Code::PayloadTooLarge,
            Code::UnsupportedMediaType,
            Code::ValidationFailed,
        ]);
    }
    if op.access == Access::Bearer {
        codes.push(Code::Unauthorized);
    }
    codes.extend(op.answers);
    let mut by_status: BTreeMap<u16, Vec<Code>> = BTreeMap::new();
    for code in codes {
        let same = by_status.entry(code.status().as_u16()).or_default();
        if !same.contains(&code) {
            same.push(code);
        }
    }
    by_status
}

/// The response object of one status: what each of its codes means, the
/// shared `Problem` schema and the headers that come with it.
pub(super) fn response(status: u16, codes: &[Code], op: &Operation) -> Value {
    let description = codes
        .iter()
        .map(|code| format!("`{}`: {}", code.as_str(), meaning(*code)))
        .collect::<Vec<_>>()
        .join("; ");
    let mut response = json!({
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    });
    let headers = &mut response["headers"];
    match status {
        401 => headers["WWW-Authenticate"] = header_ref("WWW-Authenticate"),
        429 => headers["Retry-After"] = header_ref("Retry-After"),
        503 => headers["Retry-After"] = header_ref("Retry-After-Optional"),
        _ => {}
    }
    add_common_headers(headers, op);
    response
}

/// What a code means, as the document says it.
fn meaning(code: Code) -> &'static str {
    match code {
        Code::InvalidJson => "the body is not JSON (an empty body labelled JSON included)",
        Code::InvalidParameter => {
            "a path or query parameter, a header or the URL is malformed or out of range"
        }
        Code::Unauthorized => {
            "no valid credentials: a missing, expired or invalid access token, a wrong \
             username or password, or an unknown refresh token"
        }
        Code::Forbidden => "only the resource's owner or an admin may do this",
        Code::RequestBlocked => "the input filter found an attack pattern in the request",
        Code::NotFound => "no such resource",
        Code::MethodNotAllowed => "the path does not take this method",
        Code::RequestTimeout => "the body did not arrive in time",
        Code::Conflict => "the username is taken",
        Code::PreconditionFailed => "`If-Match` names no tag of the current version",
        Code::PayloadTooLarge => "the body is larger than the server takes",
        Code::UnsupportedMediaType => "the body is not `application/json`",
        Code::ValidationFailed => "the body does not meet the schema (every violation in `errors`)",
        Code::RateLimited => "too many requests: retry after `Retry-After` seconds",
        Code::Internal => "an unexpected failure",
        Code::ServiceUnavailable => {
            "a dependency (the database, Redis, a password-hashing slot) is unavailable; retry"
        }
    }
}

/// The headers every answer of `op` carries: the request id, and the rate
/// limit's state unless it is a probe (no limit applies to probes).
pub(super) fn add_common_headers(headers: &mut Value, op: &Operation) {
    headers["X-Request-Id"] = header_ref("X-Request-Id");
    if !op.probe {
        for name in RATE_LIMIT_HEADERS {
            headers[name] = header_ref(name);
        }
    }
}

const RATE_LIMIT_HEADERS: [&str; 5] = [
    "RateLimit",
    "RateLimit-Policy",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
];

/// A reference to one of [`headers`].
pub(super) fn header_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/headers/{name}")})
}

/// The document's `components.headers`.
pub(super) fn headers() -> Value {
    let text = json!({"type": "string"});
    let seconds = json!({"type": "integer", "minimum": 0});
    json!({
        "X-Request-Id": {"required": true, "schema": text,
            "description": "The request's id: the caller's `X-Request-Id` when well-formed, else a new \
                UUID. Also in the access log, the security log and problem bodies."},
        "RateLimit": {"schema": text,
            "description": "The limit that is closest to refusing: remaining requests and seconds to \
                reset (IETF draft-ietf-httpapi-ratelimit-headers)"},
        "RateLimit-Policy": {"schema": text,
            "description": "The policies that apply: quota and window in seconds (same draft)"},
        "X-RateLimit-Limit": {"schema": seconds, "description": "The quota of the closest limit"},
        "X-RateLimit-Remaining": {"schema": seconds, "description": "Requests left in its window"},
        "X-RateLimit-Reset": {"schema": seconds, "description": "Seconds until its window resets"},
        "Retry-After": {"required": true, "schema": seconds,
            "description": "Seconds to wait before retrying"},
        "Retry-After-Optional": {"schema": seconds,
            "description": "Seconds to wait before retrying, when known"},
        "WWW-Authenticate": {"schema": text,
            "description": "`Bearer` with the RFC 6750 error, when the access token is missing or not valid"},
        "ETag": {"required": true, "schema": text,
            "description": "The tag of this version of the representation (`If-None-Match`, `If-Match`)"},
        "X-Cache": {"schema": text,
            "description": "`HIT` when the response cache answered, else `MISS` or `BYPASS`; sent only when the \
                server runs with `CACHE_STATUS_HEADER`"},
        "Age": {"schema": seconds,
            "description": "Seconds the cached answer has been kept; with `X-Cache`"},
    })
}
