//! A private, throwaway Redis server run from the machine's own `redis-server`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::ServerError;
use crate::process::{self, Janitor, Launch, Supervised};

const READY: &str = "Ready to accept connections";

/// A running throwaway Redis server on 127.0.0.1 (no persistence). Dropping it stops
/// the server and removes its directory.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    dir: PathBuf,
    port: u16,
    /// The certificate and key files: the server speaks TLS only.
    tls: Option<(PathBuf, PathBuf)>,
    /// A cluster node (`--cluster-enabled`), with this node timeout.
    cluster: Option<Duration>,
    process: Option<Supervised>,
    _janitor: Janitor,
}

impl RedisServer {
    /// Start a server on a free port; returns once it accepts connections.
    pub fn start() -> Result<RedisServer, ServerError> {
        RedisServer::start_with(None, None)
    }

    /// Start a server that speaks TLS only, with this certificate and key
    /// (PEM); clients are not asked for certificates. Its URL is `rediss://`.
    pub fn start_tls(certificate_pem: &str, key_pem: &str) -> Result<RedisServer, ServerError> {
        RedisServer::start_with(Some((certificate_pem, key_pem)), None)
    }

    fn start_with(
        tls: Option<(&str, &str)>,
        cluster: Option<Duration>,
    ) -> Result<RedisServer, ServerError> {
        let binary = find_redis_server()?;
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "edge-redis-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(ServerError::io("creating", &dir))?;
        let janitor = Janitor::spawn(&dir, &dir.join("redis.pid"))?;
        let tls = match tls {
            Some((certificate, key)) => {
                let files = (dir.join("server.crt"), dir.join("server.key"));
                for (path, contents) in [(&files.0, certificate), (&files.1, key)] {
                    std::fs::write(path, contents).map_err(ServerError::io("writing", path))?;
                }
                Some(files)
            }
            None => None,
        };
        let mut server = RedisServer {
            binary,
            dir,
            tls,
            cluster,
            port: 0,
            process: None,
            _janitor: janitor,
        };
        if cluster.is_some() {
            // A node's cluster bus listens on its port + 10 000.
            process::on_free_port_pair(10_000, |port| server.launch_on(port))?;
        } else {
            process::on_free_port(|port| server.launch_on(port))?;
        }
        Ok(server)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connection URL, `redis://127.0.0.1:PORT` (`rediss://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Stop the server; [`RedisServer::restart`] starts it again on the same port.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.stop();
        }
    }

    /// Kill the server at once (`SIGKILL`), as a crash would: no shutdown, no
    /// goodbye to its clients or to a cluster. [`RedisServer::restart`] starts
    /// it again.
    pub fn kill(&mut self) -> Result<(), ServerError> {
        let cli = find_redis_cli()?;
        let info = cli_output(&cli, self.port, &["info", "server"])?;
        let pid = info
            .lines()
            .find_map(|line| line.trim().strip_prefix("process_id:"))
            .ok_or_else(|| not_ready(format!("no process id in INFO of port {}", self.port)))?;
        let mut kill = std::process::Command::new("kill");
        kill.args(["-KILL", pid]);
        process::output_of(kill)?;
        self.stop();
        // A killed server leaves its pid file, which the janitor waits for.
        let _ = std::fs::remove_file(self.dir.join("redis.pid"));
        Ok(())
    }

    /// Start a stopped server again on the same port.
    pub fn restart(&mut self) -> Result<(), ServerError> {
        if self.process.is_none() {
            self.launch_on(self.port)?;
        }
        Ok(())
    }

    fn launch_on(&mut self, port: u16) -> Result<(), ServerError> {
        let listen: Vec<OsString> = match &self.tls {
            None => vec!["--port".into(), port.to_string().into()],
            Some((certificate, key)) => vec![
                "--port".into(),
                "0".into(),
                "--tls-port".into(),
                port.to_string().into(),
                "--tls-cert-file".into(),
                certificate.into(),
                "--tls-key-file".into(),
                key.into(),
                "--tls-auth-clients".into(),
                "no".into(),
            ],
        };
        let cluster: Vec<OsString> = match self.cluster {
            None => Vec::new(),
            Some(timeout) => vec![
                "--cluster-enabled".into(),
                "yes".into(),
                "--cluster-config-file".into(),
                self.dir.join("nodes.conf").into(),
                "--cluster-node-timeout".into(),
                timeout.as_millis().to_string().into(),
            ],
        };
        let args: Vec<OsString> = listen
            .into_iter()
            .chain(cluster)
            .chain(
                [
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--protected-mode",
                    "no",
                    "--pidfile",
                    &self.dir.join("redis.pid").to_string_lossy(),
                ]
                .into_iter()
                .map(OsString::from),
            )
            .chain(["--dir".into(), self.dir.clone().into()])
            .collect();
        let mut process = Supervised::spawn(Launch {
            name: "Redis",
            program: &self.binary,
            args,
            run_as: None,
            cwd: &self.dir,
            log: self.dir.join(format!("redis-{port}.log")),
            stop_signal: "TERM",
        })?;
        process.wait_ready(READY, Duration::from_secs(30))?;
        self.port = port;
        self.process = Some(process);
        Ok(())
    }
}

/// A throwaway Redis Cluster on 127.0.0.1: masters with their replicas, each a
/// [`RedisServer`] in cluster mode, joined with `redis-cli --cluster create`.
/// Dropping it stops every node.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Start `masters` masters with `replicas` replicas each (at least three
    /// masters, as Redis requires), and wait until every node reports the
    /// cluster `ok` and every replica has synced with its master. A node is failed over after `node_timeout` unreachable.
    pub fn start(
        masters: usize,
        replicas: usize,
        node_timeout: Duration,
    ) -> Result<RedisCluster, ServerError> {
        let nodes = (0..masters * (1 + replicas))
            .map(|_| RedisServer::start_with(None, Some(node_timeout)))
            .collect::<Result<Vec<_>, _>>()?;
        let cli = find_redis_cli()?;
        let mut create = std::process::Command::new(&cli);
        create.arg("--cluster").arg("create");
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port()));
        }
        create
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(std::process::Stdio::null());
        process::run_to_completion(create)?;
        let cluster = RedisCluster { nodes };
        cluster.wait_until_ok(&cli, Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// The seed URLs, comma-separated (`redis://127.0.0.1:P1,redis://127.0.0.1:P2,...`).
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(RedisServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every node (masters and replicas, in no particular role order).
    pub fn nodes(&mut self) -> &mut [RedisServer] {
        &mut self.nodes
    }

    /// The node listening on `port`.
    pub fn node(&mut self, port: u16) -> Option<&mut RedisServer> {
        self.nodes.iter_mut().find(|n| n.port() == port)
    }

    /// The ports of the nodes that are masters now.
    pub fn masters(&self) -> Result<Vec<u16>, ServerError> {
        let cli = find_redis_cli()?;
        let mut masters = Vec::new();
        for node in self.nodes.iter().filter(|n| n.process.is_some()) {
            let role = cli_output(&cli, node.port(), &["role"])?;
            if role.lines().next() == Some("master") {
                masters.push(node.port());
            }
        }
        Ok(masters)
    }

    /// The port of the master that holds `key`'s hash slot now.
    pub fn master_of(&self, key: &str) -> Result<u16, ServerError> {
        let cli = find_redis_cli()?;
        let live = self
            .nodes
            .iter()
            .find(|n| n.process.is_some())
            .ok_or_else(|| not_ready("no node of the cluster is running".to_owned()))?;
        let slot: u32 = cli_output(&cli, live.port(), &["cluster", "keyslot", key])?
            .trim()
            .parse()
            .map_err(|_| not_ready(format!("no slot for {key:?}")))?;
        let nodes = cli_output(&cli, live.port(), &["cluster", "nodes"])?;
        // `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges...>`
        nodes
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .filter(|fields| {
                fields.len() > 8 && fields[2].contains("master") && !fields[2].contains("fail")
            })
            .find(|fields| fields[8..].iter().any(|range| holds(range, slot)))
            .and_then(|fields| fields[1].split(['@', ':']).nth(1)?.parse().ok())
            .ok_or_else(|| not_ready(format!("no live master holds slot {slot}")))
    }

    /// How many keys matching `pattern` (`prefix*`) each master holds now,
    /// by port.
    pub fn keys_per_master(&self, pattern: &str) -> Result<Vec<(u16, usize)>, ServerError> {
        let cli = find_redis_cli()?;
        self.masters()?
            .into_iter()
            .map(|port| {
                let keys = cli_output(&cli, port, &["--scan", "--pattern", pattern])?;
                Ok((port, keys.lines().filter(|l| !l.is_empty()).count()))
            })
            .collect()
    }

    /// Wait until every running node reports the cluster `ok` (after a
    /// failover, say).
    pub fn wait_until_healthy(&self, within: Duration) -> Result<(), ServerError> {
        self.wait_until_ok(&find_redis_cli()?, within)
    }

    fn wait_until_ok(&self, cli: &std::path::Path, within: Duration) -> Result<(), ServerError> {
        let started = std::time::Instant::now();
        loop {
            let mut ok = true;
            for node in self.nodes.iter().filter(|n| n.process.is_some()) {
                let info = cli_output(cli, node.port(), &["cluster", "info"])?;
                ok &= info.lines().any(|l| l.trim() == "cluster_state:ok");
                // A replica that has not synced yet could not take over.
                let replication = cli_output(cli, node.port(), &["info", "replication"])?;
                if replication.lines().any(|l| l.trim() == "role:slave") {
                    ok &= replication
                        .lines()
                        .any(|l| l.trim() == "master_link_status:up");
                }
            }
            if ok {
                return Ok(());
            }
            if started.elapsed() > within {
                return Err(not_ready(format!(
                    "not every node reported cluster_state:ok within {within:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn not_ready(reason: String) -> ServerError {
    ServerError::NotReady {
        server: "Redis Cluster",
        reason,
        log_tail: String::new(),
    }
}

/// Whether a `CLUSTER NODES` slot range (`5461-10922`, or one slot) holds `slot`.
fn holds(range: &str, slot: u32) -> bool {
    let mut bounds = range.split('-').map(str::parse::<u32>);
    match (bounds.next(), bounds.next()) {
        (Some(Ok(first)), Some(Ok(last))) => (first..=last).contains(&slot),
        (Some(Ok(only)), None) => only == slot,
        _ => false,
    }
}

/// What `redis-cli -p PORT ARGS` prints.
fn cli_output(cli: &std::path::Path, port: u16, args: &[&str]) -> Result<String, ServerError> {
    let mut command = std::process::Command::new(cli);
    command.args(["-p", &port.to_string()]).args(args);
    process::output_of(command)
}

fn find_redis_cli() -> Result<PathBuf, ServerError> {
    find_redis_server()?
        .parent()
        .map(|dir| dir.join("redis-cli"))
        .filter(|cli| cli.is_file())
        .ok_or(ServerError::BinaryNotFound {
            what: "redis-cli",
            looked: "beside redis-server".to_owned(),
            fix: "install it with `apt-get install redis-tools` (Debian/Ubuntu)",
        })
}

fn find_redis_server() -> Result<PathBuf, ServerError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/usr/sbin".into(), "/usr/local/bin".into()])
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
        .ok_or(ServerError::BinaryNotFound {
            what: "redis-server",
            looked: "PATH, /usr/bin, /usr/sbin, /usr/local/bin".to_owned(),
            fix: "install it with `apt-get install redis-server` (Debian/Ubuntu), or point TEST_REDIS_URL at a running server",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_forms_spreads_masters_and_fails_over_to_a_replica() {
        let mut cluster = RedisCluster::start(3, 1, Duration::from_millis(1000)).unwrap();
        assert_eq!(cluster.url().split(',').count(), 6);
        assert!(
            cluster
                .url()
                .split(',')
                .all(|url| url.starts_with("redis://127.0.0.1:"))
        );
        let masters = cluster.masters().unwrap();
        assert_eq!(masters.len(), 3, "{masters:?}");
        // Every node's bus port (port + 10 000) is a valid port.
        assert!(cluster.nodes().iter().all(|n| n.port() <= 55_535));

        // Stop a master: its replica takes over and the cluster is whole again.
        let victim = cluster.master_of("some-key").unwrap();
        assert!(masters.contains(&victim));
        cluster.node(victim).unwrap().kill().unwrap();
        let started = std::time::Instant::now();
        let promoted = loop {
            let masters = cluster.masters().unwrap();
            if masters.len() == 3 {
                break masters;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no replica took over: {masters:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(!promoted.contains(&victim));
        let cli = find_redis_cli().unwrap();
        cluster
            .wait_until_ok(&cli, Duration::from_secs(30))
            .unwrap();
        let owner = cluster.master_of("some-key").unwrap();
        assert!(promoted.contains(&owner) && owner != victim);
        assert_eq!(cluster.keys_per_master("*").unwrap().len(), 3);
    }

    #[test]
    fn slot_ranges() {
        assert!(holds("0-5460", 0) && holds("0-5460", 5460) && !holds("0-5460", 5461));
        assert!(holds("7", 7) && !holds("7", 8));
        // An importing/migrating slot marker is not a range of this node.
        assert!(!holds("[93->-abc]", 93));
    }
}
