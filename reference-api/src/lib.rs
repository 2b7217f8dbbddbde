//! The Edge reference API: a CRUD backend composing the edge-* crates (SPEC §4).
//!
//! `main.rs` parses the configuration and calls [`run`]; [`app::app`] is the
//! middleware stack and routes, in order, in one function.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod app;
pub mod canonical;
pub mod config;
pub mod db;
pub mod embedded_pg;
pub mod metrics;
pub mod openapi;
pub mod operations;
pub mod passwords;
pub mod problem;
pub mod routes;
pub mod settings;
pub mod state;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::web::Bytes;
use edge_auth::{RefreshTokens, TokenIssuer};
use edge_db::Db;
use edge_filter::SecurityLog;

use crate::config::{Command, Config};
use crate::db::refresh_tokens::PgRefreshStore;
use crate::passwords::Passwords;
use crate::state::AppState;

/// Why the API could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database URL or pool settings are invalid.
    #[error("invalid database configuration: {0}")]
    DbConfig(#[from] edge_db::ConfigError),
    /// The database could not be reached or migrated.
    #[error("database: {0}")]
    Db(#[from] edge_db::DbError),
    /// The JWT settings are invalid.
    #[error("invalid JWT configuration: {0}")]
    Auth(#[from] edge_auth::ConfigError),
    /// The rate limits are invalid (or the Redis URL is).
    #[error("invalid rate limits: {0}")]
    RateLimit(#[from] edge_ratelimit::ConfigError),
    /// A validation rule or schema is invalid.
    #[error("invalid validation rules: {0}")]
    Filter(#[from] edge_filter::ConfigError),
    /// The OpenAPI document could not be made.
    #[error("OpenAPI document: {0}")]
    OpenApi(#[from] openapi::DocumentError),
    /// The Redis URL is invalid.
    #[error("invalid Redis URL: {0}")]
    Redis(#[from] redis::RedisError),
    /// The cache settings (or the Redis URL) are invalid.
    #[error("invalid cache configuration: {0}")]
    Cache(#[from] edge_cache::ConfigError),
    /// The access log cannot start.
    #[error("access log: {0}")]
    AccessLog(#[from] edge_log::ConfigError),
    /// The security log cannot be opened.
    #[error("cannot open the security log {}: {source}", path.display())]
    SecurityLog {
        /// Its path.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No randomness for a signing key.
    #[error("no randomness available for a signing key: {0}")]
    Random(String),
    /// An operator task named an account that does not exist.
    #[error("no account is named {0}")]
    NoSuchAccount(String),
    /// Password hashing could not be set up.
    #[error("password hashing: {0}")]
    Passwords(String),
    /// Binding or serving HTTP failed.
    #[error("cannot serve on {address}: {source}")]
    Serve {
        /// The listen address.
        address: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// How long start-up waits for an external database that is still coming up.
const DATABASE_WAIT: Duration = Duration::from_secs(30);

/// Connect and migrate the database, then serve until SIGINT/SIGTERM; in-flight
/// requests are finished before this returns.
pub async fn run(config: Config, database_url: String) -> Result<(), StartError> {
    // Before anything records: the crates record into whatever is installed.
    let recorder = metrics::install();
    let mut state = state(config, database_url).await?;
    state.metrics = recorder;
    let (db, access_log) = (state.db.clone(), state.access_log.clone());
    settings::watch(state.clone());
    settings::reload_on_sighup(state.clone());
    let address = state.config.listen;
    let serve_error = |source| StartError::Serve { address, source };
    let workers = state.config.workers.map(usize::from);
    // Two server types: with CORS, or without any trace of it.
    macro_rules! start {
        ($factory:expr) => {{
            let mut server = HttpServer::new($factory)
                .shutdown_timeout(15)
                .disable_signals();
            if let Some(workers) = workers {
                server = server.workers(workers);
            }
            let server = server.bind(address).map_err(serve_error)?;
            for bound in server.addrs() {
                tracing::info!(address = %bound, "listening on http://{bound}");
            }
            server.run()
        }};
    }
    let server = {
        let state = state.clone();
        if state.config.cors_origins.is_empty() {
            start!(move || app::app(state.clone()))
        } else {
            start!(move || app::app_with_cors(state.clone(), app::builders::cors(&state.config)))
        }
    };
    drain_on_termination(
        server.handle(),
        Arc::clone(&state.draining),
        state.config.shutdown_drain,
    );
    server.await.map_err(serve_error)?;
    tracing::info!("stopped serving; closing the database pool");
    db.close();
    if !access_log.writer().flush(Duration::from_secs(2)) {
        tracing::warn!("the access log could not be flushed before exit");
    }
    Ok(())
}

/// At SIGTERM or SIGINT: mark the instance draining (`/readyz` answers 503),
/// keep serving for `drain`, then stop accepting and finish the requests in
/// flight (actix-web's graceful stop, at most its shutdown timeout).
fn drain_on_termination(
    server: actix_web::dev::ServerHandle,
    draining: Arc<AtomicBool>,
    drain: Duration,
) {
    actix_web::rt::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the server");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = terminate => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        draining.store(true, Ordering::Release);
        tracing::info!(drain = ?drain, "shutting down: draining, /readyz answers 503");
        tokio::time::sleep(drain).await;
        server.stop(true).await;
    });
}

/// Connect and migrate the database and build everything the workers share.
pub async fn state(config: Config, database_url: String) -> Result<AppState, StartError> {
    let db = database(&config, database_url)?;
    db::migrate(&db, DATABASE_WAIT).await?;

    let openapi =
        serde_json::to_vec(&openapi::document()?).map_err(openapi::DocumentError::from)?;
    let secret = match &config.jwt_secret {
        Some(secret) => secret.clone().into_bytes(),
        None => {
            let conn = db.conn().await?;
            db::signing_key::get_or_create(&conn, &random_secret()?).await?
        }
    };
    let validator = app::validator(&config, &secret)?;
    let issuer = TokenIssuer::hs256(&secret, config.jwt_issuer.clone(), config.access_ttl)?;
    let refresh = RefreshTokens::new(PgRefreshStore::new(db.clone()), config.refresh_ttl)
        .session_ttl(config.session_ttl);
    let passwords = Passwords::new(config.password_hashes(), config.password_hash_wait)
        .map_err(|e| StartError::Passwords(e.to_string()))?;
    let (ip_limits, user_limits) = app::limiters(&config)?;
    let security_log_path = config.security_log_path();
    let security_log =
        SecurityLog::open(&security_log_path, 100 << 20, 10_000).map_err(|source| {
            StartError::SecurityLog {
                path: security_log_path,
                source,
            }
        })?;
    reopen_on_sighup(security_log.clone());
    let filter = app::filter(&config, security_log)?;
    let cache = app::cache(&config)?;
    let health = health(&db, config.redis_url.as_deref())?;
    let access_log = edge_log::AccessLog::builder()
        .trusted_proxies(config.proxies())
        .routes(operations::templates_by_traffic())
        .format(match config.log_format {
            config::LogFormat::Json => edge_log::Format::Json,
            config::LogFormat::Pretty => edge_log::Format::Pretty,
        })
        .build()?;
    let state = AppState {
        db,
        config: Arc::new(config),
        openapi: Bytes::from(openapi),
        validator,
        issuer,
        refresh,
        passwords,
        ip_limits,
        user_limits,
        filter,
        cache,
        access_log,
        health,
        settings: settings::Applied::default(),
        draining: Arc::new(AtomicBool::new(false)),
        metrics: None,
    };
    // The stored settings win over the flags (which give only the first version).
    settings::load(&state).await?;
    Ok(state)
}

/// The pool: `--db-pool-size`, shared read connections and a statement timeout.
pub fn database(config: &Config, database_url: String) -> Result<Db, StartError> {
    Ok(Db::builder(database_url)
        .max_size(config.db_pool_size as usize)
        .shared_connections(config.shared_connections())
        .statement_timeout(config.db_statement_timeout)
        .build()?)
}

/// The database and (when configured) Redis, as `/healthz` reports them. The
/// Redis probe keeps one connection (reconnecting by itself; on a cluster it
/// asks every master for the cluster's state), and a report is reused for a
/// second, so probes cannot be used to flood the dependencies.
fn health(db: &Db, redis_url: Option<&str>) -> Result<edge_log::Health, StartError> {
    let db = db.clone();
    let health = edge_log::Health::new()
        .timeout(Duration::from_secs(1))
        .cache_for(Duration::from_secs(1))
        .probe("database", move || {
            let db = db.clone();
            async move { db.ping().await.map(drop).map_err(|e| e.to_string()) }
        });
    Ok(match redis_url {
        None => health.disabled("redis"),
        Some(url) => {
            // One server: it answers PING. A cluster: every master answers and
            // reports cluster_state:ok (all slots served).
            let timeout = Duration::from_secs(1);
            let (target, connection) = edge_core::redis::lazy_connection(url, timeout)?;
            health.probe("redis", move || {
                let (target, connection) = (target.clone(), connection.clone());
                async move {
                    target
                        .check(&connection, timeout)
                        .await
                        .map_err(|e| e.to_string())
                }
            })
        }
    })
}

/// 32 random bytes for a signing key.
pub fn random_secret() -> Result<Vec<u8>, StartError> {
    let mut secret = vec![0u8; 32];
    // No OS randomness: refuse to run with a guessable key.
    getrandom::fill(&mut secret).map_err(|e| StartError::Random(e.to_string()))?;
    Ok(secret)
}

/// Run an operator task ([`Command`]) against the database, then return.
pub async fn run_command(
    config: &Config,
    command: &Command,
    database_url: String,
) -> Result<String, StartError> {
    let db = database(config, database_url)?;
    db::migrate(&db, DATABASE_WAIT).await?;
    let conn = db.conn().await?;
    let done = match command {
        Command::GrantAdmin { username } | Command::RevokeAdmin { username } => {
            let role = match command {
                Command::GrantAdmin { .. } => "admin",
                _ => "user",
            };
            if !db::users::set_role(&conn, username, role).await? {
                return Err(StartError::NoSuchAccount(username.clone()));
            }
            format!("{username} now has the role {role} (from its next login or refresh)")
        }
        Command::RotateSigningKey => {
            db::signing_key::replace(&conn, &random_secret()?).await?;
            "replaced the stored signing key; restart every instance to use it".to_owned()
        }
    };
    drop(conn);
    db.close();
    Ok(done)
}

/// Reopen the security log on SIGHUP, after an external rotation (logrotate).
fn reopen_on_sighup(log: SecurityLog) {
    actix_web::rt::spawn(async move {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!(
                "cannot listen for SIGHUP; the security log will not be reopened on rotation"
            );
            return;
        };
        while hangups.recv().await.is_some() {
            log.reopen();
            tracing::info!(path = %log.path().display(), "reopened the security log");
        }
    });
}
