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

/// How many times SQL comments are stripped at most (nested executable comments).
const COMMENT_PASSES: usize = 3;

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
    let folded: String = text
        .nfkc()
        .flat_map(char::to_lowercase)
        .map(fold_look_alike)
        .collect();
    // An executable comment can hold more (`/*!12345union/*!31337select*/`):
    // a few passes unwrap the nesting testers use, each pass linear.
    let mut stripped = strip_sql_comments(&folded);
    for _ in 1..COMMENT_PASSES {
        if !stripped.contains("/*") {
            break;
        }
        stripped = Cow::Owned(strip_sql_comments(&stripped).into_owned());
    }
    collapse_whitespace(stripped.chars())
}

/// Slashes and backslashes that NFKC leaves alone but that read as one:
/// division and fraction slashes, big solidus, set minus, reverse solidus operator.
fn fold_look_alike(c: char) -> char {
    match c {
        '\u{2215}' | '\u{2044}' | '\u{29F8}' => '/',
        '\u{2216}' | '\u{29F5}' | '\u{29F9}' => '\\',
        other => other,
    }
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
            b'%' if matches!(bytes.get(i + 1), Some(b'u' | b'U')) => {
                // IIS's `%uXXXX`: a UTF-16 code unit (fullwidth forms fold later, in NFKC).
                match percent_u(&bytes[i + 2..]) {
                    Some(c) => {
                        let mut buffer = [0; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
                        i += 6;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
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

/// The character of the four hex digits at the start of `digits` (`%u` escapes).
fn percent_u(digits: &[u8]) -> Option<char> {
    let digits = digits.get(..4)?;
    let value = digits
        .iter()
        .try_fold(0u32, |value, &d| Some(value << 4 | u32::from(hex(d)?)))?;
    char::from_u32(value)
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

/// HTML character references as a browser reads them: numeric ones with or
/// without the `;` and with any number of leading zeros (`&#0000060`), then
/// named ones.
fn decode_html(input: &str) -> String {
    if !input.contains('&') {
        return input.to_owned();
    }
    let numeric = decode_numeric_references(input);
    let named = html_escape::decode_html_entities(&numeric);
    decode_html5_references(&named).into_owned()
}

/// HTML5 named references that `html_escape` leaves alone and that spell
/// the characters a payload needs (`ja&Tab;vascript&colon;`).
const HTML5_REFERENCES: [(&str, &str); 14] = [
    ("&tab;", "\t"),
    ("&newline;", "\n"),
    ("&colon;", ":"),
    ("&lpar;", "("),
    ("&rpar;", ")"),
    ("&sol;", "/"),
    ("&bsol;", "\\"),
    ("&period;", "."),
    ("&comma;", ","),
    ("&semi;", ";"),
    ("&equals;", "="),
    ("&excl;", "!"),
    ("&grave;", "`"),
    ("&num;", "#"),
];

/// One pass: each `&` followed by one of [`HTML5_REFERENCES`] (in any case:
/// `&Tab;` and `&NewLine;` are the usual spellings) becomes its character.
fn decode_html5_references(input: &str) -> Cow<'_, str> {
    let reference_at = |at: usize| {
        HTML5_REFERENCES.iter().find(|(name, _)| {
            input
                .as_bytes()
                .get(at..at + name.len())
                .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name.as_bytes()))
        })
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    for (at, _) in input.match_indices('&') {
        if at < copied {
            continue;
        }
        if let Some((name, character)) = reference_at(at) {
            let text = out.get_or_insert_with(|| String::with_capacity(input.len()));
            text.push_str(&input[copied..at]);
            text.push_str(character);
            copied = at + name.len();
        }
    }
    match out {
        Some(mut text) => {
            text.push_str(&input[copied..]);
            Cow::Owned(text)
        }
        None => Cow::Borrowed(input),
    }
}

fn decode_numeric_references(input: &str) -> Cow<'_, str> {
    if !input.contains("&#") {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find("&#") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let (radix, digits_from) = match after.as_bytes().first() {
            Some(b'x' | b'X') => (16, 1),
            _ => (10, 0),
        };
        let digits = &after[digits_from..];
        let length = digits
            .bytes()
            .take_while(|b| char::from(*b).is_digit(radix))
            .count();
        // Leading zeros carry no value: a long run of them stays cheap to read.
        let significant = digits[..length].trim_start_matches('0');
        let value = match significant {
            "" if length > 0 => Some(0),
            s if s.len() <= 7 => u32::from_str_radix(s, radix).ok(),
            _ => None,
        };
        match value.and_then(char::from_u32).filter(|_| length > 0) {
            Some(c) => {
                out.push(if c == '\0' { '\u{FFFD}' } else { c });
                let mut consumed = digits_from + length;
                if after[consumed..].starts_with(';') {
                    consumed += 1;
                }
                rest = &after[consumed..];
            }
            None => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
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

/// The normalized `text` as a shell would read its words, when that differs:
/// quotes and backslashes inside words removed (`c'a't`, `w\\ho\\ami`, a
/// backslash-newline), empty expansions removed (`$@`, `$*`, `$9`, `` `` ``,
/// `$()`, Windows `^`), `$IFS`/`${IFS}` read as a space, `${VAR:0:1}` as `/`
/// and brace expansion `{cat,/etc/passwd}` as its words. Command-injection
/// rules are also matched against this view. Linear in the input.
pub(crate) fn shell_view(text: &str) -> Option<String> {
    if !text.contains(['\'', '"', '\\', '$', '^', '`', '{']) {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let skip = match bytes[i] {
            b'\'' | b'"' | b'^' => 1,
            b'\\' => {
                // A backslash escapes the next character (and a newline vanishes).
                match rest[1..].chars().next() {
                    Some('\n') => 2,
                    Some(c) if c.is_ascii() => {
                        out.push(c);
                        2
                    }
                    _ => 1,
                }
            }
            // An empty substitution vanishes; a markdown fence (```) stays.
            b'`' if rest.starts_with("```") => {
                let run = rest.bytes().take_while(|&b| b == b'`').count();
                out.push_str(&rest[..run]);
                run
            }
            b'`' if rest.starts_with("``") => 2,
            b'$' => shell_expansion(rest, &mut out),
            b'{' => brace_expansion(rest, &mut out),
            _ => 0,
        };
        if skip == 0 {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        } else {
            i += skip;
        }
    }
    (out != text).then_some(out)
}

/// A `$` expansion at the start of `rest` that reads as nothing, a space or a
/// slash: how many bytes it takes (pushing what it reads as), 0 if none.
fn shell_expansion(rest: &str, out: &mut String) -> usize {
    let after = &rest.as_bytes()[1..];
    match after {
        [b'@' | b'*' | b'0'..=b'9', ..] => 2,
        [b'(', b')', ..] => 3,
        _ if rest[1..].starts_with("ifs") => {
            out.push(' ');
            4
        }
        _ if rest[1..].starts_with("{ifs}") => {
            out.push(' ');
            6
        }
        [b'{', ..] => {
            // `${NAME:0:1}` is the first character of a path variable: a slash.
            let close = find_within(rest, b'}', 32);
            match close {
                Some(end) if rest[..end].ends_with(":0:1") => {
                    out.push('/');
                    end + 1
                }
                _ => 0,
            }
        }
        _ => 0,
    }
}

/// The position of `byte` among the first `limit` bytes of `text` (a bounded
/// look-ahead keeps the shell view linear).
fn find_within(text: &str, byte: u8, limit: usize) -> Option<usize> {
    text.bytes().take(limit).position(|b| b == byte)
}

/// `{a,b,c}` (no spaces, at least one comma, short): its words, space-separated.
fn brace_expansion(rest: &str, out: &mut String) -> usize {
    let Some(end) = find_within(rest, b'}', 128) else {
        return 0;
    };
    let inner = &rest[1..end];
    if !inner.contains(',') || inner.contains([' ', '{', '\n']) {
        return 0;
    }
    out.push_str(&inner.replace(',', " "));
    end + 1
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
    fn undoes_the_encodings_of_evasion_families() {
        assert_eq!(normalize("%u003Cscript%u003E", false), "<script>");
        assert_eq!(normalize("%uFF1Cscript%uFF1E", false), "<script>");
        assert_eq!(normalize("&#0000060script&#0000062", false), "<script>");
        assert_eq!(normalize("&#x3c;&#60", false), "<<");
        assert_eq!(
            normalize("&#0000040123", false),
            "\u{9cbb}",
            "digits run on"
        );
        assert_eq!(normalize("ja&Tab;vascript&colon;", false), "ja vascript:");
        assert_eq!(normalize("..\u{2215}..\u{2215}etc", false), "../../etc");
        assert_eq!(normalize("..\u{2216}..\u{FF3C}etc", false), "..\\..\\etc");
        assert_eq!(normalize("\u{2025}/\u{FE52}\u{FE52}/", false), "../../");
        assert_eq!(
            normalize("1/*!12345UNION/*!31337SELECT/*!table_name*/", false),
            "1 union select table_name"
        );
    }

    #[test]
    fn the_shell_view_reads_words_as_a_shell_does() {
        assert_eq!(
            shell_view("c'a't /e\"t\"c/pa\\sswd").as_deref(),
            Some("cat /etc/passwd")
        );
        assert_eq!(shell_view("w\\\nhoami").as_deref(), Some("whoami"));
        assert_eq!(
            shell_view("c$@at${ifs}/etc$9/passwd").as_deref(),
            Some("cat /etc/passwd")
        );
        assert_eq!(
            shell_view("cat$ifs${path:0:1}etc").as_deref(),
            Some("cat /etc")
        );
        assert_eq!(
            shell_view("{cat,/etc/passwd}").as_deref(),
            Some("cat /etc/passwd")
        );
        assert_eq!(shell_view("``id``").as_deref(), Some("id"));
        assert_eq!(shell_view("```sh\nls\n```"), None, "a markdown fence stays");
        assert_eq!(shell_view("plain words"), None);
        // Bounded look-ahead: an unclosed `{` or `${` costs no rescans.
        let long = "{a,".repeat(10_000) + "${x";
        assert_eq!(shell_view(&long), None);
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
