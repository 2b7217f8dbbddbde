//! Entity tags and the conditional request headers (RFC 9110 §8.8.3, §13.1):
//! `If-None-Match` with weak comparison, `If-Match` with strong comparison.

use http::header::{IF_MATCH, IF_NONE_MATCH};
use http::{HeaderMap, HeaderValue};

/// The strong entity tag of a representation: `"<length>-<xxh3-128>"` of its
/// bytes (the `etag` crate), quoted, ready for the `ETag` header.
///
/// Handlers that check `If-Match` compute the current tag with this over the
/// same bytes a GET returns, so both agree with the cache.
///
/// ```
/// let tag = edge_cache::etag_of(b"{\"id\":1}");
/// assert!(tag.to_str().unwrap().starts_with("\"8-"));
/// assert_eq!(tag, edge_cache::etag_of(b"{\"id\":1}"));
/// ```
pub fn etag_of(body: &[u8]) -> HeaderValue {
    let tag = etag::EntityTag::from_data(body);
    // The tag is ASCII digits and `-` inside quotes: always a valid header value.
    HeaderValue::from_str(&tag.to_string()).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// One member of an entity-tag list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member<'a> {
    Any,
    Tag { weak: bool, opaque: &'a [u8] },
}

/// Call `found` on each member of every line of a list header, until it returns
/// `true` (then `true`) or a member is malformed or the list ends (then `false`).
fn any_member<'a>(
    values: impl Iterator<Item = &'a HeaderValue>,
    mut found: impl FnMut(Member<'a>) -> bool,
) -> bool {
    for value in values {
        let mut rest = value.as_bytes();
        loop {
            while let [b' ' | b'\t' | b',', tail @ ..] = rest {
                rest = tail;
            }
            let member = match rest {
                [] => break,
                [b'*', tail @ ..] => {
                    rest = tail;
                    Member::Any
                }
                _ => {
                    let (weak, quoted) = match rest {
                        [b'W', b'/', tail @ ..] => (true, tail),
                        _ => (false, rest),
                    };
                    let Some(body) = quoted.strip_prefix(b"\"") else {
                        return false;
                    };
                    let Some(end) = body.iter().position(|&b| b == b'"') else {
                        return false;
                    };
                    rest = &body[end + 1..];
                    Member::Tag {
                        weak,
                        opaque: &body[..end],
                    }
                }
            };
            if found(member) {
                return true;
            }
        }
    }
    false
}

/// `(weak, opaque)` of one entity tag.
fn parse_tag(tag: &[u8]) -> Option<(bool, &[u8])> {
    let (weak, quoted) = match tag {
        [b'W', b'/', tail @ ..] => (true, tail),
        _ => (false, tag),
    };
    let opaque = quoted.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    (!opaque.contains(&b'"')).then_some((weak, opaque))
}

/// The opaque part of a stored tag (`"abc"` → `abc`).
pub(crate) fn opaque_tag(tag: &[u8]) -> Option<&[u8]> {
    parse_tag(tag).map(|(_, opaque)| opaque)
}

/// Whether the request's `If-None-Match` matches `current` (weak comparison;
/// `*` matches any current representation). `false` without the header.
pub fn if_none_match(headers: &HeaderMap, current: &HeaderValue) -> bool {
    let Some(opaque) = opaque_tag(current.as_bytes()) else {
        return false;
    };
    none_match_opaque(headers.get_all(IF_NONE_MATCH).iter(), opaque)
}

/// [`if_none_match`] over the header's values kept from the request, against a
/// current tag's opaque part.
pub(crate) fn none_match_opaque<'a>(
    values: impl Iterator<Item = &'a HeaderValue>,
    current: &[u8],
) -> bool {
    any_member(values, |member| match member {
        Member::Any => true,
        Member::Tag { opaque, .. } => opaque == current,
    })
}

/// Whether a write may proceed under the request's `If-Match` (RFC 9110 §13.1.1):
/// always without the header; with `*` when a current representation exists;
/// otherwise only when one listed tag is strongly equal to `current` (weak tags
/// never match). When this is `false`, answer 412 Precondition Failed and change
/// nothing.
///
/// ```
/// use http::HeaderMap;
/// let current = edge_cache::etag_of(b"v2");
/// let mut headers = HeaderMap::new();
/// assert!(edge_cache::if_match(&headers, Some(&current)));
/// headers.insert("if-match", edge_cache::etag_of(b"v1"));
/// assert!(!edge_cache::if_match(&headers, Some(&current)));
/// headers.insert("if-match", current.clone());
/// assert!(edge_cache::if_match(&headers, Some(&current)));
/// ```
pub fn if_match(headers: &HeaderMap, current: Option<&HeaderValue>) -> bool {
    let mut values = headers.get_all(IF_MATCH).iter().peekable();
    if values.peek().is_none() {
        return true;
    }
    let current = current.and_then(|c| parse_tag(c.as_bytes()));
    any_member(values, |member| match (member, current) {
        (Member::Any, Some(_)) => true,
        (
            Member::Tag {
                weak: false,
                opaque,
            },
            Some((false, current)),
        ) => opaque == current,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &http::header::HeaderName, values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(name, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn if_none_match_uses_weak_comparison_over_lists() {
        let current = HeaderValue::from_static("\"abc\"");
        for matching in [
            vec!["\"abc\""],
            vec!["W/\"abc\""],
            vec!["\"x\", \"abc\""],
            vec!["\"x\"", "\"abc\""],
            vec!["*"],
            vec!["\"x\",W/\"abc\""],
        ] {
            assert!(
                if_none_match(&with(&IF_NONE_MATCH, &matching), &current),
                "{matching:?}"
            );
        }
        for other in [vec!["\"abd\""], vec!["abc"], vec!["\"ab"], vec![""]] {
            assert!(
                !if_none_match(&with(&IF_NONE_MATCH, &other), &current),
                "{other:?}"
            );
        }
        assert!(!if_none_match(&HeaderMap::new(), &current));
    }

    #[test]
    fn if_match_uses_strong_comparison() {
        let current = HeaderValue::from_static("\"abc\"");
        assert!(if_match(&HeaderMap::new(), Some(&current)));
        assert!(if_match(&HeaderMap::new(), None));
        assert!(if_match(&with(&IF_MATCH, &["\"abc\""]), Some(&current)));
        assert!(if_match(
            &with(&IF_MATCH, &["\"x\", \"abc\""]),
            Some(&current)
        ));
        assert!(if_match(&with(&IF_MATCH, &["*"]), Some(&current)));
        assert!(!if_match(&with(&IF_MATCH, &["*"]), None));
        assert!(!if_match(&with(&IF_MATCH, &["W/\"abc\""]), Some(&current)));
        assert!(!if_match(&with(&IF_MATCH, &["\"abd\""]), Some(&current)));
        assert!(!if_match(&with(&IF_MATCH, &["\"abc\""]), None));
        assert!(!if_match(&with(&IF_MATCH, &["garbage"]), Some(&current)));
    }

    #[test]
    fn etags_are_strong_content_hashes() {
        let a = etag_of(b"hello");
        assert_eq!(a, etag_of(b"hello"));
        assert_ne!(a, etag_of(b"hellp"));
        assert_eq!(parse_tag(a.as_bytes()).map(|(weak, _)| weak), Some(false));
    }
}
