//! Reading `Authorization: Bearer <token>` (RFC 6750 §2.1); the scheme is case-insensitive.

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::{AuthError, AuthErrorKind};

/// The bearer token of a request, or why there is none.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    bearer_token_from(headers.get_all(AUTHORIZATION).iter().map(|v| v.as_bytes()))
}

/// [`bearer_token`] over the raw values of the request's `Authorization` headers
/// (for frameworks on other `http` versions).
pub fn bearer_token_from<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<&'a str, AuthError> {
    let token = bearer_credentials(values)?;
    check_token68(token)?;
    Ok(token)
}

/// [`bearer_token_from`] without the token68 check of the credentials, for a
/// caller that makes it only for tokens it has not validated before: a valid
/// token (three base64url segments) always passes it, and the check is a
/// lookup per byte of a few-hundred-byte token.
pub(crate) fn bearer_credentials<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<&'a str, AuthError> {
    let mut values = values.into_iter();
    let Some(value) = values.next() else {
        return Err(AuthError::missing());
    };
    let malformed = |d: &'static str| AuthError::new(AuthErrorKind::MalformedHeader, d);
    if values.next().is_some() {
        return Err(malformed("more than one Authorization header"));
    }
    if !value.is_ascii() {
        return Err(malformed("the Authorization header is not ASCII"));
    }
    let value = std::str::from_utf8(value)
        .map_err(|_| malformed("the Authorization header is not ASCII"))?;
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme (Basic, ...) carries no bearer credentials.
        return Err(AuthError::missing());
    }
    let token = credentials.trim_start_matches(' ');
    if token.is_empty() {
        return Err(malformed("the Bearer credentials are empty"));
    }
    Ok(token)
}

/// The credentials must be a token68 (RFC 7235 §2.1).
pub(crate) fn check_token68(token: &str) -> Result<(), AuthError> {
    if token.bytes().any(|b| !is_token68(b)) {
        return Err(AuthError::new(
            AuthErrorKind::MalformedHeader,
            "the Bearer credentials are not a token68",
        ));
    }
    Ok(())
}

/// RFC 7235 token68: `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"` and trailing `=`.
fn is_token68(b: u8) -> bool {
    TOKEN68[usize::from(b)]
}

/// [`is_token68`] as a table: one lookup per byte of a few-hundred-byte token.
static TOKEN68: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=');
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn the_token68_table_is_the_grammar() {
        for b in 0..=u8::MAX {
            let grammar = b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
            assert_eq!(is_token68(b), grammar, "byte {b}");
        }
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn reads_bearer_tokens() {
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.def.ghi"])).unwrap(),
            "abc.def.ghi"
        );
        assert_eq!(bearer_token(&headers(&["bearer abc"])).unwrap(), "abc");
        assert_eq!(bearer_token(&headers(&["BEARER  abc"])).unwrap(), "abc");
    }

    #[test]
    fn classifies_what_is_not_a_bearer_token() {
        assert_eq!(
            bearer_token(&headers(&[])).unwrap_err().kind(),
            AuthErrorKind::Missing
        );
        assert_eq!(
            bearer_token(&headers(&["Basic dXNlcg=="]))
                .unwrap_err()
                .kind(),
            AuthErrorKind::Missing
        );
        for bad in [
            &["Bearer"][..],
            &["Bearer "],
            &["Bearer a b"],
            &["Bearer a", "Bearer b"],
            &["Bearer a\"b"],
        ] {
            assert_eq!(
                bearer_token(&headers(bad)).unwrap_err().kind(),
                AuthErrorKind::MalformedHeader,
                "{bad:?}"
            );
        }
    }
}
