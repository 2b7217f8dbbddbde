//! The embedded default: a private PostgreSQL server under `--data-dir` when no
//! `DATABASE_URL` is given, started from the machine's own binaries.
//!
//! Layout: `<data-dir>/postgres/` (the cluster), `<data-dir>/postgres.log`, and
//! `<data-dir>/postgres.password` (mode 0600, generated on first start). As root the
//! server runs as the `postgres` system user; it stops when the API exits.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use edge_local_servers::ServerError;
use edge_local_servers::postgres::{PgOptions, PgServer};

/// Start (creating on first use) the private server; returns it and its URL.
pub fn start(data_dir: &Path) -> Result<(PgServer, String), ServerError> {
    std::fs::create_dir_all(data_dir).map_err(|source| ServerError::Io {
        action: "creating",
        path: data_dir.to_path_buf(),
        source,
    })?;
    let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let password = load_or_create_password(&data_dir.join("postgres.password"))?;
    let server = PgServer::start(PgOptions::persistent(
        data_dir.join("postgres"),
        data_dir.join("postgres.log"),
        password,
    ))?;
    let url = server.url("postgres");
    Ok((server, url))
}

fn load_or_create_password(path: &Path) -> Result<String, ServerError> {
    let io_error = |action| {
        move |source| ServerError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(existing.to_owned());
        }
    }
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| io_error("generating a password for")(std::io::Error::other(e.to_string())))?;
    let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error("creating"))?;
    file.write_all(password.as_bytes())
        .map_err(io_error("writing"))?;
    Ok(password)
}
