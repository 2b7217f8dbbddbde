//! Normalization: undo the encodings attackers hide payloads behind, so one set of
//! rules sees the payload as the application will.
//!
//! Steps, repeated until nothing changes (at most [`MAX_ROUNDS`]): percent-decoding
//! (`+` as space in query strings; overlong UTF-8 such as `%c0%af` decoded to the
//! ASCII it spells), `\uXXXX` / `\xHH` escapes, HTML entities. Then Unicode NFKC
//! (full-width `＜` becomes `<`), lower case, SQL comments to a space (keeping the
//! body of MySQL's executable `/*! ... */`), and runs of white space to one space.
//! Every step is linear in the input, so normalization is too.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// How many decoding rounds are applied at most (double and triple encoding).
pub(crate) const MAX_ROUNDS: usize = 4;

/// Normalize `input` for matching. `plus_is_space`: decode `+` as a space (query strings).
/// Text that is already normal (most keys and many values) is returned as it is.
pub fn normalize(input: &str, plus_is_space: bool) -> Cow<'_, str> {
    if already_normal(input, plus_is_space) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(normalize_owned(input, plus_is_space))
}

/// ASCII, lower case, nothing to decode, single inner spaces only, no comments.
fn already_normal(input: &str, plus_is_space: bool) -> bool {
    let bytes = input.as_bytes();
    if bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ') || input.contains("/*") {
        return false;
    }
    let mut previous_space = false;
    for &b in bytes {
        match b {
            b' ' if previous_space => return false,
            b' ' => {
                previous_space = true;
                continue;
            }
            b'A'..=b'Z' | b'%' | b'\\' | b'&' | 0x00..=0x1f | 0x7f..=0xff => return false,
            b'+' if plus_is_space => return false,
            _ => {}
        }
        previous_space = false;
    }
    true
}

fn normalize_owned(input: &str, plus_is_space: bool) -> String {
    let mut text: Cow<'_, str> = Cow::Borrowed(input);
    let encoded = |t: &str| t.contains(['%', '\\', '&']) || (plus_is_space && t.contains('+'));
    for _ in 0..MAX_ROUNDS {
        if !encoded(&text) {
            break;
        }
        let decoded = decode_html(&decode_escapes(&percent_decode(&text, plus_is_space)));
        if decoded == text.as_ref() {
            break;
        }
        text = Cow::Owned(decoded);
    }
    // NFKC leaves ASCII as it is: fold case while collapsing, in one pass.
    if text.is_ascii() && !text.contains("/*") {
        return collapse_whitespace(text.chars().map(|c| c.to_ascii_lowercase()));
    }
    let folded: String = text.nfkc().flat_map(char::to_lowercase).collect();
    collapse_whitespace(strip_sql_comments(&folded).chars())
}

/// Percent-decoding that never fails: invalid escapes stay as they are, invalid
/// UTF-8 is decoded leniently (overlong forms to their ASCII meaning).
fn percent_decode(input: &str, plus_is_space: bool) -> String {
    if !(input.contains('%') || plus_is_space && input.contains('+')) {
        return input.to_owned();
    }
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    lenient_utf8(&out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// UTF-8 decoding that maps overlong two- and three-byte encodings of ASCII
/// (`C0 AF` = `/`, `E0 80 AE` = `.`) to that ASCII, and other invalid bytes to U+FFFD.
fn lenient_utf8(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                let rest = &bytes[i..];
                match rest {
                    [b0 @ (0xC0 | 0xC1), b1, ..] if b1 & 0xC0 == 0x80 => {
                        out.push(char::from((b0 & 0x1F) << 6 | (b1 & 0x3F)));
                        i += 2;
                    }
                    [0xE0, b1, b2, ..] if *b1 < 0xA0 && b1 & 0xC0 == 0x80 && b2 & 0xC0 == 0x80 => {
                        let value = u32::from(b1 & 0x3F) << 6 | u32::from(b2 & 0x3F);
                        out.push(char::from_u32(value).unwrap_or('\u{FFFD}'));
                        i += 3;
                    }
                    _ => {
                        let valid = match std::str::from_utf8(rest) {
                            Ok(s) => s,
                            Err(e) => {
                                std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default()
                            }
                        };
                        if valid.is_empty() {
                            out.push('\u{FFFD}');
                            i += 1;
                        } else {
                            out.push_str(valid);
                            i += valid.len();
                        }
                    }
                }
            }
            out
        }
    }
}

