//! Configuration: flags with environment equivalents (SPEC §4).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use clap::{Parser, Subcommand, ValueEnum};
use edge_ratelimit::{ClientIpHeader, FailMode, Quota};
use ipnet::IpNet;

/// The Edge reference API: a CRUD backend behind JWT auth, rate limiting, input
/// filtering, response caching and JSON access logs.
// (Its `Debug` output redacts the secrets: JWT secret, URL passwords. Not in the
// doc comment, which clap shows as the `--help` text.)
#[derive(Clone, Parser)]
#[command(version, about)]
pub struct Config {
    /// An operator task to run against the database instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on.
    #[arg(long, env = "EDGE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Browser origins allowed to call the API (CORS), comma-separated, e.g.
    /// `https://app.example.com,http://localhost:3000`, or `*` for any; none by
    /// default. Preflights are answered before authentication and rate limits.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_origins: Vec<String>,

    /// At SIGTERM/SIGINT, how long `/readyz` answers 503 while every request is
    /// still served, before the server stops accepting connections (so an
    /// orchestrator's load balancer stops sending first). Set it a little
    /// longer than the readiness probe's period.
    #[arg(long, env = "SHUTDOWN_DRAIN", default_value = "0s", value_parser = parse_wait)]
    pub shutdown_drain: Duration,

    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "EDGE_WORKERS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,

    /// Directory for the embedded PostgreSQL and the security log.
    #[arg(long, env = "EDGE_DATA_DIR", default_value = "./.edge-data")]
    pub data_dir: PathBuf,

    /// PostgreSQL URL; without it a private server is started under --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Most database connections per instance.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: u32,

    /// Pool connections shared by concurrent reads, which pipeline their statements
    /// on them (default: one per CPU core available, at most half of
    /// --db-pool-size; never more than one below it, so writes keep connections).
    #[arg(long, env = "DB_SHARED_CONNECTIONS", value_parser = clap::value_parser!(u32).range(0..=999))]
    pub db_shared_connections: Option<u32>,

    /// Redis URL; without it every shared tier is in-process.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// HMAC secret for access tokens (at least 32 bytes); when unset, a random key
    /// generated on first start and kept in the database (shared by every instance).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub jwt_secret: Option<String>,

    /// The `iss` of issued tokens, required on presented ones.
    #[arg(long, env = "JWT_ISSUER", default_value = "edge")]
    pub jwt_issuer: String,

    /// Lifetime of access tokens.
    #[arg(long, env = "ACCESS_TTL", default_value = "15m", value_parser = parse_duration)]
    pub access_ttl: Duration,

    /// Lifetime of refresh tokens.
    #[arg(long, env = "REFRESH_TTL", default_value = "30d", value_parser = parse_duration)]
    pub refresh_ttl: Duration,

    /// Requests per client IP, as N/DURATION.
    #[arg(long, env = "RATE_LIMIT_IP", default_value = "600/1m")]
    pub rate_limit_ip: Quota,

    /// Login attempts per client IP (slows password guessing), as N/DURATION.
    #[arg(long, env = "RATE_LIMIT_LOGIN", default_value = "10/1m")]
    pub rate_limit_login: Quota,

    /// Registrations per client IP, as N/DURATION.
    #[arg(long, env = "RATE_LIMIT_REGISTER", default_value = "20/1h")]
    pub rate_limit_register: Quota,

    /// While Redis is unreachable: `local` (each instance limits on its own),
    /// `closed` (503) or `open` (no limits).
    #[arg(long, env = "RATE_LIMIT_FAIL_MODE", default_value = "local", value_parser = parse_fail_mode)]
    pub rate_limit_fail_mode: FailMode,

    /// The fail mode of the login and registration limits (default `closed`: no
    /// password guessing while the shared count is out of reach).
    #[arg(long, env = "RATE_LIMIT_LOGIN_FAIL_MODE", default_value = "closed", value_parser = parse_fail_mode)]
    pub rate_limit_login_fail_mode: FailMode,

