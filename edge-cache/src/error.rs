//! Typed errors: [`ConfigError`] for building a cache, [`TierError`] for the shared tier.

/// An invalid cache setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A route template is not `/segment/{param}/...`.
    #[error("invalid route template `{template}`: {reason}")]
    InvalidTemplate {
        /// The template.
        template: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tag names a parameter its route does not have.
    #[error("tag `{tag}` uses `{{{param}}}`, which route `{route}` does not capture")]
    UnknownTagParam {
        /// The tag template.
        tag: String,
        /// The missing parameter.
        param: String,
        /// The route template.
        route: String,
    },
    /// A tag is empty or holds a control character.
    #[error("tag `{0}` must be non-empty and free of control characters")]
    InvalidTag(String),
    /// A header name in `vary` is not a valid header name.
    #[error("`{0}` is not a valid header name")]
    InvalidHeaderName(String),
    /// Limits that leave no room for any entry.
    #[error("the memory tier needs room for at least one entry and one byte")]
    ZeroCapacity,
    /// A reconfiguration names a route the cache does not have.
    #[error("no route has the template `{0}`")]
    UnknownRoute(String),
    /// The Redis URL could not be parsed.
    #[error("invalid Redis URL: {0}")]
    InvalidRedisUrl(String),
}

/// The shared tier failed: unreachable, timed out, or answered nonsense.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cache tier: {0}")]
pub struct TierError(pub String);