/// `\uXXXX` and `\xHH` escapes (as JavaScript and JSON-in-strings carry them).
fn decode_escapes(input: &str) -> String {
    if !input.contains('\\') {
        return input.to_owned();
    }
    let mut out = String::with_capacity(input.len());
    let mut chars = input.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            let rest = &input[i + 1..];
            let (digits, skip) = match rest.as_bytes().first() {
                Some(b'u') => (rest.get(1..5), 5),
                Some(b'x') => (rest.get(1..3), 3),
                _ => (None, 0),
            };
            if let Some(ch) = digits
                .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|d| u32::from_str_radix(d, 16).ok())
                .and_then(char::from_u32)
            {
                out.push(ch);
                for _ in 0..skip {
                    chars.next();
                }
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn decode_html(input: &str) -> String {
    if !input.contains('&') {
        return input.to_owned();
    }
    html_escape::decode_html_entities(input).into_owned()
}

/// `/* ... */` becomes a space; `/*! ... */` keeps its body (MySQL runs it).
fn strip_sql_comments(input: &str) -> Cow<'_, str> {
    if !input.contains("/*") {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("*/");
        let body = &after[..end.unwrap_or(after.len())];
        match body.strip_prefix('!') {
            Some(executable) => {
                out.push(' ');
                out.push_str(executable.trim_start_matches(|c: char| c.is_ascii_digit()));
                out.push(' ');
            }
            None => out.push(' '),
        }
        rest = end.map_or("", |e| &after[e + 2..]);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Runs of white space become one space (none at the ends); line breaks stay,
/// even at the ends, since they separate shell commands.
fn collapse_whitespace(input: impl Iterator<Item = char>) -> String {
    let mut out = String::with_capacity(input.size_hint().0);
    let mut pending: Option<char> = None;
    for c in input {
        if c == '\n' || c == '\r' {
            pending = Some('\n');
        } else if c.is_whitespace() {
            pending = pending.or(Some(' '));
        } else {
            match pending.take() {
                Some(' ') if out.is_empty() => {}
                Some(space) => out.push(space),
                None => {}
            }
            out.push(c);
        }
    }
    if pending == Some('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoes_layered_encodings() {
        assert_eq!(normalize("%253Cscript%253E", false), "<script>");
        assert_eq!(
            normalize("&lt;img src=x onerror=alert(1)&gt;", false),
            "<img src=x onerror=alert(1)>"
        );
        assert_eq!(normalize("%26lt%3Bsvg%26gt%3B", false), "<svg>");
        assert_eq!(normalize("\\u003cscript\\u003e", false), "<script>");
        assert_eq!(normalize("\\x3cscript\\x3e", false), "<script>");
        assert_eq!(normalize("＜ＳＣＲＩＰＴ＞", false), "<script>");
        assert_eq!(normalize("..%c0%af..%c0%afetc", false), "../../etc");
        assert_eq!(normalize("%2e%2e%2f", false), "../");
        assert_eq!(normalize("1+union+select", true), "1 union select");
        assert_eq!(normalize("1+1", false), "1+1");
    }

    #[test]
    fn folds_comments_and_space() {
        assert_eq!(normalize("UNION/**/SELECT", false), "union select");
        assert_eq!(
            normalize("/*!50000UNION*/ /*!SELECT*/", false),
            "union select"
        );
        assert_eq!(normalize("a \t\t b\n\n c", false), "a b\nc");
    }

    #[test]
    fn the_borrowed_fast_path_agrees_with_full_normalization() {
        for text in [
            "name", "a b c", "x=1", "o'brien", "a  b", " a", "a ", "Name", "a\tb", "a/*b*/c",
            "50%", "a+b", "café", "a\nb", "1;id", "..", "<script>",
        ] {
            for plus in [false, true] {
                assert_eq!(
                    normalize(text, plus),
                    normalize_owned(text, plus),
                    "{text:?} plus={plus}"
                );
            }
        }
    }

    #[test]
    fn leaves_ordinary_text_alone_and_never_panics() {
        assert_eq!(normalize("O'Brien's café", false), "o'brien's café");
        assert_eq!(normalize("100% sure, 50%", false), "100% sure, 50%");
        for odd in [
            "%",
            "%%",
            "%4",
            "%zz",
            "\\u12",
            "\\",
            "&#xffffffff;",
            "/*",
            "%c0",
            "%e0%80",
            "&",
        ] {
            let _ = normalize(odd, true);
        }
    }
}
