//! Typed errors.

/// An invalid filter setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A rule pattern does not compile.
    #[error("invalid rule: {0}")]
    InvalidRule(String),
    /// A JSON Schema does not compile.
    #[error("invalid JSON Schema: {0}")]
    InvalidSchema(String),
    /// A parameter rule is inconsistent (e.g. min > max, bad pattern).
    #[error("invalid parameter rule for `{0}`: {1}")]
    InvalidParameterRule(String, String),
    /// A limit that would refuse every request (a zero body limit, a zero
    /// timeout, no headers allowed).
    #[error("invalid limit: {0}")]
    InvalidLimit(String),
    /// A header name given to inspect, require or forbid is not a valid one.
    #[error("invalid header name: {0}")]
    InvalidHeaderName(String),
    /// A route pattern is not `/segment/{param}/...` (edge-core's template syntax).
    #[error(transparent)]
    InvalidRoute(#[from] edge_core::TemplateError),
}
