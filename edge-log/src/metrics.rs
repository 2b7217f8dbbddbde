//! The access log's measurements, recorded through the [`metrics`] facade
//! (feature `metrics`, on by default): the application installs a recorder —
//! a Prometheus exporter, say — and these appear in it; without one, recording
//! costs next to nothing.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `edge_http_requests_total` | counter | `method`, `route`, `status` |
//! | `edge_http_request_duration_seconds` | histogram | `method`, `route` |
//! | `edge_http_requests_in_flight` | gauge | |
//! | `edge_log_dropped_lines_total` | counter | |
//!
//! Handles are registered with the recorder on first use and kept: install
//! the recorder before the first request.
//!
//! Labels stay bounded: `method` is a standard method or `other`; `route` is
//! the template of [`AccessLogBuilder::routes`](crate::AccessLogBuilder::routes)
//! the path matched (`/api/items/{id}`), or `unmatched` — never the raw path.
//! Durations run from the request's arrival to the end of its response body;
//! [`DURATION_BUCKETS`] suit them (0.1 ms to 10 s).

use std::sync::Arc;

/// Requests answered, by `method`, `route` and `status`.
pub const REQUESTS_TOTAL: &str = "edge_http_requests_total";
/// Time from a request's arrival to the end of its response, in seconds.
pub const REQUEST_DURATION_SECONDS: &str = "edge_http_request_duration_seconds";
/// Requests being answered now.
pub const REQUESTS_IN_FLIGHT: &str = "edge_http_requests_in_flight";
/// Access lines dropped because the output was too slow.
pub const DROPPED_LINES_TOTAL: &str = "edge_log_dropped_lines_total";

/// Histogram buckets for [`REQUEST_DURATION_SECONDS`], in seconds: 0.1 ms to 10 s.
pub const DURATION_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The `route` label of requests whose path matched no configured route.
pub const UNMATCHED: &str = "unmatched";

/// Describe these metrics to the installed recorder (their help text and
/// units), once, after installing it.
pub fn describe() {
    #[cfg(feature = "metrics")]
    {
        use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
        describe_counter!(REQUESTS_TOTAL, "HTTP requests answered");
        describe_histogram!(
            REQUEST_DURATION_SECONDS,
            Unit::Seconds,
            "Time from a request's arrival to the end of its response"
        );
        describe_gauge!(REQUESTS_IN_FLIGHT, "HTTP requests being answered");
        describe_counter!(
            DROPPED_LINES_TOTAL,
            "Access lines dropped because the output was too slow"
        );
    }
}

/// `method` as a `'static` string when it is one of the standard methods.
pub(crate) fn standard_method(method: &str) -> Option<&'static str> {
    const STANDARD: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    STANDARD.iter().find(|m| **m == method).copied()
}

/// The `method` label: a standard method, else `other`.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) fn method_label(method: &str) -> &'static str {
    standard_method(method).unwrap_or("other")
}

/// The `status` label, without formatting per request.
#[cfg(feature = "metrics")]
fn status_label(status: u16) -> metrics::SharedString {
    static LABELS: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| (0..600).map(|s| s.to_string()).collect());
    match LABELS.get(usize::from(status)) {
        Some(label) => metrics::SharedString::const_str(label),
        None => metrics::SharedString::from(status.to_string()),
    }
}

/// The configured routes, matched to label requests (each template once).
#[derive(Debug, Clone, Default)]
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) struct Routes(Arc<[(edge_core::PathTemplate, Arc<str>)]>);

impl Routes {
    pub(crate) fn new(templates: Vec<edge_core::PathTemplate>) -> Routes {
        let mut unique: Vec<(edge_core::PathTemplate, Arc<str>)> = Vec::new();
        for template in templates {
            if !unique.iter().any(|(t, _)| t.source() == template.source()) {
                let label = Arc::from(template.source());
                unique.push((template, label));
            }
        }
        Routes(unique.into())
    }

