//! Detection rules: data, each with a stable id, a category and a description,
//! matched together by one `regex::RegexSet` (finite automata: linear time, no
//! backtracking) over normalized text. The built-in ones are in `builtin`.

use regex::bytes::{RegexSet, RegexSetBuilder};

use crate::ConfigError;
use crate::core::builtin::default_rules;
use crate::core::normalize::shell_view;
use crate::core::sql_tokenizer::finds_sql_injection;

/// The id of the built-in rule that runs libinjection's SQL tokenizer
/// ([`Rule::sql_tokenizer`]).
pub const SQL_TOKENIZER: &str = "sqli-tokenizer";

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

    /// The rule that reads a value with libinjection's SQL tokenizer (a pure-Rust
    /// port) instead of a pattern: its id is [`SQL_TOKENIZER`] and its pattern is
    /// empty. Part of [`default_rules`]; leave it out (or disable its id) to match
    /// with patterns alone.
    pub fn sql_tokenizer() -> Rule {
        Rule::new(
            SQL_TOKENIZER,
            Category::SqlInjection,
            "libinjection's SQL tokenizer: token fingerprints of known injections",
            "",
        )
    }

    fn is_sql_tokenizer(&self) -> bool {
        self.id == SQL_TOKENIZER && self.pattern.is_empty()
    }
}

/// One `RegexSet` over `rules`' patterns. ASCII semantics (`\b`, `\w`, `\s`)
/// keep matching on the fast DFA path; the rules are ASCII and the text is
/// NFKC-folded first.
fn compile<'a>(rules: impl Iterator<Item = &'a Rule>) -> Result<RegexSet, ConfigError> {
    RegexSetBuilder::new(rules.map(|r| r.pattern.as_str()))
        .unicode(false)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .map_err(|e| ConfigError::InvalidRule(e.to_string()))
}

/// A compiled set of rules.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    set: RegexSet,
    /// `set`'s rules' indexes in `rules`.
    set_rules: Vec<usize>,
    /// The SQL tokenizer rule's index in `rules`, if it is one of them.
    tokenizer: Option<usize>,
}

impl RuleSet {
    /// Compile `rules`.
    ///
    /// A rule with an empty pattern is refused (it would match everything),
    /// except [`Rule::sql_tokenizer`].
    pub fn new(rules: Vec<Rule>) -> Result<RuleSet, ConfigError> {
        if let Some(empty) = rules
            .iter()
            .find(|r| r.pattern.is_empty() && !r.is_sql_tokenizer())
        {
            return Err(ConfigError::InvalidRule(format!(
                "rule `{}` has an empty pattern",
                empty.id
            )));
        }
        let tokenizer = rules.iter().position(Rule::is_sql_tokenizer);
        let set_rules: Vec<usize> = (0..rules.len())
            .filter(|&i| !rules[i].is_sql_tokenizer())
            .collect();
        let set = compile(set_rules.iter().map(|&i| &rules[i]))?;
        Ok(RuleSet {
            rules,
            set,
            set_rules,
            tokenizer,
        })
    }

    /// A set with no rules: matches nothing.
    pub fn empty() -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            set: RegexSet::empty(),
            set_rules: Vec::new(),
            tokenizer: None,
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

    /// The first pattern rule (in rule order) matching the normalized `text`;
    /// or else the SQL tokenizer, if it is a rule and reads `text` as SQL
    /// injection; or else the first command-injection rule matching the
    /// text's shell view (quotes, escapes and empty expansions inside words
    /// removed).
    pub fn first_match(&self, text: &str) -> Option<&Rule> {
        // Most values match nothing: answer that with one early-exit scan.
        if self.set.is_match(text.as_bytes()) {
            return self
                .set
                .matches(text.as_bytes())
                .iter()
                .next()
                .map(|i| &self.rules[self.set_rules[i]]);
        }
        if let Some(tokenizer) = self.tokenizer.filter(|_| finds_sql_injection(text)) {
            return Some(&self.rules[tokenizer]);
        }
        // The shell view is matched by the same set, for its command rules only.
        let view = shell_view(text)?;
        if !self.set.is_match(view.as_bytes()) {
            return None;
        }
        self.set
            .matches(view.as_bytes())
            .iter()
            .map(|i| &self.rules[self.set_rules[i]])
            .find(|rule| rule.category == Category::CommandInjection)
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
