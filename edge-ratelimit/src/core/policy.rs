//! Quotas and policies: what is limited, by which key, for which requests.

use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::ConfigError;

/// At most `limit` requests per `period`. Parse one from `"600/1m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    limit: NonZeroU32,
    period: Duration,
}

impl Quota {
    /// `limit` requests per `period`; `None` for a zero (or sub-millisecond) period.
    pub fn new(limit: NonZeroU32, period: Duration) -> Option<Quota> {
        (period.as_millis() > 0).then_some(Quota { limit, period })
    }

    /// Requests allowed per period.
    pub fn limit(&self) -> u32 {
        self.limit.get()
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    pub(crate) fn period_ms(&self) -> u64 {
        u64::try_from(self.period.as_millis()).unwrap_or(u64::MAX)
    }
}

impl FromStr for Quota {
    type Err = ConfigError;

    /// `N/DURATION`: `600/1m`, `10/1s`, `5000/1h`, `100/500ms`, `1000/1d`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || ConfigError::InvalidQuota(s.to_owned());
        let (limit, period) = s.split_once('/').ok_or_else(invalid)?;
        let limit: NonZeroU32 = limit.trim().parse().map_err(|_| invalid())?;
        let period = period.trim();
        let split = period
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(period.len());
        let (amount, unit) = period.split_at(split);
        let amount: u64 = if amount.is_empty() {
            1
        } else {
            amount.parse().map_err(|_| invalid())?
        };
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" | "sec" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(invalid()),
        };
        let period = Duration::from_millis(amount.checked_mul(unit_ms).ok_or_else(invalid)?);
        Quota::new(limit, period).ok_or_else(invalid)
    }
}

impl std::fmt::Display for Quota {
    /// The form [`FromStr`] reads, in the largest whole unit: `600/1m`,
    /// `10/1s`, `100/500ms`, `1000/1d`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.period_ms();
        let (amount, unit) = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ]
        .into_iter()
        .find(|(unit_ms, _)| ms.is_multiple_of(*unit_ms))
        .map_or((ms, "ms"), |(unit_ms, unit)| (ms / unit_ms, unit));
        write!(f, "{}/{amount}{unit}", self.limit)
    }
}

/// Which part of a request a policy counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// The client IP (from the socket, or forwarded headers of trusted proxies).
    ClientIp,
    /// The authenticated subject; requests without one are not counted by this policy.
    Subject,
    /// The authenticated subject, or the client IP for anonymous requests.
    SubjectOrIp,
    /// One shared bucket for every request.
    Global,
    /// The value of the adapter's `key_from` function (an API key, a tenant, ...);
    /// requests for which it gives none are not counted by this policy.
    Custom,
}

/// Which requests a policy applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// Every request.
    All,
    /// Reads: GET, HEAD (and OPTIONS).
    Reads,
    /// Writes: POST, PUT, PATCH, DELETE.
    Writes,
}

impl Scope {
    pub(crate) fn applies_to(self, method: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Reads => matches!(method, "GET" | "HEAD" | "OPTIONS"),
            Scope::Writes => matches!(method, "POST" | "PUT" | "PATCH" | "DELETE"),
        }
    }
}

/// One limit: a named quota over a key, for a scope of requests, optionally only
/// on paths with a prefix.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) name: Arc<str>,
    pub(crate) quota: Quota,
    pub(crate) key: KeyKind,
    pub(crate) scope: Scope,
    pub(crate) path_prefix: Option<String>,
    pub(crate) route: Option<edge_core::PathTemplate>,
    pub(crate) method: Option<String>,
    pub(crate) fail_mode: Option<crate::FailMode>,
}

impl Policy {
    /// A policy named `name` (used in headers and Redis keys) allowing `quota` per `key`.
    pub fn new(name: &str, quota: Quota, key: KeyKind) -> Result<Policy, ConfigError> {
        let valid = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !valid {
            return Err(ConfigError::InvalidPolicyName(name.to_owned()));
        }
        Ok(Policy {
            name: name.into(),
            quota,
            key,
            scope: Scope::All,
            path_prefix: None,
            route: None,
            method: None,
            fail_mode: None,
        })
    }

