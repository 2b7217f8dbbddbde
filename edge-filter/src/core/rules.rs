//! Detection rules: data, each with a stable id, a category and a description,
//! matched together by one `regex::RegexSet` (finite automata: linear time, no
//! backtracking) over normalized text.

use regex::bytes::{RegexSet, RegexSetBuilder};

use crate::ConfigError;

/// What kind of attack a rule detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Category {
    /// SQL injection.
    SqlInjection,
    /// Cross-site scripting.
    Xss,
    /// Path traversal.
    PathTraversal,
    /// OS command injection.
    CommandInjection,
    /// NUL bytes.
    NullByte,
}

impl Category {
    /// The category as it appears in the security log.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::SqlInjection => "sql_injection",
            Category::Xss => "xss",
            Category::PathTraversal => "path_traversal",
            Category::CommandInjection => "command_injection",
            Category::NullByte => "null_byte",
        }
    }
}

/// One detection rule. `pattern` is a `regex` pattern over normalized (decoded,
/// lower-cased, whitespace-collapsed) text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// A stable id, e.g. `sqli-union-select`.
    pub id: String,
    /// The category.
    pub category: Category,
    /// What it detects.
    pub description: String,
    /// The pattern.
    pub pattern: String,
}

impl Rule {
    /// A rule.
    pub fn new(id: &str, category: Category, description: &str, pattern: &str) -> Rule {
        Rule {
            id: id.to_owned(),
            category,
            description: description.to_owned(),
            pattern: pattern.to_owned(),
        }
    }
}

/// Command names that are not English words: any use after a separator is suspect.
const COMMANDS: &str = r"(?:whoami|uname|wget|curl|nc|ncat|netcat|bash|sh|zsh|ksh|csh|python[23]?|perl|ruby|php|nslookup|ifconfig|ipconfig|powershell|chmod|chown|mkfifo|telnet|base64|xxd|tftp|printenv|passwd|useradd|crontab|systemctl|pwd|ls|rm|id)";

/// Command names that are also English words: suspect only with shell-like arguments.
const WORDISH_COMMANDS: &str = r"(?:cat|echo|ping|sleep|touch|type|dir|find|head|tail|env|kill|dig|ssh|scp|cmd|more|less|sort|grep|awk|sed|cp|mv|net)";

/// What follows a command: a flag, a path, a variable, a file name, a number at
/// the end, or words and then a redirection.
const SHELL_ARGUMENT: &str = r"\s+(?:-{1,2}[a-z]|/|~/?|\.{1,2}/|\$|[\w.-]+\.(?:txt|sh|log|conf|ini|php|py|pl|passwd|xml|json|db)\b|\d+\s*(?:$|[;&|`])|[^;&|\n<>]*?(?:>{1,2}|<)\s*[/~$.\w])";

