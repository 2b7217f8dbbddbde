//! The cache's measurements, recorded through the [`metrics`] facade (feature
//! `metrics`, on by default): the application installs a recorder — a
//! Prometheus exporter, say — and these appear in it; without one, recording
//! costs next to nothing.
//! The per-request handles are registered with the recorder on first use and
//! kept, so install the recorder before the first request.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `edge_cache_requests_total` | counter | `result`: `hit`, `revalidated`, `miss`, `coalesced`, `bypass` |
//! | `edge_cache_entries` | gauge | |
//! | `edge_cache_bytes` | gauge | |
//! | `edge_cache_invalidations_total` | counter | `source`: `local` or `remote` |
//!
//! Each request counts once: `hit` when the cache answered it in full,
//! `revalidated` when it answered 304 to the caller's `If-None-Match`, `miss`
//! when the backend answered, `coalesced` when it waited for another request's
//! backend call, `bypass` when the cache did not handle it (writes, credentials
//! on a private route, `no-store`, shared tier unavailable). The gauges hold the
//! in-process tier's size (summed over every cache of the process); an
//! invalidation counts each tag, `local` for writes and calls here, `remote`
//! for those heard from other instances.

/// Requests the cache saw, by `result`.
pub const REQUESTS_TOTAL: &str = "edge_cache_requests_total";
/// Entries in the in-process tier.
pub const ENTRIES: &str = "edge_cache_entries";
/// Bytes in the in-process tier.
pub const BYTES: &str = "edge_cache_bytes";
/// Tags invalidated, by `source`.
pub const INVALIDATIONS_TOTAL: &str = "edge_cache_invalidations_total";

/// Describe these metrics to the installed recorder (their help text and
/// units), once, after installing it.
pub fn describe() {
    #[cfg(feature = "metrics")]
    {
        use metrics::{Unit, describe_counter, describe_gauge};
        describe_counter!(REQUESTS_TOTAL, "Requests the response cache saw, by result");
        describe_gauge!(ENTRIES, "Entries in the in-process cache tier");
        describe_gauge!(BYTES, Unit::Bytes, "Bytes in the in-process cache tier");
        describe_counter!(INVALIDATIONS_TOTAL, "Cache tags invalidated, by source");
    }
}

/// What the cache did with one request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    Hit,
    Revalidated,
    Miss,
    Coalesced,
    Bypass,
}

/// The request counters, one per result, registered with the recorder on
/// first use and kept (a request costs an atomic add, not a registry lookup):
/// install the recorder before the first request.
#[derive(Debug, Default)]
pub(crate) struct Meters {
    #[cfg(feature = "metrics")]
    requests: [std::sync::OnceLock<metrics::Counter>; 5],
}

impl Meters {
    /// Count one request.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn request(&self, outcome: Outcome) {
        #[cfg(feature = "metrics")]
        {
            let result = match outcome {
                Outcome::Hit => "hit",
                Outcome::Revalidated => "revalidated",
                Outcome::Miss => "miss",
                Outcome::Coalesced => "coalesced",
                Outcome::Bypass => "bypass",
            };
            self.requests[outcome as usize]
                .get_or_init(|| metrics::counter!(REQUESTS_TOTAL, "result" => result))
                .increment(1);
        }
    }

    /// A hit, or a revalidation when the reply is a 304.
    pub(crate) fn answered(&self, reply: &crate::Reply) {
        self.request(if reply.status() == http::StatusCode::NOT_MODIFIED {
            Outcome::Revalidated
        } else {
            Outcome::Hit
        });
    }
}

/// The in-process tier grew (or, negative, shrank) by `entries` and `bytes`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn tier_changed(entries: f64, bytes: f64) {
    #[cfg(feature = "metrics")]
    {
        metrics::gauge!(ENTRIES).increment(entries);
        metrics::gauge!(BYTES).increment(bytes);
    }
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn invalidated(tags: u64, remote: bool) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        INVALIDATIONS_TOTAL,
        "source" => if remote { "remote" } else { "local" }
    )
    .increment(tags);
}
