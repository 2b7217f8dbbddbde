//! The one way the crates connect to Redis (feature `redis`): one server, or a
//! Redis Cluster reached through seed nodes, behind one [`Connection`] that
//! reconnects by itself, with the caller's timeout on connecting and on every
//! response.
//!
//! A URL names one server (`redis://host:port/db`); a comma-separated list of
//! URLs names the seed nodes of a cluster (`redis://h1:7000,redis://h2:7000`).
//! On a cluster the connection follows `MOVED`/`ASK` redirections and refreshes
//! its map of slots after a failover; a command's keys must share a hash slot
//! (give them one `{hash tag}`).

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisFuture, RedisResult, Value};

/// Where the data lives: one server, or a cluster.
#[derive(Debug, Clone)]
pub enum Target {
    /// One server.
    Server(Box<redis::Client>),
    /// A Redis Cluster, known by its seed nodes (any reachable one is enough).
    Cluster(Vec<ConnectionInfo>),
}

impl Target {
    /// The target `url` names: one URL is one server, a comma-separated list
    /// is the seed nodes of a cluster. `rediss://` is TLS through rustls (the
    /// platform's root certificates; a `#insecure` fragment skips checking the
    /// server's certificate); for TLS the ring crypto provider is made the
    /// process default unless one is installed already.
    pub fn parse(url: &str) -> RedisResult<Target> {
        let urls: Vec<&str> = url.split(',').map(str::trim).collect();
        if urls.iter().any(|url| url.starts_with("rediss://")) {
            // Err only when a provider is installed already: then that one is used.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        match urls.as_slice() {
            [one] => redis::Client::open(*one).map(|client| Target::Server(Box::new(client))),
            seeds => {
                let seeds = seeds
                    .iter()
                    .map(|seed| seed.into_connection_info())
                    .collect::<RedisResult<Vec<_>>>()?;
                // Checks the seeds agree (one password, one TLS mode).
                ClusterClient::new(seeds.clone())?;
                Ok(Target::Cluster(seeds))
            }
        }
    }

    /// Whether this is a cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, Target::Cluster(_))
    }

    /// A cluster client builder for the seeds (`None` for one server), with
    /// `timeout` on connecting and on each response.
    pub fn cluster_builder(&self, timeout: Duration) -> Option<ClusterClientBuilder> {
        match self {
            Target::Server(_) => None,
            Target::Cluster(seeds) => Some(
                ClusterClientBuilder::new(seeds.clone())
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    // A failed command is retried once the slot map is refreshed;
                    // the caller's own timeout bounds the whole.
                    .retries(2),
            ),
        }
    }

    /// Whether the server answers `PING` on `connection` or, on a cluster,
    /// whether every master answers and reports `cluster_state:ok` (all slots
    /// served) — asked over a connection made for the check, whose map of the
    /// cluster is fresh (a long-lived one may still list a failed master). The
    /// error says which state the cluster reported, during a failover say.
    pub async fn check(&self, connection: &Connection, timeout: Duration) -> RedisResult<()> {
        use redis::cluster_routing::{MultipleNodeRoutingInfo, ResponsePolicy, RoutingInfo};
        let Some(builder) = self.cluster_builder(timeout) else {
            return redis::cmd("PING")
                .query_async::<String>(&mut connection.clone())
                .await
                .map(drop);
        };
        let mut fresh = builder.build()?.get_async_connection().await?;
        let every_master = RoutingInfo::MultiNode((
            MultipleNodeRoutingInfo::AllMasters,
            Some(ResponsePolicy::AllSucceeded),
        ));
        let mut info = redis::cmd("CLUSTER");
        info.arg("INFO");
        let text: String = redis::from_redis_value(fresh.route_command(info, every_master).await?)?;
        let state = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("cluster_state:"))
            .unwrap_or("unknown");
        if state == "ok" {
            return Ok(());
        }
        Err(redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ClusterDown),
            "cluster_state",
            state.to_owned(),
        )))
    }

    /// A connection that connects on its first command (so an instance starts
    /// while Redis is down) and reconnects by itself. Must be called within a
    /// Tokio runtime.
    pub fn connect_lazily(&self, timeout: Duration) -> RedisResult<Connection> {
        match self {
            Target::Server(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1);
                ConnectionManager::new_lazy_with_config((**client).clone(), config)
                    .map(Connection::Server)
            }
            Target::Cluster(_) => {
                let builder = self.cluster_builder(timeout);
                let client = builder.map(ClusterClientBuilder::build).transpose()?;
                let client = client.ok_or_else(|| {
                    redis::RedisError::from((redis::ErrorKind::Client, "no cluster seeds"))
                })?;
                let config = redis::cluster::ClusterConfig::new()
                    .set_connection_timeout(timeout)
                    .set_response_timeout(timeout);
                Ok(Connection::Cluster(
                    client.get_pending_async_connection_with_config(config),
                ))
            }
        }
    }
}

/// A connection to one server or to a cluster; cheap to clone (clones share
/// the underlying connections).
#[derive(Clone)]
pub enum Connection {
    /// To one server.
    Server(ConnectionManager),
    /// To a cluster: one connection per node, commands routed by slot.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Connection::Server(_) => "Connection::Server(..)",
            Connection::Cluster(_) => "Connection::Cluster(..)",
        })
    }
}

impl Connection {
    /// Whether this connects to a cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, Connection::Cluster(_))
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Server(connection) => connection.req_packed_command(cmd),
            Connection::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Server(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            Connection::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Server(connection) => connection.get_db(),
            Connection::Cluster(connection) => connection.get_db(),
        }
    }
}

/// The target `url` names and a lazy connection to it (see
/// [`Target::parse`] and [`Target::connect_lazily`]). Must be called within a
/// Tokio runtime.
pub fn lazy_connection(url: &str, timeout: Duration) -> RedisResult<(Target, Connection)> {
    let target = Target::parse(url)?;
    let connection = target.connect_lazily(timeout)?;
    Ok((target, connection))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_are_checked_and_nothing_connects_before_the_first_command() {
        // Nothing listens on port 1: a lazy connection is made all the same.
        let timeout = Duration::from_millis(50);
        let (target, connection) = lazy_connection("redis://127.0.0.1:1/0", timeout).unwrap();
        assert!(!target.is_cluster() && !connection.is_cluster());
        assert!(lazy_connection("http://example.com", timeout).is_err());
    }

    #[tokio::test]
    async fn a_list_of_urls_is_a_cluster() {
        let timeout = Duration::from_millis(50);
        let seeds = "redis://127.0.0.1:1, redis://127.0.0.1:2";
        let (target, connection) = lazy_connection(seeds, timeout).unwrap();
        assert!(target.is_cluster() && connection.is_cluster());
        assert!(target.cluster_builder(timeout).is_some());
        assert!(lazy_connection("redis://127.0.0.1:1,http://example.com", timeout).is_err());
        // The seeds of one cluster share one password.
        let mixed = "redis://:a@127.0.0.1:1,redis://:b@127.0.0.1:2";
        assert!(Target::parse(mixed).is_err());
    }
}