/// The built-in rules.
pub fn default_rules() -> Vec<Rule> {
    use Category::*;
    let sqli = |id, description, pattern: &str| Rule::new(id, SqlInjection, description, pattern);
    let xss = |id, description, pattern: &str| Rule::new(id, Xss, description, pattern);
    let traversal =
        |id, description, pattern: &str| Rule::new(id, PathTraversal, description, pattern);
    let cmd =
        |id, description, pattern: &str| Rule::new(id, CommandInjection, description, pattern);
    vec![
        // SQL injection.
        sqli(
            "sqli-union-select",
            "UNION [ALL] SELECT",
            r"\bunion\b(?:\s+(?:all|distinct))?\s*\(?\s*select\b",
        ),
        sqli(
            "sqli-tautology",
            "a quote closed, then OR/AND with an always-true comparison",
            r#"['"`]\s*\)*\s*(?:or|and|xor|\|\||&&)\s*(?:not\s+)?\(?\s*(?:['"`]?[\w.]*['"`]?\s*(?:=|<>|!=|<=>|>=?|<=?|\blike\b|\bis\b|\bin\s*\()|\d+\s*(?:$|--|#|;|\)|=|<|>)|true\b|false\b|null\b|exists\s*\(|\w+\s*\()"#,
        ),
        sqli(
            "sqli-numeric-tautology",
            "OR/AND with a number equal (or unequal) to a number",
            r"\b(?:or|and)\s+\(?\s*\d+\s*(?:=|<>|!=)\s*\(?\s*\d+\b",
        ),
        sqli(
            "sqli-stacked-query",
            "a statement ended, then a SQL statement begun",
            r#"[;'"`]\s*(?:drop\s+(?:table|database|schema)|delete\s+from|insert\s+into|update\s+[\w`"\[\].]+\s+set\b|truncate\s+(?:table\s+)?[\w`]|alter\s+(?:table|user|database)|create\s+(?:table|user|database|function|procedure)\b|exec(?:ute)?\s+[\w@]|declare\s+@|select\s+(?:\*|@@|\d|null\b|version|user\b|sleep|pg_sleep|load_file|count\s*\()|shutdown\b|grant\s+all|set\s+@)"#,
        ),
        sqli(
            "sqli-comment-terminator",
            "a quote closed, then the rest commented out",
            r#"['"`]\s*\)*\s*(?:;\s*)?(?:--(?:\s|$|-)|#(?:\s|$)|/\*)"#,
        ),
        sqli(
            "sqli-time-based",
            "time-based blind injection functions",
            r"\b(?:sleep|benchmark|pg_sleep|dbms_lock\.sleep|dbms_pipe\.receive_message)\s*\(\s*\d|\bwaitfor\s+delay\b",
        ),
        sqli(
            "sqli-schema-probe",
            "reads of the database catalogue",
            r"\b(?:information_schema|pg_catalog|pg_shadow|mysql\.user|sys\.(?:objects|tables|columns)|sysobjects|syscolumns|sqlite_master|all_tables|user_tables)\b",
        ),
        sqli(
            "sqli-file-access",
            "file reads and writes through SQL",
            r"\bload_file\s*\(|\binto\s+(?:out|dump)file\b|\bpg_read_file\s*\(|\bcopy\s+\w+\s+(?:from|to)\s+program\b|\bbulk\s+insert\b",
        ),
        sqli(
            "sqli-exec-procedure",
            "dangerous stored procedures",
            r"\b(?:exec|execute)\b\s*\(?\s*(?:master\.)?(?:dbo\.)?(?:xp_|sp_)\w+",
        ),
        sqli(
            "sqli-drop-table",
            "a statement that drops or empties a table",
            r#"(?:^|;)\s*(?:drop|truncate|alter)\s+(?:table|database|schema)\s+[\w`"\[\].]+|\bdrop\s+(?:table|database)\s+(?:if\s+exists\s+)?[\w`"\[\].]+\s*(?:;|--|#)"#,
        ),
        sqli(
            "sqli-quoted-keyword",
            "a quote closed and a SQL clause appended",
            r#"['"`]\s*\)*\s*;?\s*(?:select\s|(?:order|group)\s+by\s+[\w]+\s*(?:--|#|$|,)|having\s+\d|exec\s|drop\s)"#,
        ),
        sqli(
            "sqli-functions",
            "string and conversion functions typical of payloads",
            r"\b(?:char|nchar|chr|concat|concat_ws|group_concat|extractvalue|updatexml|convert|cast|ascii|substring|substr|mid|hex|unhex)\s*\(\s*(?:0x[0-9a-f]+|\d+\s*(?:,\s*\d+\s*)+\)|select\b|@@|\(\s*select\b|[\w@]+\s*,\s*(?:0x|\(select|concat))",
        ),
        sqli(
            "sqli-system-variable",
            "@@version and friends",
            r"@@(?:version|datadir|hostname|basedir|servername)\b|\bversion\s*\(\s*\)|\bdatabase\s*\(\s*\)|\buser\s*\(\s*\)\s*(?:--|#|\))",
        ),
        sqli(
            "sqli-order-by-probe",
            "ORDER BY / GROUP BY column-count probing",
            r"\b(?:order|group)\s+by\s+\d+\s*(?:--|#|/\*|$)",
        ),
        sqli(
            "sqli-hex-literal",
            "long hex literals compared or selected",
            r"(?:=|\bselect\s|,)\s*0x[0-9a-f]{8,}\b",
        ),
        // Cross-site scripting.
        xss("xss-script-tag", "a script element", r"<\s*/?\s*script\b"),
        xss(
            "xss-event-handler",
            "an element with an on* event handler",
            r"<\s*[a-z][a-z0-9:-]*\b[^>]*?[\s/\x22'`]on[a-z]{3,}\s*=",
        ),
        xss(
            "xss-script-url",
            "javascript:, vbscript: or data:text/html URLs",
            r"(?:javascript|vbscript|livescript)\s*:|\bdata\s*:\s*(?:text/html|application/(?:x-)?javascript|image/svg\+xml)",
        ),
        xss(
            "xss-dangerous-element",
            "elements that load or run active content",
            r"<\s*/?\s*(?:iframe|frame|frameset|object|embed|applet|meta|base|link|svg|math|xml|import|isindex|portal|img|body|video|audio|source|input|form|button|details|marquee|style|template|textarea|select|keygen|animate|set)\b[^>]*(?:>|$)",
        ),
        xss(
            "xss-dom-sink",
            "scripts reaching into the DOM",
            r"\b(?:document\s*\.\s*(?:cookie|domain|write(?:ln)?|location)|window\s*\.\s*(?:location|name|open)\b|\.innerhtml\s*=|eval\s*\(\s*(?:atob|unescape|string\.fromcharcode|location|name|['\x22`])|settimeout\s*\(\s*['\x22`]|new\s+function\s*\(|fromcharcode\s*\(|(?:alert|prompt|confirm)(?:\(|`))",
        ),
        xss(
            "xss-css-expression",
            "CSS expressions and behaviours",
            r"\bexpression\s*\(|-moz-binding\s*:|\bbehavior\s*:\s*url|@import\s+['\x22]?(?:url|javascript|//)",
        ),
        xss(
            "xss-srcdoc",
            "srcdoc and formaction attributes",
            r"\b(?:srcdoc|formaction|xlink:href)\s*=",
        ),
        xss(
            "xss-tag-break-out",
            "an attribute or tag closed and a new element begun",
            r#"['"]\s*/?>\s*<\s*/?\s*[a-z]"#,
        ),
        // Path traversal.
        traversal(
            "traversal-dot-dot",
            "../ or ..\\ sequences",
            r#"(?:^|[/\\=:\s'"])\.\.[/\\;]|[/\\]\.\.(?:[/\\;]|$)|^\.\.$"#,
        ),
        traversal(
            "traversal-sensitive-file",
            "well-known sensitive files",
            r"(?:^|[/\\])(?:etc[/\\](?:passwd|shadow|group|hosts|issue|sudoers|crontab)|proc[/\\](?:self|\d+)[/\\]|windows[/\\](?:win\.ini|system32)|boot\.ini|\.ssh[/\\]|\.htaccess|\.htpasswd|\.env\b|web\.config|\.git[/\\])",
        ),
        traversal(
            "traversal-absolute-root",
            "absolute paths to system directories",
            r"^/(?:etc|proc|sys|var/log|root|usr/local/etc|dev)(?:/|$)|\bfile:/{2,}|^[a-z]:[/\\](?:windows|winnt|boot|inetpub)\b",
        ),
        // Command injection.
        cmd(
            "cmd-chained-command",
            "a separator, then a shell command",
            &format!(
                r"(?:[;&|`\n]|\$\(|\|\|)\s*(?:sudo\s+)?(?:/(?:usr/)?s?bin/)?{COMMANDS}\b(?:\s|$|[;&|`)<>'\x22])"
            ),
        ),
        cmd(
            "cmd-chained-word-command",
            "a separator, then an English-looking command with shell arguments",
            &format!(
                r"(?:[;&|`\n]|\$\()\s*(?:sudo\s+)?(?:/(?:usr/)?s?bin/)?{WORDISH_COMMANDS}{SHELL_ARGUMENT}"
            ),
        ),
        cmd(
            "cmd-substitution",
            "$(...) or backtick substitution of a command",
            &format!(
                r"\$\(\s*(?:{COMMANDS}|{WORDISH_COMMANDS}|/)|`\s*(?:{COMMANDS}|{WORDISH_COMMANDS})\b[^`]*`|\$\{{(?:ifs|path|home|shell)\}}"
            ),
        ),
        cmd(
            "cmd-shell-path",
            "paths to shells and interpreters",
            r"(?:^|[\s;&|`'\x22(=])/(?:usr/)?s?bin/(?:ba|z|k|c|tc|da)?sh\b|\bcmd(?:\.exe)?\s+/c\b|\bpowershell(?:\.exe)?\s+-|/dev/(?:tcp|udp)/",
        ),
        cmd(
            "cmd-download-pipe",
            "downloads piped to a shell, reverse shells",
            r"\b(?:curl|wget)\b[^|;&]*\|\s*(?:ba)?sh\b|\b(?:nc|ncat|netcat)\b[^;&|]*\s-[a-z]*e\s|\bmkfifo\b",
        ),
        // NUL bytes.
        Rule::new(
            "null-byte",
            NullByte,
            "a NUL character (after decoding)",
            r"\x00",
        ),
    ]
}

