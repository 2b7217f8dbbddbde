//! The test harness: shared servers per test process and a fresh database per test.
//!
//! Every function here panics with a clear message when a server cannot be had:
//! a missing server is a test failure, never a silent skip.
//!
//! ```no_run
//! # async fn demo() {
//! let db = edge_test_support::harness::fresh_database().await;
//! // connect to db.url ...
//! let redis = edge_test_support::harness::redis_url();
//! # }
//! ```

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::postgres::{PgOptions, PgServer};
use crate::redis::{RedisCluster, RedisServer};

/// The environment variable naming an existing PostgreSQL server to use instead
/// of starting one (a `postgres://` URL of a role that may create databases).
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";
/// The environment variable naming an existing Redis server to use instead of starting one.
pub const TEST_REDIS_URL: &str = "TEST_REDIS_URL";

/// A database created for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    /// A URL that connects to it.
    pub url: String,
}

/// The URL of the shared PostgreSQL server's `postgres` database: `TEST_DATABASE_URL`,
/// or a throwaway server started once for this test process.
pub fn postgres_admin_url() -> String {
    if let Ok(url) = std::env::var(TEST_DATABASE_URL) {
        return url;
    }
    static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| {
        PgOptions::throwaway()
            .and_then(PgServer::start)
            .map_err(|e| e.to_string())
    });
    match server {
        Ok(server) => server.url("postgres"),
        Err(e) => panic!("cannot start the test PostgreSQL server: {e}"),
    }
}

/// Create an empty database for one test on the shared server.
pub async fn fresh_database() -> TestDatabase {
    let admin_url = postgres_admin_url();
    let name = unique_name("edge_test");
    let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot connect to the test PostgreSQL server ({}): {e}",
                redact(&admin_url)
            )
        });
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    TestDatabase {
        url: with_database(&admin_url, &name),
        name,
    }
}

/// A PostgreSQL server of the test's own (throwaway), for tests that stop and restart it.
pub fn private_postgres() -> PgServer {
    PgOptions::throwaway()
        .and_then(PgServer::start)
        .unwrap_or_else(|e| panic!("cannot start a private PostgreSQL server: {e}"))
}

/// A throwaway PostgreSQL server that accepts TLS connections only, with a
/// self-signed certificate for `localhost` and `127.0.0.1` made here.
#[derive(Debug)]
pub struct TlsPostgres {
    /// The server.
    pub server: PgServer,
    /// The certificate as a PEM file, to trust it (`sslrootcert=`).
    pub certificate: std::path::PathBuf,
}

/// Start a [`TlsPostgres`].
pub fn tls_postgres() -> TlsPostgres {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let made = rcgen::generate_simple_self_signed(names)
        .unwrap_or_else(|e| panic!("cannot make a test certificate: {e}"));
    let (certificate, key) = (made.cert.pem(), made.signing_key.serialize_pem());
    let path = std::env::temp_dir().join(format!("{}.pem", unique_name("edge-pg-cert")));
    std::fs::write(&path, &certificate)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    let server = PgOptions::throwaway()
        .map(|options| options.tls(certificate, key))
        .and_then(PgServer::start)
        .unwrap_or_else(|e| panic!("cannot start a TLS PostgreSQL server: {e}"));
    TlsPostgres {
        server,
        certificate: path,
    }
}

/// A throwaway Redis server that speaks TLS only (`rediss://`), with a
/// self-signed certificate made here.
pub fn tls_redis() -> RedisServer {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .unwrap_or_else(|e| panic!("cannot make a test certificate: {e}"));
    RedisServer::start_tls(&made.cert.pem(), &made.signing_key.serialize_pem())
        .unwrap_or_else(|e| panic!("cannot start a TLS Redis server: {e}"))
}

/// The URL of the shared Redis server: `TEST_REDIS_URL`, or a throwaway server
/// started once for this test process. Tests sharing it use [`unique_name`] prefixes.
pub fn redis_url() -> String {
    if let Ok(url) = std::env::var(TEST_REDIS_URL) {
        return url;
    }
    static SERVER: OnceLock<Result<RedisServer, String>> = OnceLock::new();
    match SERVER.get_or_init(|| RedisServer::start().map_err(|e| e.to_string())) {
        Ok(server) => server.url(),
        Err(e) => panic!("cannot start the test Redis server: {e}"),
    }
}

/// A Redis server of the test's own (throwaway), for tests that stop and restart it.
pub fn private_redis() -> RedisServer {
    RedisServer::start().unwrap_or_else(|e| panic!("cannot start a private Redis server: {e}"))
}

/// A Redis Cluster of the test's own (throwaway): three masters with a replica
/// each, failing a master over after a second unreachable. Its `url()` is the
/// comma-separated list of seed nodes.
pub fn redis_cluster() -> RedisCluster {
    RedisCluster::start(3, 1, std::time::Duration::from_secs(1))
        .unwrap_or_else(|e| panic!("cannot start a Redis Cluster: {e}"))
}

/// The Redis Cluster shared by this test process's tests (started once, like
/// [`redis_url`]'s server): tests sharing it use [`unique_name`] prefixes and
/// never stop its nodes (a test that fails a master over starts its own with
/// [`redis_cluster`]).
pub fn shared_redis_cluster() -> &'static RedisCluster {
    static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(redis_cluster)
}

/// A name unique across tests and test processes: `{prefix}_{pid}_{n}_{nanos}`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with its database (path) replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// `url` with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &rest[..colon],
                &rest[at..]
            ),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            with_database("postgres://u:p@h:5/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5", "t1"),
            "postgres://u@h:5/t1"
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(redact("postgres://u@h:5/db"), "postgres://u@h:5/db");
    }
}
