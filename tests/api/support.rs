//! Starting the `reference-api` binary and talking to it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use edge_test_support::harness;

/// Environment variables the binary reads; cleared so the host's settings never leak in.
const CONFIG_ENV: &[&str] = &[
    "EDGE_LISTEN",
    "EDGE_WORKERS",
    "EDGE_DATA_DIR",
    "DATABASE_URL",
    "DB_POOL_SIZE",
    "DB_SHARED_CONNECTIONS",
    "REDIS_URL",
    "JWT_SECRET",
    "JWT_ISSUER",
    "ACCESS_TTL",
    "REFRESH_TTL",
    "RATE_LIMIT_IP",
    "RATE_LIMIT_USER",
    "RATE_LIMIT_READ",
    "RATE_LIMIT_WRITE",
    "RATE_LIMIT_LOGIN",
    "RATE_LIMIT_REGISTER",
    "RATE_LIMIT_FAIL_MODE",
    "RATE_LIMIT_LOGIN_FAIL_MODE",
    "RATE_LIMIT_IPV6_PREFIX",
    "CLIENT_IP_HEADER",
    "BODY_TIMEOUT",
    "PASSWORD_HASHES",
    "PASSWORD_HASH_WAIT",
    "DB_STATEMENT_TIMEOUT",
    "SESSION_TTL",
    "CACHE_STATUS_HEADER",
    "CACHE_TTL",
    "MAX_BODY",
    "SECURITY_LOG",
    "SETTINGS_FILE",
    "ADMIN_USERS",
    "TRUSTED_PROXIES",
    "METRICS_ALLOW",
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
    /// Where the process's stdout (the access log) goes.
    stdout: PathBuf,
    /// The data directory when the test did not choose one (never the source tree).
    _scratch: Option<ScratchDir>,
    /// `--database-url`, when the test gave one (operator commands use it).
    database_url: Option<String>,
}