/// A compiled set of rules.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    set: RegexSet,
}

impl RuleSet {
    /// Compile `rules`.
    pub fn new(rules: Vec<Rule>) -> Result<RuleSet, ConfigError> {
        // ASCII semantics (`\b`, `\w`, `\s`) keep matching on the fast DFA path;
        // the rules are ASCII and the text is NFKC-folded first.
        let set = RegexSetBuilder::new(rules.iter().map(|r| r.pattern.as_str()))
            .unicode(false)
            .size_limit(64 << 20)
            .dfa_size_limit(64 << 20)
            .build()
            .map_err(|e| ConfigError::InvalidRule(e.to_string()))?;
        Ok(RuleSet { rules, set })
    }

    /// A set with no rules: matches nothing.
    pub fn empty() -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            set: RegexSet::empty(),
        }
    }

    /// The built-in rules without those whose id is in `disabled`, plus `extra`.
    ///
    /// ```
    /// use edge_filter::{Category, Rule, RuleSet};
    /// let rules = RuleSet::defaults_with(
    ///     &["xss-css-expression"],
    ///     vec![Rule::new("custom-php-wrapper", Category::PathTraversal, "php:// wrappers", r"php://")],
    /// )?;
    /// assert!(rules.rules().iter().all(|r| r.id != "xss-css-expression"));
    /// # Ok::<(), edge_filter::ConfigError>(())
    /// ```
    pub fn defaults_with(disabled: &[&str], extra: Vec<Rule>) -> Result<RuleSet, ConfigError> {
        if let Some(unknown) = disabled
            .iter()
            .find(|id| !default_rules().iter().any(|r| r.id == **id))
        {
            return Err(ConfigError::InvalidRule(format!(
                "no built-in rule has the id `{unknown}`"
            )));
        }
        let mut rules: Vec<Rule> = default_rules()
            .into_iter()
            .filter(|r| !disabled.contains(&r.id.as_str()))
            .collect();
        rules.extend(extra);
        RuleSet::new(rules)
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule (in rule order) matching the normalized `text`.
    pub fn first_match(&self, text: &str) -> Option<&Rule> {
        // Most values match nothing: answer that with one early-exit scan.
        if !self.set.is_match(text.as_bytes()) {
            return None;
        }
        self.set
            .matches(text.as_bytes())
            .iter()
            .next()
            .map(|i| &self.rules[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_compile_with_unique_ids() {
        let rules = default_rules();
        let mut ids: Vec<_> = rules.iter().map(|r| r.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), rules.len());
        RuleSet::new(rules).unwrap();
    }
}
