//! [`Health`]: probe the registered dependencies concurrently, each within a
//! timeout, and report 200 or 503 with a JSON body.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

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
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field(
                "checks",
                &self.checks.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .finish()
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
        }
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

    /// Run every probe concurrently.
    pub async fn check(&self) -> HealthReport {
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
}
