//! [`Health`]: probe the registered dependencies concurrently, each within a
//! timeout, and report 200 or 503 with a JSON body.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

type Probe =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// The dependencies a service needs, and how to probe each one.
///
/// ```
/// # async fn run() {
/// use std::time::Duration;
/// use edge_log::Health;
///
/// let health = Health::new()
///     .timeout(Duration::from_secs(1))
///     .probe("database", || async { Ok(()) })
///     .disabled("redis");
/// let report = health.check().await;
/// assert_eq!(report.status_code(), 200);
/// assert_eq!(report.to_json()["redis"], "disabled");
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct Health {
    checks: Vec<(String, Option<Probe>)>,
    timeout: Duration,
    cache_for: Duration,
    last: Arc<Mutex<Option<(Instant, HealthReport)>>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field(
                "checks",
                &self.checks.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("cache_for", &self.cache_for)
            .finish_non_exhaustive()
    }
}

impl Default for Health {
    fn default() -> Self {
        Health::new()
    }
}

impl Health {
    /// No dependencies yet; probes time out after 1 s.
    pub fn new() -> Self {
        Health {
            checks: Vec::new(),
            timeout: Duration::from_secs(1),
            cache_for: Duration::ZERO,
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// Reuse a report for `duration` (default: probe on every check), so that a
    /// flood of health requests cannot become a flood of probes. Clones share it.
    pub fn cache_for(mut self, duration: Duration) -> Self {
        self.cache_for = duration;
        self
    }

    /// How long each probe may take before it counts as failed (default 1 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A dependency and its probe: `Ok(())` when it works, else why not (logged,
    /// never sent to clients).
    pub fn probe<F, Fut>(mut self, name: impl Into<String>, probe: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let probe: Probe = Arc::new(move || Box::pin(probe()));
        self.checks.push((name.into(), Some(probe)));
        self
    }

    /// A dependency that is not configured: reported as `disabled`, never failing.
    pub fn disabled(mut self, name: impl Into<String>) -> Self {
        self.checks.push((name.into(), None));
        self
    }

    /// Run every probe concurrently (or reuse a report younger than
    /// [`cache_for`](Health::cache_for)).
    pub async fn check(&self) -> HealthReport {
        if !self.cache_for.is_zero() {
            let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, report)) = last.as_ref()
                && at.elapsed() < self.cache_for
            {
                return report.clone();
            }
        }
        let report = self.probe_all().await;
        if !self.cache_for.is_zero() {
            *self.last.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((Instant::now(), report.clone()));
        }
        report
    }

    async fn probe_all(&self) -> HealthReport {
        let runs = self.checks.iter().map(|(name, probe)| async move {
            let state = match probe {
                None => CheckState::Disabled,
                Some(probe) => match tokio::time::timeout(self.timeout, probe()).await {
                    Ok(Ok(())) => CheckState::Ok,
                    Ok(Err(reason)) => {
                        tracing::warn!(dependency = %name, %reason, "health: dependency unavailable");
                        CheckState::Unavailable
                    }
                    Err(_) => {
                        tracing::warn!(dependency = %name, timeout = ?self.timeout, "health: dependency did not answer in time");
                        CheckState::Unavailable
                    }
                },
            };
            (name.clone(), state)
        });
        HealthReport {
            checks: futures_util::future::join_all(runs).await,
        }
    }
}

/// The state of one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckState {
    /// It answered.
    Ok,
    /// It failed or timed out.
    Unavailable,
    /// Not configured.
    Disabled,
}

impl CheckState {
    /// `ok`, `unavailable` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Ok => "ok",
            CheckState::Unavailable => "unavailable",
            CheckState::Disabled => "disabled",
        }
    }
}

/// The outcome of [`Health::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    /// Each dependency, in registration order.
    pub checks: Vec<(String, CheckState)>,
}

impl HealthReport {
    /// Whether no dependency is unavailable.
    pub fn is_healthy(&self) -> bool {
        self.checks
            .iter()
            .all(|(_, state)| *state != CheckState::Unavailable)
    }

    /// 200 when healthy, else 503.
    pub fn status_code(&self) -> u16 {
        if self.is_healthy() { 200 } else { 503 }
    }

    /// `{"status": "ok"|"degraded", "<dependency>": "ok"|"unavailable"|"disabled", ...}`
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        let status = if self.is_healthy() { "ok" } else { "degraded" };
        body.insert("status".to_owned(), Value::from(status));
        for (name, state) in &self.checks {
            body.insert(name.clone(), Value::from(state.as_str()));
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failing_and_slow_probes_make_it_degraded() {
        let health = Health::new()
            .timeout(Duration::from_millis(50))
            .probe("database", || async { Ok(()) })
            .probe("redis", || async { Err("connection refused".to_owned()) })
            .probe("slow", || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .disabled("queue");
        let start = std::time::Instant::now();
        let report = health.check().await;
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "probes ran one by one or unbounded"
        );
        assert_eq!(report.status_code(), 503);
        assert_eq!(
            report.to_json(),
            serde_json::json!({"status": "degraded", "database": "ok", "redis": "unavailable", "slow": "unavailable", "queue": "disabled"})
        );
        let healthy = Health::new()
            .probe("database", || async { Ok(()) })
            .check()
            .await;
        assert_eq!(healthy.status_code(), 200);
        assert_eq!(healthy.to_json()["status"], "ok");
    }

    #[tokio::test]
    async fn a_cached_report_spares_the_dependencies() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let probes = Arc::new(AtomicUsize::new(0));
        let counting = |cache_for| {
            let probes = Arc::clone(&probes);
            Health::new()
                .cache_for(cache_for)
                .probe("database", move || {
                    probes.fetch_add(1, Ordering::SeqCst);
                    async { Ok(()) }
                })
        };
        let cached = counting(Duration::from_secs(3600));
        for _ in 0..5 {
            assert_eq!(cached.clone().check().await.status_code(), 200);
        }
        assert_eq!(probes.load(Ordering::SeqCst), 1, "clones share the report");
        let uncached = counting(Duration::ZERO);
        uncached.check().await;
        uncached.check().await;
        assert_eq!(probes.load(Ordering::SeqCst), 3);
    }
}
