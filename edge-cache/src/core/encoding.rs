//! Content negotiation (`Accept-Encoding`) and gzip.

use std::io::Write;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::header::{ACCEPT_ENCODING, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue};

/// What the client accepts: parsed once per request from `Accept-Encoding`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepts {
    /// `gzip` (or `x-gzip`, or `*`) with a non-zero quality.
    pub gzip: bool,
}

impl Accepts {
    /// Parse every `Accept-Encoding` line (RFC 9110 §12.5.3): an explicit `gzip;q=0`
    /// refuses gzip even when `*` is accepted.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut gzip = None;
        let mut any = None;
        for value in headers.get_all(ACCEPT_ENCODING) {
            for item in value.as_bytes().split(|&b| b == b',') {
                let mut params = item.split(|&b| b == b';');
                let coding = params.next().unwrap_or_default().trim_ascii();
                let accepted = params
                    .filter_map(|p| p.trim_ascii().strip_prefix(b"q="))
                    .all(|q| {
                        std::str::from_utf8(q)
                            .ok()
                            .and_then(|q| q.trim().parse::<f32>().ok())
                            .is_some_and(|q| q > 0.0)
                    });
                if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip") {
                    gzip = Some(accepted);
                } else if coding == b"*" {
                    any = Some(accepted);
                }
            }
        }
        Accepts {
            gzip: gzip.or(any).unwrap_or(false),
        }
    }
}

/// The `Content-Encoding` value of gzip bodies.
pub(crate) const GZIP: HeaderValue = HeaderValue::from_static("gzip");

/// Whether a body of this type is worth compressing: text, JSON, XML, JavaScript,
/// SVG. Images, archives and other binary formats are left alone.
pub(crate) fn compressible(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("/json")
        || essence.ends_with("+json")
        || essence.ends_with("/xml")
        || essence.ends_with("+xml")
        || essence == "application/javascript"
}

/// gzip `body` at `level` (0-9); `None` when that does not make it smaller.
pub(crate) fn gzip(body: &[u8], level: u32) -> Option<Bytes> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(body.len() / 3 + 32),
        Compression::new(level),
    );
    encoder.write_all(body).ok()?;
    let compressed = encoder.finish().ok()?;
    (compressed.len() < body.len()).then(|| Bytes::from(compressed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(value: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, value.parse().unwrap());
        Accepts::from_headers(&headers).gzip
    }

    #[test]
    fn accept_encoding_is_negotiated() {
        assert!(accepts("gzip"));
        assert!(accepts("deflate, GZIP;q=0.5"));
        assert!(accepts("br, *"));
        assert!(accepts("x-gzip"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("*, gzip;q=0"));
        assert!(!accepts("br, identity"));
        assert!(!accepts("gzip;q=zero"));
        assert!(!Accepts::from_headers(&HeaderMap::new()).gzip);
    }

    #[test]
    fn only_text_like_types_are_compressed() {
        let with = |t: &str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, t.parse().unwrap());
            compressible(&h)
        };
        assert!(with("application/json"));
        assert!(with("application/problem+json; charset=utf-8"));
        assert!(with("text/html"));
        assert!(!with("image/png"));
        assert!(!with("application/octet-stream"));
        assert!(!compressible(&HeaderMap::new()));
    }

    #[test]
    fn gzip_is_used_only_when_smaller() {
        let text = "hello world ".repeat(200);
        let packed = gzip(text.as_bytes(), 6).unwrap();
        assert!(packed.len() < text.len());
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&packed[..]), &mut out)
            .unwrap();
        assert_eq!(out, text);
        assert!(gzip(b"x", 6).is_none());
    }
}
