//! One spelling per URL: every layer (rate-limit policies, filter routes, cache
//! keys, logs) and the router see the same canonical path and query.
//!
//! actix-web routes on a percent-decoded path while the middlewares read the raw
//! one, so `/api/auth/logi%6E` would reach the login handler without meeting the
//! login limit, and `/api/resources/%35` would be a cache entry that a write to
//! `/api/resources/5` never invalidates. This layer, outside every other edge
//! layer, decodes the percent-encodings of unreserved characters (RFC 3986
//! §6.2.2.2: `A-Z a-z 0-9 - . _ ~`), writes the remaining ones in upper case,
//! and refuses malformed escapes. An encoded `/` or `\` in the path has no single
//! meaning (one segment or two?): it is kept encoded, so the filter still
//! inspects (and logs) such a request, and since no route has one, the router's
//! fallback answers it 400 ([`has_encoded_separator`]). Numeric ids have one
//! spelling too: the filter's integer rules refuse `05` and `+5`.

use std::future::{Ready, ready};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Uri;
use futures_util::future::Either;

use crate::problem::{ApiError, Code};

/// Why a URL has no canonical form: a `%` not followed by two hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedEscape;

/// Whether a (canonical) path holds an encoded `/` or `\`, which no route has.
pub fn has_encoded_separator(path: &str) -> bool {
    path.contains("%2F") || path.contains("%5C")
}

/// The canonical form of `part` (a path, or a query when `is_query`), or `None`
/// when it already is canonical.
pub fn canonical(part: &str) -> Result<Option<String>, MalformedEscape> {
    if !part.contains('%') {
        return Ok(None);
    }
    let bytes = part.as_bytes();
    let mut out = String::with_capacity(part.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte != b'%' {
            out.push(char::from(byte));
            i += 1;
            continue;
        }
        let (Some(high), Some(low)) = (
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) else {
            return Err(MalformedEscape);
        };
        let decoded = high << 4 | low;
        if decoded.is_ascii_alphanumeric() || b"-._~".contains(&decoded) {
            out.push(char::from(decoded));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(decoded >> 4)]));
            out.push(char::from(HEX[usize::from(decoded & 0xf)]));
        }
        i += 3;
    }
    Ok((out != part).then_some(out))
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn hex(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The canonical request URI, `None` when the request's already is.
fn canonical_uri(uri: &Uri) -> Result<Option<Uri>, MalformedEscape> {
    let path = canonical(uri.path())?;
    let query = match uri.query() {
        Some(query) => canonical(query)?,
        None => None,
    };
    if path.is_none() && query.is_none() {
        return Ok(None);
    }
    let path = path.as_deref().unwrap_or(uri.path());
    let path_and_query = match query.as_deref().or(uri.query()) {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    Ok(Uri::from_parts(parts).ok())
}

/// The middleware factory: rewrites each request to its canonical URL, or
/// answers 400 `invalid_parameter`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CanonicalUrl;

impl<S, B> Transform<S, ServiceRequest> for CanonicalUrl
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Transform = CanonicalUrlMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CanonicalUrlMiddleware { service }))
    }
}

/// The middleware built by [`CanonicalUrl`].
#[derive(Debug)]
pub struct CanonicalUrlMiddleware<S> {
    service: S,
}

type Mapped<F, B> = futures_util::future::MapOk<
    F,
    fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B, BoxBody>>,
>;

impl<S, B> Service<ServiceRequest> for CanonicalUrlMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Future = Either<Mapped<S::Future, B>, Ready<Result<Self::Response, Self::Error>>>;

    forward_ready!(service);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        use futures_util::TryFutureExt;
        match canonical_uri(request.uri()) {
            Ok(None) => {}
            Ok(Some(uri)) => {
                request.match_info_mut().get_mut().update(&uri);
                request.head_mut().uri = uri;
            }
            Err(MalformedEscape) => {
                let error = ApiError::new(
                    Code::InvalidParameter,
                    "the URL has a malformed percent-encoding",
                );
                let response = request.error_response(error).map_into_right_body();
                return Either::Right(ready(Ok(response)));
            }
        }
        let left: fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B, BoxBody>> =
            ServiceResponse::map_into_left_body;
        Either::Left(self.service.call(request).map_ok(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_escapes_are_decoded_and_others_upper_cased() {
        assert_eq!(canonical("/api/auth/login"), Ok(None));
        assert_eq!(
            canonical("/api/auth/logi%6E"),
            Ok(Some("/api/auth/login".to_owned()))
        );
        assert_eq!(
            canonical("/api/resources/%35"),
            Ok(Some("/api/resources/5".to_owned()))
        );
        assert_eq!(canonical("/a%2d%5F%7e%2E"), Ok(Some("/a-_~.".to_owned())));
        assert_eq!(canonical("/a%3c"), Ok(Some("/a%3C".to_owned())));
        assert_eq!(canonical("/a%3C"), Ok(None));
        assert_eq!(
            canonical("limit=%32%30&q=a%2fb"),
            Ok(Some("limit=20&q=a%2Fb".to_owned()))
        );
    }

    #[test]
    fn ambiguous_urls_have_no_canonical_form() {
        for path in ["/api%2Fauth/login", "/a%2fb", "/a%5Cb", "/a%5cb"] {
            let canonical = canonical(path).unwrap().unwrap_or(path.to_owned());
            assert!(has_encoded_separator(&canonical), "{path}");
        }
        assert!(!has_encoded_separator("/api/auth/login"));
        for bad in ["/a%", "/a%4", "/a%zz", "/a%4g"] {
            assert_eq!(canonical(bad), Err(MalformedEscape), "{bad}");
        }
    }
}