    /// Only count requests of `scope` (reads or writes).
    #[must_use]
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Only count requests whose path starts with `prefix` (e.g. a login route).
    #[must_use]
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Only count requests whose path matches `template` (edge-core's route
    /// syntax, the same as edge-cache's and edge-filter's: `/api/auth/login`,
    /// `/api/items/{id}`).
    pub fn route(mut self, template: &str) -> Result<Self, ConfigError> {
        let route = edge_core::PathTemplate::parse(template)
            .map_err(|e| ConfigError::InvalidRoute(e.to_string()))?;
        self.route = Some(route);
        Ok(self)
    }

    /// Only count requests with this method.
    #[must_use]
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// What to do with this policy while the shared store is unreachable,
    /// instead of the limiter's [`fail_mode`](crate::RateLimiterBuilder::fail_mode)
    /// (e.g. a login limit that fails closed while reads fall back to local limits).
    #[must_use]
    pub fn fail_mode(mut self, fail_mode: crate::FailMode) -> Self {
        self.fail_mode = Some(fail_mode);
        self
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The policy's quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    pub(crate) fn applies_to(&self, method: &str, path: &str) -> bool {
        self.scope.applies_to(method)
            && self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
            && self
                .route
                .as_ref()
                .is_none_or(|r| r.matches(path).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quotas() {
        let q: Quota = "600/1m".parse().unwrap();
        assert_eq!((q.limit(), q.period()), (600, Duration::from_secs(60)));
        assert_eq!(
            "10/s".parse::<Quota>().unwrap().period(),
            Duration::from_secs(1)
        );
        assert_eq!(
            "5/250ms".parse::<Quota>().unwrap().period(),
            Duration::from_millis(250)
        );
        assert_eq!(
            "1/2d".parse::<Quota>().unwrap().period(),
            Duration::from_secs(2 * 86400)
        );
        for bad in [
            "0/1m", "10", "10/", "10/0s", "x/1m", "10/1y", "-1/1m", "10/1.5m",
        ] {
            assert!(bad.parse::<Quota>().is_err(), "{bad}");
        }
    }

    #[test]
    fn quotas_print_as_they_parse() {
        for (text, printed) in [
            ("600/1m", "600/1m"),
            ("10/s", "10/1s"),
            ("5/250ms", "5/250ms"),
            ("1/2d", "1/2d"),
            ("7/90s", "7/90s"),
            ("3/60m", "3/1h"),
            ("2/1500ms", "2/1500ms"),
        ] {
            let quota: Quota = text.parse().unwrap();
            assert_eq!(quota.to_string(), printed);
            assert_eq!(printed.parse::<Quota>().unwrap(), quota);
        }
    }

    #[test]
    fn scopes_and_prefixes() {
        let quota = "1/1s".parse().unwrap();
        let writes = Policy::new("writes", quota, KeyKind::ClientIp)
            .unwrap()
            .scope(Scope::Writes);
        assert!(writes.applies_to("POST", "/x") && writes.applies_to("DELETE", "/x"));
        assert!(!writes.applies_to("GET", "/x"));
        let login = Policy::new("login", quota, KeyKind::ClientIp)
            .unwrap()
            .method("post")
            .path_prefix("/api/auth/login");
        assert!(login.applies_to("POST", "/api/auth/login"));
        assert!(!login.applies_to("GET", "/api/auth/login") && !login.applies_to("POST", "/api/x"));
        assert!(Policy::new("bad name", quota, KeyKind::Global).is_err());
        let item = Policy::new("item", quota, KeyKind::ClientIp)
            .unwrap()
            .route("/api/items/{id}")
            .unwrap();
        assert!(item.applies_to("GET", "/api/items/7"));
        assert!(
            !item.applies_to("GET", "/api/items/7/audit") && !item.applies_to("GET", "/api/items")
        );
        assert!(
            Policy::new("bad", quota, KeyKind::Global)
                .unwrap()
                .route("no-slash")
                .is_err()
        );
    }
}
