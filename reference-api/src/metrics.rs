//! The process's metrics: every edge crate records through the `metrics`
//! facade; this installs the Prometheus recorder they record into, and
//! `GET /metrics` ([`crate::routes::metrics`]) renders it, with the process's
//! own metrics.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// How often histograms are folded into their buckets between scrapes, so
/// that memory stays bounded when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's own metrics (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_open_fds`, ...), read from `/proc`
/// at each scrape.
pub fn process() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// The process's Prometheus recorder, installed on first call (and its upkeep
/// thread started). `None` when another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match build() {
            Ok(handle) => {
                describe();
                let upkeep = handle.clone();
                let started = std::thread::Builder::new()
                    .name("edge-metrics-upkeep".to_owned())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(UPKEEP_EVERY);
                            upkeep.run_upkeep();
                        }
                    });
                if let Err(error) = started {
                    tracing::warn!(%error, "cannot start the metrics upkeep thread");
                }
                Some(handle)
            }
            Err(error) => {
                tracing::warn!(%error, "cannot install the Prometheus recorder; /metrics is off");
                None
            }
        })
        .clone()
}

fn build() -> Result<PrometheusHandle, metrics_exporter_prometheus::BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(edge_log::metrics::REQUEST_DURATION_SECONDS.to_owned()),
            edge_log::metrics::DURATION_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(edge_db::metrics::POOL_WAIT_SECONDS.to_owned()),
            edge_db::metrics::WAIT_BUCKETS,
        )?
        .install_recorder()
}

/// Give the recorder every crate's metric descriptions (Prometheus' `# HELP`).
fn describe() {
    process().describe();
    edge_log::metrics::describe();
    edge_auth::metrics::describe();
    edge_ratelimit::metrics::describe();
    edge_filter::metrics::describe();
    edge_cache::metrics::describe();
    edge_db::metrics::describe();
}
