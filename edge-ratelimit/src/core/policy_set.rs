//! One immutable configuration of a limiter's policies: built and checked
//! whole, then swapped in whole by [`RateLimiter::reconfigure`](crate::RateLimiter::reconfigure),
//! so a request sees one configuration from its check to its headers.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::Arc;

use crate::ConfigError;
use crate::core::policy::Policy;
use crate::core::protocol::FixedValues;
use crate::store::RateLimitStore;

/// The policies, their names and header values, and the store that counts them.
#[derive(Debug)]
pub(crate) struct PolicySet {
    pub(crate) policies: Vec<Policy>,
    pub(crate) names: Vec<Arc<str>>,
    /// Each name's hash, the same in every set: the in-process store finds a
    /// policy's counts by it, so they outlive a reconfiguration.
    pub(crate) name_keys: Vec<u64>,
    /// Each policy's header values that never change, in policy order.
    pub(crate) values: FixedValues<http::HeaderValue>,
    /// The same in actix-web's `http` 0.2 types.
    #[cfg(feature = "actix")]
    pub(crate) values02: FixedValues<actix_web::http::header::HeaderValue>,
    /// Another store than the in-process sliding window (GCRA, Redis, the
    /// application's own), if set.
    pub(crate) store: Option<Arc<dyn RateLimitStore>>,
    /// Each policy's metric handles.
    pub(crate) meters: crate::metrics::Meters,
}

impl PolicySet {
    /// Check `policies` (at least one, names unique) and make their set.
    pub(crate) fn new(
        policies: Vec<Policy>,
        store: Option<Arc<dyn RateLimitStore>>,
    ) -> Result<PolicySet, ConfigError> {
        if policies.is_empty() {
            return Err(ConfigError::NoPolicies);
        }
        let mut seen = HashSet::new();
        if let Some(twice) = policies.iter().find(|p| !seen.insert(p.name())) {
            return Err(ConfigError::DuplicatePolicy(twice.name().to_owned()));
        }
        let names: Vec<Arc<str>> = policies.iter().map(|p| Arc::clone(&p.name)).collect();
        let fixed = foldhash::fast::FixedState::default();
        Ok(PolicySet {
            name_keys: names.iter().map(|name| fixed.hash_one(&**name)).collect(),
            values: FixedValues::of(&policies, &names),
            #[cfg(feature = "actix")]
            values02: FixedValues::of(&policies, &names),
            meters: crate::metrics::Meters::new(names.len()),
            names,
            policies,
            store,
        })
    }

    /// The index of the policy `state` describes, when it is one of this
    /// set's (its name is this set's shared one).
    pub(crate) fn index_of(&self, state: &crate::RateLimitState) -> Option<usize> {
        self.names
            .iter()
            .position(|name| Arc::ptr_eq(name, &state.policy))
    }
}