impl Api {
    /// Start the binary with `args` (plus `--listen` on a free port) and wait until it answers.
    pub(crate) async fn start(args: &[&str]) -> Api {
        let port = edge_test_support::free_port().unwrap();
        let stderr =
            std::env::temp_dir().join(format!("{}.log", harness::unique_name("edge-api-stderr")));
        let stdout =
            std::env::temp_dir().join(format!("{}.log", harness::unique_name("edge-api-stdout")));
        let scratch = (!args.contains(&"--data-dir")).then(ScratchDir::new);
        let mut command = binary();
        command.args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ]);
        if let Some(dir) = &scratch {
            command.arg("--data-dir").arg(dir.path());
        }
        // Tests register many accounts from one address; the registration limit
        // is tested on its own (ratelimit.rs).
        if !args.contains(&"--rate-limit-register") {
            command.args(["--rate-limit-register", "100000/1m"]);
        }
        let child = command
            .args(args)
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut api = Api {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            stderr,
            stdout,
            _scratch: scratch,
            database_url: args
                .iter()
                .position(|a| *a == "--database-url")
                .and_then(|i| args.get(i + 1))
                .map(|url| (*url).to_owned()),
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

    /// Two instances on one fresh database and one private Redis, with the test
    /// JWT secret (so a token from one is valid on the other), plus `extra` flags.
    /// The Redis server lives as long as the returned pair.
    pub(crate) async fn pair_on_redis(
        extra: &[&str],
    ) -> (Api, Api, edge_test_support::redis::RedisServer) {
        let redis = harness::private_redis();
        let (a, b) = Api::pair_on(&redis.url(), extra).await;
        (a, b, redis)
    }

    /// Two instances as [`Api::pair_on_redis`], on a private Redis Cluster
    /// (3 masters, 3 replicas) given as its comma-separated seed URLs.
    pub(crate) async fn pair_on_redis_cluster(
        extra: &[&str],
    ) -> (Api, Api, edge_test_support::redis::RedisCluster) {
        let cluster = harness::redis_cluster();
        let (a, b) = Api::pair_on(&cluster.url(), extra).await;
        (a, b, cluster)
    }

    async fn pair_on(redis_url: &str, extra: &[&str]) -> (Api, Api) {
        let database = harness::fresh_database().await;
        let mut args = vec![
            "--database-url",
            &database.url,
            "--redis-url",
            redis_url,
            "--jwt-secret",
            JWT_SECRET,
        ];
        args.extend_from_slice(extra);
        (Api::start(&args).await, Api::start(&args).await)
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

    /// Run the operator command `args` (e.g. `grant-admin alice`) against this
    /// API's database; returns its exit status and output.
    pub(crate) fn operator(&self, args: &[&str]) -> std::process::Output {
        let url = self
            .database_url
            .as_deref()
            .expect("operator commands need an API started with --database-url");
        binary()
            .args(["--database-url", url])
            .args(args)
            .output()
            .unwrap()
    }

    /// `--database-url`, when the test gave one.
    pub(crate) fn database_url(&self) -> Option<String> {
        self.database_url.clone()
    }

    /// Register `name`, make it an admin as an operator would, and log in.
    pub(crate) async fn admin(&self, name: &str) -> User {
        let client = self.client();
        client.user(name).await;
        let granted = self.operator(&["grant-admin", name]);
        assert!(granted.status.success(), "{granted:?}");
        let login = client.login(name, "correct horse battery").await;
        assert_eq!(login.status(), 200);
        let pair: serde_json::Value = login.json().await.unwrap();
        let me: serde_json::Value = client
            .request(
                reqwest::Method::GET,
                "/api/auth/me",
                pair["access_token"].as_str(),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        User {
            id: me["id"].as_i64().unwrap(),
            token: pair["access_token"].as_str().unwrap().to_owned(),
            refresh: pair["refresh_token"].as_str().unwrap().to_owned(),
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

    /// The access-log lines written so far (stdout), parsed.
    pub(crate) fn access_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.stdout)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("stdout holds a non-JSON line ({e}): {line}"))
            })
            .collect()
    }

    /// The access line of the request with this `X-Request-Id`, waiting (up to
    /// 5 s) for the writer thread to write it.
    pub(crate) async fn access_line(&self, request_id: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = self.access_lines();
            let mut found = lines.iter().filter(|l| l["request_id"] == request_id);
            if let Some(line) = found.next() {
                assert!(found.next().is_none(), "two lines for {request_id}");
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no access line for {request_id} in:\n{lines:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Send SIGTERM and wait for the process to exit.
    pub(crate) fn terminate(self) -> ExitStatus {
        self.signal("TERM");
        self.wait()
    }

    /// Send the signal `name` (e.g. `TERM`, `INT`) without waiting.
    pub(crate) fn signal(&self, name: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for the process to exit.
    pub(crate) fn wait(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "reference-api did not exit");
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
        let _ = std::fs::remove_file(&self.stdout);
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

/// Flags that lift every rate limit, for tests about something else that send
/// many requests from one address (the limits are tested in ratelimit.rs).
pub(crate) const NO_RATE_LIMITS: &[&str] = &[
    "--rate-limit-ip",
    "1000000/1m",
    "--rate-limit-user",
    "1000000/1m",
    "--rate-limit-read",
    "1000000/1m",
    "--rate-limit-write",
    "1000000/1m",
    "--rate-limit-login",
    "1000000/1m",
    "--rate-limit-register",
    "1000000/1m",
];

/// The JWT secret the API under test signs with, so tests can craft tokens.
pub(crate) const JWT_SECRET: &str = "black-box test secret, at least 32 bytes long";

impl Api {
    /// Start the binary on a fresh database with a known JWT secret.
    pub(crate) async fn with_accounts(extra: &[&str]) -> Api {
        let mut args = vec!["--jwt-secret", JWT_SECRET];
        args.extend_from_slice(extra);
        Api::with_fresh_database(&args).await
    }

    /// An HTTP client for this API.
    pub(crate) fn client(&self) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: self.base.clone(),
        }
    }
}

/// A registered, logged-in account.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: i64,
    pub(crate) token: String,
    pub(crate) refresh: String,
}

/// Requests against one API.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    base: String,
}

impl Client {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with an optional bearer token.
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub(crate) async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.request(reqwest::Method::POST, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn register(&self, username: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/register",
            None,
            &serde_json::json!({"username": username, "password": password}),
        )
        .await
    }

    pub(crate) async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/login",
            None,
            &serde_json::json!({"username": username, "password": password}),
        )
        .await
    }

    /// Register `name` (password `correct horse battery`) and log in.
    pub(crate) async fn user(&self, name: &str) -> User {
        let registered = self.register(name, "correct horse battery").await;
        assert_eq!(
            registered.status(),
            201,
            "{}",
            registered.text().await.unwrap()
        );
        let account: serde_json::Value = registered.json().await.unwrap();
        let login = self.login(name, "correct horse battery").await;
        assert_eq!(login.status(), 200);
        let pair: serde_json::Value = login.json().await.unwrap();
        User {
            id: account["id"].as_i64().unwrap(),
            token: pair["access_token"].as_str().unwrap().to_owned(),
            refresh: pair["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Create a resource named `name` as `user`; returns its JSON.
    pub(crate) async fn create(&self, user: &User, name: &str) -> serde_json::Value {
        let response = self
            .post_json(
                "/api/resources",
                Some(&user.token),
                &serde_json::json!({"name": name}),
            )
            .await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }
}

/// Assert `response` is a problem with `status` and `code`; returns its body.
pub(crate) async fn expect_problem(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    let actual = response.status().as_u16();
    let content_type = response.headers().get("content-type").cloned();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert_eq!(actual, status, "{body}");
    assert_eq!(content_type.unwrap(), "application/problem+json");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(
        body["request_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{body}"
    );
    body
}
