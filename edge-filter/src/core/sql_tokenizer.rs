//! libinjection's SQL tokenizer (through `libinjectionrs`, a pure-Rust port) as
//! a second opinion beside the patterns: it reads a value as SQL in each quote
//! context and matches the token fingerprint against a list learned from real
//! injections, which catches fragments no pattern spells (`' RLIKE '`,
//! `( BINARY ( SELECT @a) ) --`).
//!
//! Two guards keep its false positives (and its cost) down: it only runs on
//! text with a character where SQL syntax could start or end (see
//! `might_be_sql`), which keeps it off ordinary paths, names, URLs and user
//! agents; and a fingerprint of a string, an operator and a string (`"NOT"`,
//! `"yes" or "no"`) counts only when single quotes delimit the strings, since
//! double quotes around a word are how prose quotes it.

/// Whether libinjection reads normalized `text` as SQL injection.
pub(crate) fn finds_sql_injection(text: &str) -> bool {
    if !might_be_sql(text) {
        return false;
    }
    let result = libinjectionrs::detect_sqli(text.as_bytes());
    if !result.is_injection() {
        return false;
    }
    let quoted_words = result
        .fingerprint
        .as_ref()
        .is_some_and(|fingerprint| matches!(fingerprint.as_str(), "sos" | "s&s"));
    !quoted_words || (text.contains('\'') && !text.contains('"'))
}

/// Whether `before` ends with a number standing alone (`1`, `id=42`, not `X11`).
fn after_number(before: &[u8]) -> bool {
    let digits = before
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    digits > 0
        && !before[..before.len() - digits]
            .last()
            .is_some_and(|b| b.is_ascii_alphabetic())
}

/// Whether `text` has a character where SQL syntax could start or end: a
/// quote that is not an apostrophe inside a word (`O'Brien`), a `=` after a
/// digit, quote, space or parenthesis or before a quote, space or parenthesis
/// (not a URL's `key=value`), a `;` after a number, quote or `)`, an `@` that does not join an e-mail address, a `#` that
/// ends a line, or a `--` comment. Without one, libinjection adds nothing the
/// patterns do not see, and ordinary values (names, URLs, e-mail addresses,
/// user agents) skip it.
fn might_be_sql(text: &str) -> bool {
    let bytes = text.as_bytes();
    let word = |at: Option<&u8>| at.is_some_and(|b| b.is_ascii_alphanumeric());
    let syntax = |at: Option<&u8>| {
        at.is_none_or(|b| b.is_ascii_digit() || matches!(b, b'\'' | b'"' | b' ' | b'(' | b')'))
    };
    bytes.iter().enumerate().any(|(i, &b)| {
        let before = i.checked_sub(1).and_then(|j| bytes.get(j));
        let after = bytes.get(i + 1);
        match b {
            b'\'' | b'"' => !(word(before) && word(after)),
            b'=' => syntax(before) || after.is_none_or(|b| matches!(b, b'\'' | b'"' | b' ' | b'(')),
            b';' => matches!(before, Some(b'\'' | b'"' | b')')) || after_number(&bytes[..i]),
            b'@' => !(word(before) && word(after)),
            b'#' => matches!(after, None | Some(b'\n')),
            b'-' => after == Some(&b'-') && matches!(before, Some(b' ' | b'\n' | b')')),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fragments_and_leaves_quoted_words() {
        assert!(finds_sql_injection("a' rlike 'b"));
        assert!(finds_sql_injection("( binary ( select @a) ) --"));
        assert!(!finds_sql_injection("christmas stocking \"not\" stuffer"));
        assert!(!finds_sql_injection("o'brien"));
        assert!(!finds_sql_injection("/api/resources/123"));
        for ordinary in [
            "D'Angelo",
            "https://example.com/plans?tier=pro&period=yearly",
            "ann@example.com",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
            "see issue #42 for details",
            "ab-12--cd",
        ] {
            assert!(!might_be_sql(&ordinary.to_lowercase()), "{ordinary}");
        }
        // Long and unbalanced input: no panic, and no rescans (a bench covers time).
        for odd in [
            "'".repeat(100_000),
            "(".repeat(100_000) + "'",
            "/*'".repeat(30_000),
            "-- '".repeat(30_000),
            "\"".repeat(50_000) + "@@",
            "\u{0}'\u{fffd}=".repeat(10_000),
        ] {
            let _ = finds_sql_injection(&odd);
        }
        for suspect in [
            "1'--",
            "x' or 1=1",
            "1;drop",
            "@@version",
            "admin'#",
            "1 --",
            "a = 1",
        ] {
            assert!(might_be_sql(suspect), "{suspect}");
        }
    }
}
