use std::path::PathBuf;

/// Why a local server could not be started or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The server's binaries are not installed where we look.
    #[error("{what} not found ({looked}); {fix}")]
    BinaryNotFound {
        /// Which binaries were looked for.
        what: &'static str,
        /// Where they were looked for.
        looked: String,
        /// How to install them.
        fix: &'static str,
    },
    /// Running as root, and no unprivileged system user exists to run the server as.
    #[error(
        "running as root and no unprivileged user (postgres or nobody) exists to run the server as"
    )]
    NoUnprivilegedUser,
    /// A file-system operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A helper command (initdb, runuser, ...) failed.
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command that was run.
        command: String,
        /// What it printed.
        output: String,
    },
    /// The server did not become ready in time, or exited while starting.
    #[error("{server} did not start: {reason}; last log lines:\n{log_tail}")]
    NotReady {
        /// Which server.
        server: &'static str,
        /// Why we gave up.
        reason: String,
        /// The end of its log.
        log_tail: String,
    },
    /// The data directory cannot be reached by the unprivileged user the server runs as.
    #[error(
        "{} is not reachable by the `{user}` user that runs PostgreSQL (a parent directory denies it); \
         use a --data-dir outside /root (e.g. /var/lib/edge), run as a non-root user, or set DATABASE_URL",
        path.display()
    )]
    Unreachable {
        /// The data directory.
        path: PathBuf,
        /// The user that would run the server.
        user: String,
    },
}

impl ServerError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ServerError::Io {
            action,
            path,
            source,
        }
    }
}