    /// The index of the route `path` matches.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn find(&self, path: &str) -> Option<usize> {
        self.0
            .iter()
            .position(|(template, _)| template.is_match(path))
    }

    #[cfg(feature = "metrics")]
    fn label(&self, route: Option<usize>) -> metrics::SharedString {
        match route.and_then(|i| self.0.get(i)) {
            Some((_, label)) => metrics::SharedString::from(Arc::clone(label)),
            None => metrics::SharedString::const_str(UNMATCHED),
        }
    }
}

/// An access log's metric handles, each registered with the recorder on first
/// use and kept (so a request costs atomic adds, not registry lookups). The
/// recorder must be installed before the first request.
#[derive(Debug, Default)]
pub(crate) struct Meters {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    routes: Routes,
    #[cfg(feature = "metrics")]
    in_flight: std::sync::OnceLock<metrics::Gauge>,
    #[cfg(feature = "metrics")]
    answered: std::sync::Mutex<Answered>,
}

/// Counter and histogram handles by method, route and status.
#[cfg(feature = "metrics")]
type Answered = std::collections::HashMap<
    (&'static str, Option<usize>, u16),
    (metrics::Counter, metrics::Histogram),
    foldhash::fast::FixedState,
>;

impl Meters {
    pub(crate) fn new(routes: Routes) -> Meters {
        Meters {
            routes,
            #[cfg(feature = "metrics")]
            in_flight: std::sync::OnceLock::new(),
            #[cfg(feature = "metrics")]
            answered: std::sync::Mutex::default(),
        }
    }

    #[cfg(feature = "metrics")]
    fn in_flight(&self) -> &metrics::Gauge {
        self.in_flight
            .get_or_init(|| metrics::gauge!(REQUESTS_IN_FLIGHT))
    }

    /// A request arrived: counted in flight until [`Meters::left`].
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn arrived(&self, method: &str, path: &str) -> Measured {
        #[cfg(feature = "metrics")]
        {
            self.in_flight().increment(1.0);
            Measured {
                method: method_label(method),
                route: if self.routes.0.is_empty() {
                    None
                } else {
                    self.routes.find(path)
                },
            }
        }
        #[cfg(not(feature = "metrics"))]
        Measured {}
    }

    /// The request was answered with `status` after `elapsed`.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn answered(&self, measured: &Measured, status: u16, elapsed: std::time::Duration) {
        #[cfg(feature = "metrics")]
        {
            let key = (measured.method, measured.route, status);
            let mut answered = self.answered.lock().unwrap_or_else(|p| p.into_inner());
            let (counter, histogram) = answered.entry(key).or_insert_with(|| {
                let route = self.routes.label(measured.route);
                (
                    metrics::counter!(
                        REQUESTS_TOTAL,
                        "method" => measured.method,
                        "route" => route.clone(),
                        "status" => status_label(status)
                    ),
                    metrics::histogram!(
                        REQUEST_DURATION_SECONDS,
                        "method" => measured.method,
                        "route" => route
                    ),
                )
            });
            counter.increment(1);
            histogram.record(elapsed.as_secs_f64());
        }
    }

    /// The request's log is gone: no longer in flight.
    pub(crate) fn left(&self) {
        #[cfg(feature = "metrics")]
        self.in_flight().decrement(1.0);
    }
}

/// One request's labels, from its arrival.
#[derive(Debug)]
pub(crate) struct Measured {
    #[cfg(feature = "metrics")]
    method: &'static str,
    #[cfg(feature = "metrics")]
    route: Option<usize>,
}

/// Count lines the writer dropped.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn dropped_lines(count: u64) {
    #[cfg(feature = "metrics")]
    metrics::counter!(DROPPED_LINES_TOTAL).increment(count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_bounded() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
        let routes = Routes::new(vec![edge_core::PathTemplate::parse("/items/{id}").unwrap()]);
        assert_eq!(routes.find("/items/7"), Some(0));
        assert_eq!(routes.find("/items/7/x"), None);
    }
}