    /// IPv6 clients are counted per network of this prefix length (64: one
    /// subscriber; 128: every address apart).
    #[arg(long, env = "RATE_LIMIT_IPV6_PREFIX", default_value_t = 64, value_parser = clap::value_parser!(u8).range(0..=128))]
    pub rate_limit_ipv6_prefix: u8,

    /// Requests per authenticated user, as N/DURATION.
    #[arg(long, env = "RATE_LIMIT_USER", default_value = "600/1m")]
    pub rate_limit_user: Quota,

    /// Reads (GET/HEAD) per user or IP, as N/DURATION.
    #[arg(long, env = "RATE_LIMIT_READ", default_value = "600/1m")]
    pub rate_limit_read: Quota,

    /// Writes (POST/PUT/PATCH/DELETE) per user or IP, as N/DURATION.
    #[arg(long, env = "RATE_LIMIT_WRITE", default_value = "120/1m")]
    pub rate_limit_write: Quota,

    /// How long cached GET responses live.
    #[arg(long, env = "CACHE_TTL", default_value = "30s", value_parser = parse_duration)]
    pub cache_ttl: Duration,

    /// Send `X-Cache` and `Age` on the cached resource routes too. Off by default:
    /// those responses are shared between users, and a HIT tells one user that
    /// another read the resource recently (the access log always has the status).
    #[arg(long, env = "CACHE_STATUS_HEADER")]
    pub cache_status_header: bool,

    /// Largest accepted request body (e.g. 1MiB, 64KiB).
    #[arg(long, env = "MAX_BODY", default_value = "1MiB", value_parser = parse_size)]
    pub max_body: u64,

    /// Security log file (JSON lines); default <data-dir>/security.log.
    #[arg(long, env = "SECURITY_LOG")]
    pub security_log: Option<PathBuf>,

    /// A JSON file of live settings (a part of the document `PUT
    /// /api/admin/settings` takes) stored as a new version at each SIGHUP, for
    /// deployments without the admin API. Not read at start.
    #[arg(long, env = "SETTINGS_FILE")]
    pub settings_file: Option<PathBuf>,

    /// Whether input-filter findings block requests (`block`) or are only logged (`detect`).
    #[arg(long, env = "FILTER_MODE", value_enum, default_value_t = FilterMode::Block)]
    pub filter_mode: FilterMode,

    /// Removed: it made whoever registered a listed name first an admin. Kept
    /// only to refuse it with a pointer to `grant-admin`.
    #[arg(long, env = "ADMIN_USERS", hide = true)]
    pub admin_users: Option<String>,

    /// Comma-separated proxies (IPs or CIDRs) whose client-IP header is trusted.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,

    /// Comma-separated networks (IPs or CIDRs), besides loopback, that may read
    /// `GET /metrics`; the client is resolved behind the trusted proxies.
    #[arg(long, env = "METRICS_ALLOW", value_delimiter = ',', value_parser = parse_network)]
    pub metrics_allow: Vec<IpNet>,

    /// The one header the trusted proxies set to name the client, read right to
    /// left past trusted proxies (`Forwarded` is parsed as RFC 7239).
    #[arg(long, env = "CLIENT_IP_HEADER", default_value = "X-Forwarded-For")]
    pub client_ip_header: ClientIpHeader,

    /// How long a request body may take to arrive; slower ones get 408.
    #[arg(long, env = "BODY_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// Password hashes computed at once (Argon2id, 19 MiB each); default one per
    /// CPU core.
    #[arg(long, env = "PASSWORD_HASHES", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub password_hashes: Option<u16>,

    /// How long a login or registration waits for a free hashing slot before 503.
    #[arg(long, env = "PASSWORD_HASH_WAIT", default_value = "2s", value_parser = parse_duration)]
    pub password_hash_wait: Duration,

    /// The longest any one database statement may run (PostgreSQL `statement_timeout`).
    #[arg(long, env = "DB_STATEMENT_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub db_statement_timeout: Duration,

    /// The absolute lifetime of a login session (refresh-token family): refreshing
    /// never extends a session past it.
    #[arg(long, env = "SESSION_TTL", default_value = "90d", value_parser = parse_duration)]
    pub session_ttl: Duration,

