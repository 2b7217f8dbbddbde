//! Cache keys: method, path, the query with its pairs sorted, and the values of
//! the request headers the route varies on.

use http::{HeaderMap, HeaderName};
use smallvec::SmallVec;

/// The key of a GET (or HEAD) of `path?query`, varying on `vary`:
/// `GET <path>?<sorted pairs>` then one `\n<name>:<values>` line per header.
/// Paths, queries and header values cannot hold a newline, so keys of different
/// requests never collide.
pub(crate) fn cache_key(
    path: &str,
    query: Option<&str>,
    vary: &[HeaderName],
    headers: &HeaderMap,
) -> Box<[u8]> {
    let query = query.unwrap_or("");
    let mut key = Vec::with_capacity(5 + path.len() + query.len() + 24 * vary.len());
    key.extend_from_slice(b"GET ");
    key.extend_from_slice(path.as_bytes());
    if !query.is_empty() {
        key.push(b'?');
        let mut pairs: SmallVec<[&str; 8]> = query.split('&').filter(|p| !p.is_empty()).collect();
        pairs.sort_unstable();
        for (i, pair) in pairs.iter().enumerate() {
            if i > 0 {
                key.push(b'&');
            }
            key.extend_from_slice(pair.as_bytes());
        }
    }
    for name in vary {
        key.push(b'\n');
        key.extend_from_slice(name.as_str().as_bytes());
        key.push(b':');
        for (i, value) in headers.get_all(name).iter().enumerate() {
            if i > 0 {
                key.extend_from_slice(b", ");
            }
            key.extend_from_slice(value.as_bytes());
        }
    }
    key.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str, query: Option<&str>) -> Vec<u8> {
        cache_key(path, query, &[], &HeaderMap::new()).into_vec()
    }

    #[test]
    fn query_order_does_not_matter_but_values_do() {
        assert_eq!(key("/a", Some("b=2&a=1")), key("/a", Some("a=1&b=2")));
        assert_eq!(key("/a", Some("a=1&&b=2&")), key("/a", Some("b=2&a=1")));
        assert_ne!(key("/a", Some("a=1")), key("/a", Some("a=2")));
        assert_ne!(key("/a", None), key("/a", Some("a")));
        assert_eq!(key("/a", None), key("/a", Some("")));
    }

    #[test]
    fn vary_headers_separate_keys() {
        let lang = HeaderName::from_static("accept-language");
        let mut en = HeaderMap::new();
        en.insert(&lang, "en".parse().unwrap());
        let mut fr = HeaderMap::new();
        fr.insert(&lang, "fr".parse().unwrap());
        let vary = [lang];
        assert_ne!(
            cache_key("/a", None, &vary, &en),
            cache_key("/a", None, &vary, &fr)
        );
        assert_ne!(
            cache_key("/a", None, &vary, &en),
            cache_key("/a", None, &vary, &HeaderMap::new())
        );
        assert_eq!(
            cache_key("/a", None, &[], &en),
            cache_key("/a", None, &[], &fr)
        );
    }
}
