//! Starting the `reference-api` binary and talking to it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use edge_test_support::harness;

/// Environment variables the binary reads; cleared so the host's settings never leak in.
const CONFIG_ENV: &[&str] = &[
    "EDGE_LISTEN",
    "EDGE_DATA_DIR",
    "DATABASE_URL",
    "DB_POOL_SIZE",
    "REDIS_URL",
    "JWT_SECRET",
    "JWT_ISSUER",
    "ACCESS_TTL",
    "REFRESH_TTL",
    "RATE_LIMIT_IP",
    "RATE_LIMIT_USER",
    "RATE_LIMIT_READ",
    "RATE_LIMIT_WRITE",
    "CACHE_TTL",
    "MAX_BODY",
    "SECURITY_LOG",
    "ADMIN_USERS",
    "TRUSTED_PROXIES",
    "LOG_FORMAT",
    "RUST_LOG",
];

/// The binary under test.
pub(crate) fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reference-api"));
    for var in CONFIG_ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// A running API process. Dropping it kills the process.
pub(crate) struct Api {
    child: Option<Child>,
    pub(crate) base: String,
    stderr: PathBuf,
}

impl Api {
    /// Start the binary with `args` (plus `--listen` on a free port) and wait until it answers.
    pub(crate) async fn start(args: &[&str]) -> Api {
        let port = edge_test_support::free_port().unwrap();
        let stderr =
            std::env::temp_dir().join(format!("{}.log", harness::unique_name("edge-api-stderr")));
        let child = binary()
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--log-format",
                "json",
            ])
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut api = Api {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            stderr,
        };
        api.wait_until_serving().await;
        api
    }

    /// Start the binary on a fresh database of the shared test server.
    pub(crate) async fn with_fresh_database(extra: &[&str]) -> Api {
        let database = harness::fresh_database().await;
        let mut args = vec!["--database-url", &database.url];
        args.extend_from_slice(extra);
        Api::start(&args).await
    }

    async fn wait_until_serving(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client.get(self.url("/healthz")).send().await.is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!(
                    "reference-api exited with {status} while starting:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "reference-api did not start:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `base` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the process wrote to stderr (its operational logs).
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Send SIGTERM and wait for the process to exit.
    pub(crate) fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "reference-api ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.stderr);
    }
}

/// A scratch directory removed when dropped.
pub(crate) struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub(crate) fn new() -> ScratchDir {
        let dir = std::env::temp_dir().join(harness::unique_name("edge-api-data"));
        std::fs::create_dir_all(&dir).unwrap();
        ScratchDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
