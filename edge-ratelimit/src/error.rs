//! Typed errors: [`ConfigError`] for building a limiter, [`StoreError`] for backends.

/// An invalid rate-limit setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A quota string is not `N/DURATION`.
    #[error(
        "invalid quota `{0}`: expected N/DURATION such as 600/1m, with N ≥ 1 and DURATION > 0 (ms, s, m, h, d)"
    )]
    InvalidQuota(String),
    /// The limiter has no policies.
    #[error("a rate limiter needs at least one policy")]
    NoPolicies,
    /// Two policies share a name.
    #[error("two policies are named `{0}`")]
    DuplicatePolicy(String),
    /// A policy name is empty or has characters other than `[A-Za-z0-9_.-]`.
    #[error("policy name `{0}` must be 1-32 of [A-Za-z0-9_.-]")]
    InvalidPolicyName(String),
    /// The in-process store must hold at least one key.
    #[error("the in-process store must hold at least one key")]
    ZeroCapacity,
    /// A fail mode is not `open`, `local` or `closed`.
    #[error("invalid fail mode `{0}`: expected open, local or closed")]
    InvalidFailMode(String),
    /// An IPv6 prefix length is over 128.
    #[error("an IPv6 prefix length is at most 128 (got {0})")]
    InvalidIpv6Prefix(u8),
    /// A policy's route template is malformed.
    #[error("{0}")]
    InvalidRoute(String),
    /// The Redis URL could not be parsed.
    #[error("invalid Redis URL: {0}")]
    InvalidRedisUrl(String),
}

/// A backend failed (Redis unreachable, timed out, or answered nonsense).
#[derive(Debug, thiserror::Error)]
#[error("rate-limit store: {0}")]
pub struct StoreError(pub String);
