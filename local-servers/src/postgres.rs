//! A private PostgreSQL server run from the machine's own binaries.
//!
//! ```no_run
//! use edge_local_servers::postgres::{PgOptions, PgServer};
//!
//! let server = PgServer::start(PgOptions::throwaway()?)?;
//! println!("connect to {}", server.url("postgres"));
//! # Ok::<(), edge_local_servers::ServerError>(())
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::process::{self, Janitor, Launch, Supervised, User};
use crate::{ServerError, is_root};

/// The superuser name of every cluster we create.
pub const SUPERUSER: &str = "postgres";

const READY: &str = "database system is ready to accept connections";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const BINARIES_FIX: &str = "install them with `apt-get install postgresql` (Debian/Ubuntu), \
     put their directory on PATH, or point DATABASE_URL / TEST_DATABASE_URL at a running server";

/// Where the PostgreSQL server binaries (`initdb`, `postgres`) are.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    dir: PathBuf,
}

impl PgBinaries {
    /// Look on `PATH` (following symlinks), then in `/usr/lib/postgresql/*/bin`, newest first.
    pub fn find() -> Result<PgBinaries, ServerError> {
        let on_path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|dir| std::fs::canonicalize(dir.join("initdb")).ok())
            .filter_map(|initdb| initdb.parent().map(Path::to_path_buf));
        let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|dirs| {
                dirs.filter_map(Result::ok)
                    .map(|d| d.path().join("bin"))
                    .collect()
            })
            .unwrap_or_default();
        versioned.sort_by_key(|dir| {
            let version = dir
                .parent()
                .and_then(Path::file_name)
                .and_then(|v| v.to_str());
            std::cmp::Reverse(version.and_then(|v| v.parse::<u32>().ok()).unwrap_or(0))
        });
        on_path
            .chain(versioned)
            .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
            .map(|dir| PgBinaries { dir })
            .ok_or(ServerError::BinaryNotFound {
                what: "PostgreSQL server binaries (initdb, postgres)",
                looked: "PATH and /usr/lib/postgresql/*/bin".to_owned(),
                fix: BINARIES_FIX,
            })
    }

    /// The path of one binary.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// How to run a [`PgServer`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    data_dir: PathBuf,
    log_file: PathBuf,
    password: Option<String>,
    throwaway: bool,
    port: Option<u16>,
    /// The server's certificate and key (PEM): TLS on, and required.
    tls: Option<(String, String)>,
}

impl PgOptions {
    /// A persistent cluster in `data_dir` (created on first start), reached with `password`.
    /// The server log goes to `log_file`.
    pub fn persistent(
        data_dir: impl Into<PathBuf>,
        log_file: impl Into<PathBuf>,
        password: impl Into<String>,
    ) -> Self {
        PgOptions {
            data_dir: data_dir.into(),
            log_file: log_file.into(),
            password: Some(password.into()),
            throwaway: false,
            port: None,
            tls: None,
        }
    }

    /// A throwaway cluster in a new temporary directory, with trust authentication on
    /// loopback and durability off; its files are removed when it stops.
    pub fn throwaway() -> Result<Self, ServerError> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir().join(format!(
            "edge-pg-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).map_err(ServerError::io("creating", &base))?;
        Ok(PgOptions {
            data_dir: base.join("data"),
            log_file: base.join("postgres.log"),
            password: None,
            throwaway: true,
            port: None,
            tls: None,
        })
    }

    /// Serve TLS only, with this certificate and private key (PEM): `ssl = on`,
    /// and only `hostssl` connections are accepted.
    #[must_use]
    pub fn tls(mut self, certificate_pem: impl Into<String>, key_pem: impl Into<String>) -> Self {
        self.tls = Some((certificate_pem.into(), key_pem.into()));
        self
    }

    /// Listen on this port instead of a free one.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
}

/// A running PostgreSQL server on 127.0.0.1. Dropping it stops the server.
#[derive(Debug)]
pub struct PgServer {
    binaries: PgBinaries,
    options: PgOptions,
    run_as: Option<User>,
    port: u16,
    process: Option<Supervised>,
    // Declared after `process`: the server stops before its files are removed.
    _janitor: Option<Janitor>,
}

impl PgServer {
    /// Create the cluster if needed and start the server; returns once it accepts connections.
    pub fn start(options: PgOptions) -> Result<PgServer, ServerError> {
        let binaries = PgBinaries::find()?;
        let run_as = if is_root() {
            Some(User::unprivileged()?)
        } else {
            None
        };
        if let Some(user) = run_as.as_ref().filter(|u| !u.can_reach(&options.data_dir)) {
            return Err(ServerError::Unreachable {
                path: options.data_dir,
                user: user.name.clone(),
            });
        }
        let janitor = match options.throwaway {
            true => {
                let base = options.data_dir.parent().unwrap_or(Path::new("/"));
                Some(Janitor::spawn(
                    base,
                    &options.data_dir.join("postmaster.pid"),
                )?)
            }
            false => None,
        };
        let mut server = PgServer {
            _janitor: janitor,
            port: options.port.unwrap_or(0),
            binaries,
            options,
            run_as,
            process: None,
        };
        server.init_cluster()?;
        server.install_tls()?;
        server.launch()?;
        Ok(server)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for `database` as the superuser.
    pub fn url(&self, database: &str) -> String {
        match &self.options.password {
            Some(password) => format!(
                "postgres://{SUPERUSER}:{password}@127.0.0.1:{}/{database}",
                self.port
            ),
            None => format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port),
        }
    }

