//! Time: edge-core's [`Clock`], read in whole seconds of wall time (token
//! `exp`/`nbf`/`iat` and refresh-token expiry are wall times shared with other
//! machines).

pub(crate) use edge_core::{Clock, SystemClock};

/// Seconds since the Unix epoch, by `clock`'s wall time.
pub(crate) fn unix_secs(clock: &dyn Clock) -> u64 {
    clock.unix_ms() / 1000
}
