//! Configuration: flags with environment equivalents (SPEC §4).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use clap::{Parser, ValueEnum};
use edge_ratelimit::Quota;
use ipnet::IpNet;

/// The Edge reference API: a CRUD backend behind JWT auth, rate limiting, input
/// filtering, response caching and JSON access logs.
#[derive(Debug, Clone, Parser)]
#[command(version, about)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "EDGE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

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

    /// HMAC secret for access tokens (at least 32 bytes); random per start when unset.
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

    /// Largest accepted request body (e.g. 1MiB, 64KiB).
    #[arg(long, env = "MAX_BODY", default_value = "1MiB", value_parser = parse_size)]
    pub max_body: u64,

    /// Security log file (JSON lines); default <data-dir>/security.log.
    #[arg(long, env = "SECURITY_LOG")]
    pub security_log: Option<PathBuf>,

    /// Whether input-filter findings block requests (`block`) or are only logged (`detect`).
    #[arg(long, env = "FILTER_MODE", value_enum, default_value_t = FilterMode::Block)]
    pub filter_mode: FilterMode,

    /// Comma-separated usernames that get role `admin`.
    #[arg(long, env = "ADMIN_USERS", value_delimiter = ',', value_parser = parse_username)]
    pub admin_users: Vec<String>,

    /// Comma-separated proxies (IPs or CIDRs) whose X-Forwarded-For/Forwarded is trusted.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,

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

    /// Whether `username` is configured as an admin (case-insensitive).
    pub fn is_admin(&self, username: &str) -> bool {
        self.admin_users
            .iter()
            .any(|a| a.eq_ignore_ascii_case(username))
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

fn parse_size(s: &str) -> Result<u64, String> {
    let size: ByteSize = s
        .parse()
        .map_err(|e| format!("`{s}` is not a size such as 1MiB: {e}"))?;
    if size.as_u64() == 0 {
        return Err(format!("`{s}` must be larger than zero"));
    }
    Ok(size.as_u64())
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
            "--admin-users",
            "alice,Bob",
            "--trusted-proxies",
            "10.0.0.0/8,127.0.0.1",
            "--max-body",
            "64KiB",
        ])
        .unwrap();
        assert_eq!(config.rate_limit_ip.limit(), 10);
        assert_eq!(config.rate_limit_ip.period(), Duration::from_secs(1));
        assert!(config.is_admin("bob") && !config.is_admin("carol"));
        assert_eq!(config.trusted_proxies.len(), 2);
        assert_eq!(config.max_body, 64 * 1024);
    }

    #[test]
    fn rejects_bad_values() {
        for args in [
            &["--rate-limit-ip", "0/1m"][..],
            &["--rate-limit-ip", "10"],
            &["--access-ttl", "soon"],
            &["--max-body", "0"],
            &["--jwt-secret", "short"],
            &["--admin-users", "a"],
            &["--trusted-proxies", "not-an-ip"],
            &["--listen", "nowhere"],
            &["--no-such-flag"],
        ] {
            assert!(parse(args).is_err(), "{args:?} was accepted");
        }
    }
}
