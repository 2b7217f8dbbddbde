//! The filter's measurements, recorded through the [`metrics`] facade
//! (feature `metrics`, on by default): the application installs a recorder —
//! a Prometheus exporter, say — and these appear in it; without one, recording
//! costs next to nothing.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `edge_filter_findings_total` | counter | `category` ([`Category::as_str`](crate::Category::as_str)), `action`: `blocked` or `detected` |
//! | `edge_filter_rejections_total` | counter | `reason`: [`Rejection::code`](crate::Rejection::code) |
//!
//! A finding is counted whether it blocks the request (`Mode::Block`) or is
//! only logged (`Mode::DetectOnly`); a blocked request is also a rejection
//! (`request_blocked`). Rejections are counted by the protocol's steps, which
//! every adapter drives.

/// Attack patterns found, by `category` and `action`.
pub const FINDINGS_TOTAL: &str = "edge_filter_findings_total";
/// Requests refused, by `reason`: `request_blocked`, `invalid_parameter`,
/// `invalid_json`, `payload_too_large`, `request_timeout`,
/// `unsupported_media_type`, `validation_failed`.
pub const REJECTIONS_TOTAL: &str = "edge_filter_rejections_total";

/// Describe these metrics to the installed recorder (their help text), once,
/// after installing it.
pub fn describe() {
    #[cfg(feature = "metrics")]
    {
        metrics::describe_counter!(FINDINGS_TOTAL, "Attack patterns the input filter found");
        metrics::describe_counter!(REJECTIONS_TOTAL, "Requests the input filter refused");
    }
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn found(category: crate::Category, blocked: bool) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        FINDINGS_TOTAL,
        "category" => category.as_str(),
        "action" => if blocked { "blocked" } else { "detected" }
    )
    .increment(1);
}

/// `result`, its rejection counted.
pub(crate) fn counted<T>(result: Result<T, crate::Rejection>) -> Result<T, crate::Rejection> {
    #[cfg(feature = "metrics")]
    if let Err(rejection) = &result {
        metrics::counter!(REJECTIONS_TOTAL, "reason" => rejection.code()).increment(1);
    }
    result
}
