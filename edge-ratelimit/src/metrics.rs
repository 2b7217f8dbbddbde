//! Rate limiting's measurements, recorded through the [`metrics`] facade
//! (feature `metrics`, on by default): the application installs a recorder —
//! a Prometheus exporter, say — and these appear in it; without one, recording
//! costs next to nothing.
//! The per-request handles are registered with the recorder on first use and
//! kept, so install the recorder before the first request.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `edge_ratelimit_requests_total` | counter | `policy`, `result`: `allowed` or `limited` |
//! | `edge_ratelimit_store_errors_total` | counter | `store` ([`RateLimitStore::name`](crate::RateLimitStore::name)), `fail_mode`: the decision taken, `open`, `local` or `closed` |
//! | `edge_ratelimit_missing_clients_total` | counter | |
//!
//! A request admitted counts `allowed` once for every policy it met; a request
//! refused counts `limited` for the policies that refused it (the others did
//! not count it either: a request is counted by all or none). Policy names come
//! from the configuration, so the label stays bounded.

use std::sync::Arc;

/// Requests each policy decided on, by `policy` and `result`.
pub const REQUESTS_TOTAL: &str = "edge_ratelimit_requests_total";
/// Checks the shared store could not answer, by `store` and the `fail_mode`
/// applied instead.
pub const STORE_ERRORS_TOTAL: &str = "edge_ratelimit_store_errors_total";
/// Requests a per-client policy met without a client address (see
/// [`MissingClient`](crate::MissingClient)).
pub const MISSING_CLIENTS_TOTAL: &str = "edge_ratelimit_missing_clients_total";

/// Describe these metrics to the installed recorder (their help text), once,
/// after installing it.
pub fn describe() {
    #[cfg(feature = "metrics")]
    {
        metrics::describe_counter!(REQUESTS_TOTAL, "Requests each rate-limit policy decided on");
        metrics::describe_counter!(
            STORE_ERRORS_TOTAL,
            "Rate-limit checks the shared store could not answer, by the fail mode applied"
        );
        metrics::describe_counter!(
            MISSING_CLIENTS_TOTAL,
            "Requests a per-client rate-limit policy met without a client address"
        );
    }
}

/// Each policy's `allowed` and `limited` counters, registered with the
/// recorder on first use and kept (a decision costs an atomic add, not a
/// registry lookup): install the recorder before the first request.
#[derive(Debug, Default)]
pub(crate) struct Meters {
    #[cfg(feature = "metrics")]
    policies: Box<[[std::sync::OnceLock<metrics::Counter>; 2]]>,
}

impl Meters {
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(policies: usize) -> Meters {
        Meters {
            #[cfg(feature = "metrics")]
            policies: (0..policies).map(|_| Default::default()).collect(),
        }
    }

    /// Count what each policy decided for one request.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn decided(&self, names: &[Arc<str>], acquired: &crate::store::Acquired) {
        #[cfg(feature = "metrics")]
        {
            let allowed = acquired.allowed();
            for (policy, outcome) in &acquired.outcomes {
                if !allowed && outcome.allowed {
                    continue;
                }
                let (Some(name), Some(counters)) = (names.get(*policy), self.policies.get(*policy))
                else {
                    continue;
                };
                let result = if allowed { "allowed" } else { "limited" };
                counters[usize::from(!allowed)]
                    .get_or_init(|| {
                        metrics::counter!(
                            REQUESTS_TOTAL,
                            "policy" => metrics::SharedString::from(Arc::clone(name)),
                            "result" => result
                        )
                    })
                    .increment(1);
            }
        }
    }
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn store_failed(store: &'static str, mode: crate::FailMode) {
    #[cfg(feature = "metrics")]
    {
        let mode = match mode {
            crate::FailMode::Open => "open",
            crate::FailMode::Local => "local",
            crate::FailMode::Closed => "closed",
        };
        metrics::counter!(STORE_ERRORS_TOTAL, "store" => store, "fail_mode" => mode).increment(1);
    }
}

pub(crate) fn missing_client() {
    #[cfg(feature = "metrics")]
    metrics::counter!(MISSING_CLIENTS_TOTAL).increment(1);
}