    /// Whether the server is running (not stopped with [`PgServer::stop`]).
    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// Stop the server (fast shutdown), keeping its data; [`PgServer::restart`] starts it again.
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

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.process
            .as_ref()
            .map(Supervised::log)
            .unwrap_or_default()
    }

    fn init_cluster(&self) -> Result<(), ServerError> {
        let data = &self.options.data_dir;
        if data.join("PG_VERSION").is_file() {
            return Ok(());
        }
        std::fs::create_dir_all(data).map_err(ServerError::io("creating", data))?;
        let parent = data.parent().unwrap_or(Path::new("/"));
        if let Some(user) = &self.run_as {
            user.own(data)?;
            if self.options.throwaway {
                user.own(parent)?;
            }
        }
        let mut cmd = process::command(&self.binaries.path("initdb"), self.run_as.as_ref());
        cmd.arg("-D")
            .arg(data)
            .args(["-U", SUPERUSER, "-E", "UTF8", "--locale=C"]);
        cmd.current_dir(parent);
        let pwfile = parent.join(format!(".edge-pg-password-{}", std::process::id()));
        match &self.options.password {
            Some(password) => {
                std::fs::write(&pwfile, password).map_err(ServerError::io("writing", &pwfile))?;
                if let Some(user) = &self.run_as {
                    user.own(&pwfile)?;
                }
                cmd.arg("--auth=scram-sha-256").arg("--pwfile").arg(&pwfile);
            }
            None => {
                cmd.args(["--auth=trust", "--no-sync"]);
            }
        }
        let result = process::run_to_completion(cmd);
        let _ = std::fs::remove_file(&pwfile);
        result
    }

    /// Write the certificate and key into the data directory (the key readable
    /// by the server's user only) and accept TLS connections only.
    fn install_tls(&self) -> Result<(), ServerError> {
        let Some((certificate, key)) = &self.options.tls else {
            return Ok(());
        };
        let data = &self.options.data_dir;
        let hba = "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n";
        let hba = match &self.options.password {
            Some(_) => hba.replace("trust", "scram-sha-256"),
            None => hba.to_owned(),
        };
        for (name, contents, mode) in [
            ("server.crt", certificate.as_str(), 0o644),
            ("server.key", key.as_str(), 0o600),
            ("pg_hba.conf", hba.as_str(), 0o600),
        ] {
            let path = data.join(name);
            std::fs::write(&path, contents).map_err(ServerError::io("writing", &path))?;
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .map_err(ServerError::io("setting the mode of", &path))?;
            if let Some(user) = &self.run_as {
                user.own(&path)?;
            }
        }
        Ok(())
    }

    fn launch(&mut self) -> Result<(), ServerError> {
        if let Some(port) = self.options.port {
            return self.launch_on(port);
        }
        process::on_free_port(|port| self.launch_on(port))
    }

    fn launch_on(&mut self, port: u16) -> Result<(), ServerError> {
        let data = &self.options.data_dir;
        let mut args: Vec<OsString> = vec![
            "-D".into(),
            data.into(),
            "-p".into(),
            port.to_string().into(),
        ];
        let mut settings = vec![
            "listen_addresses=127.0.0.1",
            "unix_socket_directories=",
            "max_connections=300",
        ];
        if self.options.tls.is_some() {
            settings.extend([
                "ssl=on",
                "ssl_cert_file=server.crt",
                "ssl_key_file=server.key",
            ]);
        }
        if self.options.throwaway {
            settings.extend([
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
            ]);
        }
        for setting in settings {
            args.push("-c".into());
            args.push(setting.into());
        }
        let parent = data.parent().unwrap_or(Path::new("/"));
        let mut process = Supervised::spawn(Launch {
            name: "PostgreSQL",
            program: &self.binaries.path("postgres"),
            args,
            run_as: self.run_as.as_ref(),
            cwd: parent,
            log: self.options.log_file.clone(),
            stop_signal: "INT",
        })?;
        process.wait_ready(READY, START_TIMEOUT)?;
        self.port = port;
        self.process = Some(process);
        Ok(())
    }
}
