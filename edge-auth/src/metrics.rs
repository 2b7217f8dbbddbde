//! Authentication's measurements, recorded through the [`metrics`] facade
//! (feature `metrics`, on by default): the application installs a recorder —
//! a Prometheus exporter, say — and these appear in it; without one, recording
//! costs next to nothing.
//! The per-request handles are registered with the recorder on first use and
//! kept, so install the recorder before the first request.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `edge_auth_rejections_total` | counter | `reason` |
//! | `edge_auth_token_cache_hits_total` | counter | |
//! | `edge_auth_token_cache_misses_total` | counter | |
//!
//! `reason` is [`AuthErrorKind::as_str`](crate::AuthErrorKind::as_str):
//! `missing`, `malformed_header`, `malformed`, `bad_signature`, `expired`,
//! `not_yet_valid`, `invalid_claims`, `wrong_issuer`, `wrong_audience`,
//! `unknown_key`, `revoked`, `forbidden`. Rejections are counted as
//! [`Validator::decide`](crate::Validator::decide) makes them (every adapter
//! goes through it); the cache counts every lookup of a token.

/// Requests refused by authentication, by `reason`.
pub const REJECTIONS_TOTAL: &str = "edge_auth_rejections_total";
/// Tokens found in the verified-token cache.
pub const TOKEN_CACHE_HITS_TOTAL: &str = "edge_auth_token_cache_hits_total";
/// Tokens not in the verified-token cache (verified in full).
pub const TOKEN_CACHE_MISSES_TOTAL: &str = "edge_auth_token_cache_misses_total";

/// Describe these metrics to the installed recorder (their help text), once,
/// after installing it.
pub fn describe() {
    #[cfg(feature = "metrics")]
    {
        metrics::describe_counter!(REJECTIONS_TOTAL, "Requests refused by authentication");
        metrics::describe_counter!(
            TOKEN_CACHE_HITS_TOTAL,
            "Tokens found in the verified-token cache"
        );
        metrics::describe_counter!(
            TOKEN_CACHE_MISSES_TOTAL,
            "Tokens verified in full (not in the verified-token cache)"
        );
    }
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn rejected(error: &crate::AuthError) {
    #[cfg(feature = "metrics")]
    metrics::counter!(REJECTIONS_TOTAL, "reason" => error.reason()).increment(1);
}

/// The token cache's hit and miss counters, registered with the recorder on
/// first use and kept (a lookup costs an atomic add, not a registry lookup):
/// install the recorder before the first request.
#[derive(Debug, Default)]
pub(crate) struct Meters {
    #[cfg(feature = "metrics")]
    cache: [std::sync::OnceLock<metrics::Counter>; 2],
}

impl Meters {
    /// Count one lookup of the token cache.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn token_cache(&self, hit: bool) {
        #[cfg(feature = "metrics")]
        self.cache[usize::from(!hit)]
            .get_or_init(|| {
                if hit {
                    metrics::counter!(TOKEN_CACHE_HITS_TOTAL)
                } else {
                    metrics::counter!(TOKEN_CACHE_MISSES_TOTAL)
                }
            })
            .increment(1);
    }
}
