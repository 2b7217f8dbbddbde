//! Splitting and decoding a compact JWS (RFC 7515 §7.1).
//!
//! The header and payload are decoded once here with serde; josekit handles keys,
//! key sets, asymmetric signatures and issuing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{AuthError, AuthErrorKind};

/// The JOSE header members we act on.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    #[serde(default)]
    pub(crate) kid: Option<String>,
    /// Extensions we must understand (RFC 7515 §4.1.11); we understand none.
    #[serde(default)]
    pub(crate) crit: Option<Value>,
}

/// A token split into its parts, the header and signature decoded.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    pub(crate) header: Header,
    /// `BASE64URL(header) '.' BASE64URL(payload)`: what the signature covers.
    pub(crate) signing_input: &'a str,
    pub(crate) payload_b64: &'a str,
    pub(crate) signature: Vec<u8>,
}

pub(crate) fn parse(token: &str, max_len: usize) -> Result<Parsed<'_>, AuthError> {
    if token.len() > max_len {
        return Err(AuthError::malformed("the token is too long"));
    }
    let mut segments = token.splitn(4, '.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(AuthError::malformed(
            "a token has three dot-separated segments",
        ));
    };
    let header_bytes = decode(header_b64)?;
    let header: Header = serde_json::from_slice(&header_bytes)
        .map_err(|_| AuthError::malformed("the token header is not a JSON object with `alg`"))?;
    if header.crit.is_some() {
        return Err(AuthError::malformed("the token has critical extensions"));
    }
    let signature = decode(signature_b64)?;
    if signature.is_empty() {
        return Err(AuthError::new(
            AuthErrorKind::BadSignature,
            "the token is not signed",
        ));
    }
    Ok(Parsed {
        header,
        signing_input: &token[..header_b64.len() + 1 + payload_b64.len()],
        payload_b64,
        signature,
    })
}

/// Decode the (already verified) payload into its claims.
pub(crate) fn claims(payload_b64: &str) -> Result<Map<String, Value>, AuthError> {
    let bytes = decode(payload_b64)?;
    serde_json::from_slice(&bytes)
        .map_err(|_| AuthError::malformed("the token payload is not a JSON object"))
}

fn decode(segment: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::malformed("a token segment is not base64url"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn splits_a_well_formed_token() {
        let token = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"HS256","kid":"k1"}"#),
            b64("{}"),
            b64("sig")
        );
        let parsed = parse(&token, 8192).unwrap();
        assert_eq!(parsed.header.alg, "HS256");
        assert_eq!(parsed.header.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.signature, b"sig");
        assert!(
            token.starts_with(parsed.signing_input) && parsed.signing_input.ends_with(&b64("{}"))
        );
    }

    #[test]
    fn rejects_malformed_tokens() {
        let header = b64(r#"{"alg":"HS256"}"#);
        let cases = [
            String::new(),
            "a.b".to_owned(),
            format!("{header}.{}.c2ln.extra", b64("{}")),
            format!("{header}.{}.", b64("{}")),
            format!("not base64!.{}.c2ln", b64("{}")),
            format!("{}.{}.c2ln", b64("[1,2]"), b64("{}")),
            format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"HS256","crit":["exp"]}"#),
                b64("{}")
            ),
            "x".repeat(9000),
        ];
        for case in cases {
            assert!(parse(&case, 8192).is_err(), "{case:.60}");
        }
    }
}
