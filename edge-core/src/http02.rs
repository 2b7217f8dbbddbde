//! Shims between the `http` 1 types the cores speak and the `http` 0.2 types
//! actix-web 4 uses (feature `http02`): the one place the actix adapters
//! convert statuses and header lines.

use http02 as old;

/// An `http` 1 status as actix-web's.
pub fn status_to_http02(status: http::StatusCode) -> old::StatusCode {
    // Every `http` 1 status code is a valid `http` 0.2 one (both 100..=999).
    old::StatusCode::from_u16(status.as_u16()).unwrap_or(old::StatusCode::INTERNAL_SERVER_ERROR)
}

/// An actix-web status as `http` 1's.
pub fn status_from_http02(status: old::StatusCode) -> http::StatusCode {
    http::StatusCode::from_u16(status.as_u16()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
}

/// An `http` 1 header name as actix-web's (`None` cannot happen for a valid name).
pub fn name_to_http02(name: &http::HeaderName) -> Option<old::HeaderName> {
    old::HeaderName::from_bytes(name.as_str().as_bytes()).ok()
}

/// An `http` 1 header value as actix-web's.
pub fn value_to_http02(value: &http::HeaderValue) -> Option<old::HeaderValue> {
    old::HeaderValue::from_bytes(value.as_bytes()).ok()
}

/// An `http` 1 map's lines in actix-web's types, in order; a line that cannot
/// be converted (none can fail for valid `http` 1 lines) is skipped.
pub fn lines_to_http02(
    headers: &http::HeaderMap,
) -> impl Iterator<Item = (old::HeaderName, old::HeaderValue)> + '_ {
    headers
        .iter()
        .filter_map(|(name, value)| Some((name_to_http02(name)?, value_to_http02(value)?)))
}

/// A rejection's `Content-Type` as actix-web's header value
/// (`application/octet-stream` if a renderer named an invalid one).
pub fn content_type_to_http02(rendered: &crate::Rendered) -> old::HeaderValue {
    old::HeaderValue::from_str(rendered.content_type)
        .unwrap_or(old::HeaderValue::from_static("application/octet-stream"))
}

/// Header lines in actix-web's types (its `HeaderMap::iter`) as an `http` 1 map,
/// every line kept in order.
pub fn headers_from_http02<'a>(
    lines: impl Iterator<Item = (&'a old::HeaderName, &'a old::HeaderValue)>,
) -> http::HeaderMap {
    let lines = lines.filter_map(|(name, value)| {
        Some((
            http::HeaderName::from_bytes(name.as_str().as_bytes()).ok()?,
            http::HeaderValue::from_bytes(value.as_bytes()).ok()?,
        ))
    });
    let mut headers = http::HeaderMap::new();
    for (name, value) in lines {
        headers.append(name, value);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_lines_round_trip() {
        for code in [100, 200, 304, 412, 429, 503, 599] {
            let status = http::StatusCode::from_u16(code).unwrap();
            assert_eq!(status_from_http02(status_to_http02(status)), status);
        }
        let name = http::HeaderName::from_static("x-cache");
        let value = http::HeaderValue::from_static("HIT");
        let (old_name, old_value) = (
            name_to_http02(&name).unwrap(),
            value_to_http02(&value).unwrap(),
        );
        let lines = [
            (old_name.clone(), old_value),
            (old_name, old::HeaderValue::from_static("MISS")),
        ];
        let map = headers_from_http02(lines.iter().map(|(n, v)| (n, v)));
        let values: Vec<_> = map.get_all("x-cache").iter().collect();
        assert_eq!(values, ["HIT", "MISS"]);
    }
}
