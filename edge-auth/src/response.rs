//! An [`AuthError`] as an HTTP response: status, RFC 6750 challenge, problem+json
//! body (or the installed renderer's).
//! Used by both adapters.

use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response};

use crate::AuthError;

/// The `WWW-Authenticate` challenge for `error` (RFC 6750 §3).
pub fn www_authenticate(error: &AuthError, realm: &str) -> HeaderValue {
    let mut challenge = format!("Bearer realm=\"{}\"", quoted_safe(realm));
    if let Some(code) = error.error_code() {
        challenge.push_str(&format!(
            ", error=\"{code}\", error_description=\"{}\"",
            quoted_safe(error.description())
        ));
    }
    HeaderValue::from_str(&challenge).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// The rejection's body for `error` with the request's id: RFC 9457
/// problem+json, or what the renderer installed with
/// [`edge_core::set_renderer`] makes of the problem.
pub fn body(error: &AuthError, request_id: Option<&edge_core::RequestId>) -> edge_core::Rendered {
    let code = if error.status() == http::StatusCode::FORBIDDEN {
        "forbidden"
    } else {
        "unauthorized"
    };
    edge_core::Problem::new(error.status(), code, error.description())
        .request_id(request_id)
        .render()
}

/// The complete rejection response. The error is also put into the response's
/// extensions so outer layers can re-render it.
pub fn rejection<B: From<String>>(
    error: &AuthError,
    realm: &str,
    request_id: Option<&edge_core::RequestId>,
) -> Response<B> {
    let rendered = body(error, request_id);
    let content_type = rendered.content_type_value();
    let mut response = Response::new(B::from(rendered.body));
    *response.status_mut() = error.status();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type);
    if error.status() == http::StatusCode::UNAUTHORIZED {
        headers.insert(WWW_AUTHENTICATE, www_authenticate(error, realm));
    }
    response.extensions_mut().insert(error.clone());
    response
}

/// Characters allowed inside RFC 6750 quoted values: `%x20-21 / %x23-5B / %x5D-7E`.
fn quoted_safe(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(*c, ' '..='~') && *c != '"' && *c != '\\')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuthErrorKind;

    #[test]
    fn challenges_follow_rfc_6750() {
        let missing = www_authenticate(&AuthError::new(AuthErrorKind::Missing, "x"), "edge");
        assert_eq!(missing, "Bearer realm=\"edge\"");
        let expired = www_authenticate(
            &AuthError::new(AuthErrorKind::Expired, "the \"token\" expired"),
            "edge",
        );
        assert_eq!(
            expired,
            "Bearer realm=\"edge\", error=\"invalid_token\", error_description=\"the token expired\""
        );
        let id = edge_core::RequestId::from_header(Some(b"req-1"));
        let response: Response<String> = rejection(&AuthError::forbidden("no"), "edge", Some(&id));
        assert_eq!(response.status(), 403);
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        assert!(response.body().contains("\"code\":\"forbidden\""));
        assert!(response.body().contains("\"request_id\":\"req-1\""));
    }
}