    /// Format of the logs on stdout/stderr.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
}

impl Config {
    /// Pool connections kept for pipelined reads: `--db-shared-connections` (leaving
    /// at least one for transactions), else one per CPU core this process may run
    /// on, at most half the pool (writes keep the other half).
    pub fn shared_connections(&self) -> usize {
        let pool = self.db_pool_size as usize;
        match self.db_shared_connections {
            Some(n) => (n as usize).min(pool.saturating_sub(1)),
            None => std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(pool / 2),
        }
    }

    /// The security log path, defaulting under the data directory.
    pub fn security_log_path(&self) -> PathBuf {
        self.security_log
            .clone()
            .unwrap_or_else(|| self.data_dir.join("security.log"))
    }

    /// The trusted proxies with their client-IP header: resolved once per request
    /// by the access logger (outermost) and read by every later layer.
    pub fn proxies(&self) -> edge_ratelimit::TrustedProxies {
        edge_ratelimit::TrustedProxies::new(self.trusted_proxies.iter().copied())
            .header(self.client_ip_header.clone())
    }

    /// How many password hashes may run at once.
    pub fn password_hashes(&self) -> usize {
        match self.password_hashes {
            Some(n) => usize::from(n),
            None => std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// Settings that are not valid together or no longer exist: the reason.
    pub fn check(&self) -> Result<(), String> {
        if self
            .admin_users
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty())
        {
            return Err(
                "--admin-users/ADMIN_USERS was removed: it made whoever registered a listed \
                        name first an admin; grant the role to an existing account with \
                        `reference-api grant-admin USERNAME`"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// Operator tasks: run against the database (the same `--database-url` or
/// embedded server as serving), then exit.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Give an existing account the `admin` role (effective from its next login or refresh).
    GrantAdmin {
        /// The account's username (case-insensitive).
        #[arg(value_parser = parse_username)]
        username: String,
    },
    /// Take the `admin` role from an account (effective from its next login or refresh).
    RevokeAdmin {
        /// The account's username (case-insensitive).
        #[arg(value_parser = parse_username)]
        username: String,
    },
    /// Replace the stored token-signing key (when JWT_SECRET is unset): access
    /// tokens signed with the old key stop working once every instance restarts;
    /// refresh tokens stay valid, so clients refresh.
    RotateSigningKey,
}

/// Every setting, with the JWT secret and URL passwords redacted.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted_url = |url: &Option<String>| url.as_deref().map(redact_url);
        f.debug_struct("Config")
            .field("command", &self.command)
            .field("listen", &self.listen)
            .field("workers", &self.workers)
            .field("shutdown_drain", &self.shutdown_drain)
            .field("cors_origins", &self.cors_origins)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redacted_url(&self.database_url))
            .field("db_pool_size", &self.db_pool_size)
            .field("db_shared_connections", &self.db_shared_connections)
            .field("db_statement_timeout", &self.db_statement_timeout)
            .field("redis_url", &redacted_url(&self.redis_url))
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("jwt_issuer", &self.jwt_issuer)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("session_ttl", &self.session_ttl)
            .field("rate_limit_ip", &self.rate_limit_ip)
            .field("rate_limit_login", &self.rate_limit_login)
            .field("rate_limit_register", &self.rate_limit_register)
            .field("rate_limit_user", &self.rate_limit_user)
            .field("rate_limit_read", &self.rate_limit_read)
            .field("rate_limit_write", &self.rate_limit_write)
            .field("rate_limit_fail_mode", &self.rate_limit_fail_mode)
            .field(
                "rate_limit_login_fail_mode",
                &self.rate_limit_login_fail_mode,
            )
            .field("rate_limit_ipv6_prefix", &self.rate_limit_ipv6_prefix)
            .field("cache_ttl", &self.cache_ttl)
            .field("cache_status_header", &self.cache_status_header)
            .field("max_body", &self.max_body)
            .field("body_timeout", &self.body_timeout)
            .field("security_log", &self.security_log)
            .field("filter_mode", &self.filter_mode)
            .field("settings_file", &self.settings_file)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("client_ip_header", &self.client_ip_header.name())
            .field("password_hashes", &self.password_hashes)
            .field("password_hash_wait", &self.password_hash_wait)
            .field("log_format", &self.log_format)
            .finish_non_exhaustive()
    }
}

/// `scheme://user:[redacted]@host/...`: the URL with any password replaced; an
/// unparseable URL entirely.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[redacted]".to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let tail = redact_query_password(tail);
            format!("{scheme}://{user}:[redacted]@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{}", redact_query_password(tail)),
    }
}

