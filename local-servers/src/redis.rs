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
    process: Option<Supervised>,
    _janitor: Janitor,
}

impl RedisServer {
    /// Start a server on a free port; returns once it accepts connections.
    pub fn start() -> Result<RedisServer, ServerError> {
        RedisServer::start_with(None)
    }

    /// Start a server that speaks TLS only, with this certificate and key
    /// (PEM); clients are not asked for certificates. Its URL is `rediss://`.
    pub fn start_tls(certificate_pem: &str, key_pem: &str) -> Result<RedisServer, ServerError> {
        RedisServer::start_with(Some((certificate_pem, key_pem)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> Result<RedisServer, ServerError> {
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
            port: 0,
            process: None,
            _janitor: janitor,
        };
        process::on_free_port(|port| server.launch_on(port))?;
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
        let args: Vec<OsString> = listen
            .into_iter()
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
