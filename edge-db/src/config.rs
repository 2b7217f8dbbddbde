//! Pool configuration: [`DbBuilder`].

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

use crate::ConfigError;
use crate::listen::Connector;
use crate::pool::Db;
use crate::transaction::RetryPolicy;

/// Builds a [`Db`]: `Db::builder(url).max_size(16).build()?`.
///
/// Building does not connect; the pool opens connections on demand (see [`Db::ping`]).
#[derive(Debug, Clone)]
#[must_use]
pub struct DbBuilder {
    url: String,
    max_size: usize,
    shared: usize,
    connect_timeout: Duration,
    acquire_timeout: Duration,
    statement_timeout: Option<Duration>,
    retry: RetryPolicy,
}

impl DbBuilder {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        DbBuilder {
            url: url.into(),
            max_size: 16,
            shared: 0,
            connect_timeout: Duration::from_secs(2),
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: None,
            retry: RetryPolicy::default(),
        }
    }

    /// The most connections the pool opens (default 16).
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size;
        self
    }

    /// Keep `count` of the pool's connections for [`Db::shared`], which pipelines
    /// concurrent callers' statements on them (default 0: `shared` checks out a
    /// connection per caller). Must be below `max_size`, so transactions always
    /// find connections of their own.
    pub fn shared_connections(mut self, count: usize) -> Self {
        self.shared = count;
        self
    }

    /// How long opening one connection may take (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a caller waits for a free connection before failing with
    /// [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) (default 2 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// A server-side `statement_timeout` for every connection (default: none).
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }

    /// How transactions retry serialization failures and deadlocks (default: 5 attempts).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Validate the settings and create the (still empty) pool.
    pub fn build(self) -> Result<Db, ConfigError> {
        if self.max_size == 0 {
            return Err(ConfigError::ZeroPoolSize);
        }
        if self.shared >= self.max_size {
            return Err(ConfigError::TooManyShared {
                shared: self.shared,
                max_size: self.max_size,
            });
        }
        for (name, value) in [
            ("connect", self.connect_timeout),
            ("acquire", self.acquire_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::ZeroTimeout(name));
            }
        }
        if self.retry.max_attempts == 0 {
            return Err(ConfigError::ZeroAttempts);
        }
        #[cfg(feature = "tls")]
        let (url, tls) = crate::tls::split(&self.url)?;
        #[cfg(not(feature = "tls"))]
        let url = self.url.clone();
        let mut pg = tokio_postgres::Config::from_str(&url).map_err(ConfigError::InvalidUrl)?;
        pg.connect_timeout(self.connect_timeout);
        if pg.get_application_name().is_none() {
            pg.application_name("edge-db");
        }
        if let Some(timeout) = self.statement_timeout {
            pg.options(format!("-c statement_timeout={}", timeout.as_millis()));
        }
        let manager_config = ManagerConfig {
            // A closed connection (e.g. after a database restart) is replaced on
            // checkout; live ones are reused without a round trip.
            recycling_method: RecyclingMethod::Fast,
        };
        #[cfg(feature = "tls")]
        let (manager, connector) = match tls.verify {
            crate::tls::Verify::Off => (
                Manager::from_config(pg.clone(), tokio_postgres::NoTls, manager_config),
                Connector::Plain(pg),
            ),
            _ => {
                let tls = crate::tls::connector(&tls)?;
                (
                    Manager::from_config(pg.clone(), tls.clone(), manager_config),
                    Connector::Tls(pg, tls),
                )
            }
        };
        #[cfg(not(feature = "tls"))]
        let (manager, connector) = (
            Manager::from_config(pg.clone(), tokio_postgres::NoTls, manager_config),
            Connector::Plain(pg),
        );
        let pool = Pool::builder(manager)
            .max_size(self.max_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.acquire_timeout))
            .create_timeout(Some(self.connect_timeout))
            .recycle_timeout(Some(self.connect_timeout))
            .build()
            .map_err(|e| ConfigError::Pool(e.to_string()))?;
        Ok(Db::from_parts(
            pool,
            connector,
            self.shared,
            self.retry,
            self.acquire_timeout,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_invalid_settings() {
        let url = "postgres://u@127.0.0.1:1/db";
        assert!(matches!(
            DbBuilder::new(url).max_size(0).build(),
            Err(ConfigError::ZeroPoolSize)
        ));
        assert!(matches!(
            DbBuilder::new(url).acquire_timeout(Duration::ZERO).build(),
            Err(ConfigError::ZeroTimeout("acquire"))
        ));
        assert!(matches!(
            DbBuilder::new(url)
                .max_size(4)
                .shared_connections(4)
                .build(),
            Err(ConfigError::TooManyShared {
                shared: 4,
                max_size: 4
            })
        ));
        assert!(
            DbBuilder::new(url)
                .max_size(4)
                .shared_connections(3)
                .build()
                .is_ok()
        );
        assert!(matches!(
            DbBuilder::new("postgres://[").build(),
            Err(ConfigError::InvalidUrl(_))
        ));
        assert!(DbBuilder::new(url).build().is_ok());
    }
}