/// `?password=...` in a libpq URL's query.
fn redact_query_password(tail: &str) -> String {
    match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}=[redacted]")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    }
}

/// What the input filter does with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FilterMode {
    /// Log it and answer 403.
    Block,
    /// Log it and let the request through (to tune rules before enforcing).
    Detect,
}

impl FilterMode {
    /// The input filter's mode for this setting.
    pub fn mode(self) -> edge_filter::Mode {
        match self {
            FilterMode::Block => edge_filter::Mode::Block,
            FilterMode::Detect => edge_filter::Mode::DetectOnly,
        }
    }
}

/// The format of operational and access logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration such as 30s, 15m, 30d: {e}"))?;
    if duration.is_zero() {
        return Err(format!("`{s}` must be longer than zero"));
    }
    Ok(duration)
}

/// A browser origin as browsers send it, `scheme://host[:port]` (lowercase, no
/// path), or `*`.
fn parse_origin(s: &str) -> Result<String, String> {
    let origin = s.trim().to_ascii_lowercase();
    if origin == "*" {
        return Ok(origin);
    }
    let uri: http::Uri = origin
        .parse()
        .map_err(|e| format!("`{s}` is not an origin such as https://app.example.com: {e}"))?;
    let canonical = match (uri.scheme_str(), uri.authority()) {
        (Some(scheme @ ("http" | "https")), Some(authority)) => format!("{scheme}://{authority}"),
        _ => {
            return Err(format!(
                "`{s}` is not an origin such as https://app.example.com"
            ));
        }
    };
    if canonical != origin || authority_has_userinfo(&origin) {
        return Err(format!(
            "`{s}` is not an origin: only scheme://host[:port], without a path or a trailing `/`"
        ));
    }
    Ok(origin)
}

fn authority_has_userinfo(origin: &str) -> bool {
    origin.contains('@')
}

/// A duration that may be zero (a wait that can be skipped).
fn parse_wait(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration such as 0s, 5s, 1m: {e}"))
}

fn parse_size(s: &str) -> Result<u64, String> {
    let size: ByteSize = s
        .parse()
        .map_err(|e| format!("`{s}` is not a size such as 1MiB: {e}"))?;
    if size.as_u64() == 0 {
        return Err(format!("`{s}` must be larger than zero"));
    }
    Ok(size.as_u64())
}

fn parse_fail_mode(s: &str) -> Result<FailMode, String> {
    s.parse()
        .map_err(|e: edge_ratelimit::ConfigError| e.to_string())
}

fn parse_secret(s: &str) -> Result<String, String> {
    if s.len() < 32 {
        return Err(format!(
            "the JWT secret must be at least 32 bytes (got {})",
            s.len()
        ));
    }
    Ok(s.to_owned())
}

