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
    process: Option<Supervised>,
    _janitor: Janitor,
}

impl RedisServer {
    /// Start a server on a free port; returns once it accepts connections.
    pub fn start() -> Result<RedisServer, ServerError> {
        let binary = find_redis_server()?;
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "edge-redis-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(ServerError::io("creating", &dir))?;
        let janitor = Janitor::spawn(&dir, &dir.join("redis.pid"))?;
        let mut server = RedisServer {
            binary,
            dir,
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

    /// The connection URL, `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
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
        let args: Vec<OsString> = [
            "--port",
            &port.to_string(),
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
        .map(OsString::from)
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
