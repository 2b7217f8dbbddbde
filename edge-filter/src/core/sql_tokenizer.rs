//! libinjection's SQL tokenizer (through `libinjectionrs`, a pure-Rust port) as
//! a second opinion beside the patterns: it reads a value as SQL in each quote
//! context and matches the token fingerprint against a list learned from real
//! injections, which catches fragments no pattern spells (`' RLIKE '`,
//! `( BINARY ( SELECT @a) ) --`).
//!
//! Two guards keep its false positives down: it only runs on text with a
//! character an injection needs (a quote, `;`, `#`, `=`, `@` or a `--`
//! comment),
//! which also keeps it off ordinary paths and values; and a fingerprint of a
//! string, an operator and a string (`"NOT"`, `"yes" or "no"`) counts only
//! when single quotes delimit the strings, since double quotes around a word
//! are how prose quotes it.

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

/// A quote, `;`, `#`, `=`, `@` or a `--` comment: without one of them a value is
/// not an injection libinjection adds anything on (the patterns see `UNION
/// SELECT` and friends).
fn might_be_sql(text: &str) -> bool {
    text.bytes()
        .any(|b| matches!(b, b'\'' | b'"' | b'`' | b';' | b'#' | b'=' | b'@'))
        || commented(text)
}

/// A `--` comment after white space or a `)` (not the `--` of an id or a slug).
fn commented(text: &str) -> bool {
    text.match_indices("--")
        .any(|(at, _)| matches!(text[..at].bytes().last(), Some(b' ' | b'\n' | b')')))
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
    }
}