fn parse_username(s: &str) -> Result<String, String> {
    let s = s.trim();
    let valid = (3..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !valid {
        return Err(format!(
            "`{s}` is not a valid username (3-32 of A-Z a-z 0-9 _ . -)"
        ));
    }
    Ok(s.to_owned())
}

fn parse_network(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is not an IP address or CIDR network"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("reference-api").chain(args.iter().copied()))
    }

    #[test]
    fn shared_connections_leave_the_pool_room_for_writes() {
        let shared = |args: &[&str]| parse(args).unwrap().shared_connections();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(
            shared(&[]),
            cores.min(8),
            "default: one per core, half of 16"
        );
        assert_eq!(shared(&["--db-pool-size", "2"]), 1);
        assert_eq!(shared(&["--db-pool-size", "1"]), 0);
        assert_eq!(shared(&["--db-shared-connections", "3"]), 3);
        assert_eq!(
            shared(&["--db-pool-size", "4", "--db-shared-connections", "9"]),
            3,
            "never the whole pool"
        );
        assert_eq!(shared(&["--db-shared-connections", "0"]), 0);
    }

    #[test]
    fn defaults_match_the_spec() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.jwt_issuer, "edge");
        assert_eq!(config.access_ttl, Duration::from_secs(15 * 60));
        assert_eq!(config.refresh_ttl, Duration::from_secs(30 * 86400));
        assert_eq!(config.max_body, 1024 * 1024);
        assert_eq!(
            config.security_log_path(),
            PathBuf::from("./.edge-data/security.log")
        );
    }

    #[test]
    fn parses_rates_lists_and_sizes() {
        let config = parse(&[
            "--rate-limit-ip",
            "10/1s",
            "--trusted-proxies",
            "10.0.0.0/8,127.0.0.1",
            "--max-body",
            "64KiB",
        ])
        .unwrap();
        assert_eq!(config.rate_limit_ip.limit(), 10);
        assert_eq!(config.rate_limit_ip.period(), Duration::from_secs(1));
        assert_eq!(config.trusted_proxies.len(), 2);
        assert_eq!(config.max_body, 64 * 1024);
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let config = parse(&[
            "--jwt-secret",
            "a jwt secret of at least thirty-two bytes",
            "--database-url",
            "postgres://edge:pg-password@db:5432/edge?sslmode=require&password=other-secret",
            "--redis-url",
            "redis://:redis-password@cache:6379/0",
        ])
        .unwrap();
        let debug = format!("{config:?}");
        for secret in [
            "thirty-two",
            "pg-password",
            "other-secret",
            "redis-password",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(
            debug.contains("postgres://edge:[redacted]@db:5432/edge"),
            "{debug}"
        );
        assert!(
            debug.contains("redis://:[redacted]@cache:6379/0"),
            "{debug}"
        );
    }

    #[test]
    fn admin_users_is_refused_with_a_pointer_to_grant_admin() {
        let config = parse(&["--admin-users", "root"]).unwrap();
        assert!(config.check().unwrap_err().contains("grant-admin"));
        assert!(parse(&["--admin-users", ""]).unwrap().check().is_ok());
        assert!(parse(&[]).unwrap().check().is_ok());
        let grant = parse(&["grant-admin", "alice"]).unwrap();
        assert!(
            matches!(grant.command, Some(Command::GrantAdmin { username }) if username == "alice")
        );
    }

    #[test]
    fn security_defaults() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.client_ip_header.name(), "x-forwarded-for");
        assert_eq!(config.rate_limit_fail_mode, FailMode::Local);
        assert_eq!(config.rate_limit_login_fail_mode, FailMode::Closed);
        assert_eq!(config.rate_limit_ipv6_prefix, 64);
        assert!(config.password_hashes() >= 1);
        let header = parse(&["--client-ip-header", "Forwarded"]).unwrap();
        assert_eq!(header.client_ip_header.name(), "forwarded");
    }

    #[test]
    fn rejects_bad_values() {
        for args in [
            &["--rate-limit-ip", "0/1m"][..],
            &["--rate-limit-ip", "10"],
            &["--access-ttl", "soon"],
            &["--max-body", "0"],
            &["--jwt-secret", "short"],
            &["--rate-limit-fail-mode", "sometimes"],
            &["--rate-limit-ipv6-prefix", "129"],
            &["--client-ip-header", "not a header"],
            &["--body-timeout", "0s"],
            &["grant-admin", "a"],
            &["--trusted-proxies", "not-an-ip"],
            &["--listen", "nowhere"],
            &["--no-such-flag"],
        ] {
            assert!(parse(args).is_err(), "{args:?} was accepted");
        }
    }
}
