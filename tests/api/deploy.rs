//! The container deployment: the compose file validates with Debian's
//! `docker-compose` (no container engine runs here), and the Dockerfile and
//! compose file keep the properties the deployment relies on.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The secrets compose needs, each with a test value.
const SECRETS: [(&str, &str); 4] = [
    ("POSTGRES_PASSWORD", "pg-test-password"),
    ("EDGE_DB_PASSWORD", "edge-test-password"),
    ("REDIS_PASSWORD", "redis-test-password"),
    ("GRAFANA_ADMIN_PASSWORD", "grafana-test-password"),
];

fn compose(args: &[&str]) -> String {
    let output = compose_with(args, &SECRETS);
    assert!(
        output.status.success(),
        "docker-compose {args:?} rejected the compose file:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `docker-compose ARGS` with only `secrets` set (none from the host).
fn compose_with(args: &[&str], secrets: &[(&str, &str)]) -> std::process::Output {
    // An empty env file, so a developer's own .env never decides the outcome.
    let empty = std::env::temp_dir().join("edge-compose-test.env");
    std::fs::write(&empty, "").unwrap();
    let mut command = Command::new("docker-compose");
    command
        .current_dir(root())
        .args(["-f", "docker-compose.yml", "--env-file"])
        .arg(&empty)
        .args(args)
        .env_remove("JWT_SECRET");
    for (name, _) in SECRETS {
        command.env_remove(name);
    }
    command.envs(secrets.iter().copied());
    command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run docker-compose ({e}); install it with scripts/ensure-deps.sh compose \
                 (Debian package docker-compose)"
        )
    })
}

#[test]
fn the_compose_file_validates_and_wires_the_stack() {
    let mut services: Vec<String> = compose(&["config", "--services"])
        .lines()
        .map(str::to_owned)
        .collect();
    services.sort();
    assert_eq!(
        services,
        ["api", "grafana", "lb", "postgres", "prometheus", "redis"]
    );

    let resolved = compose(&["config"]);
    for expected in [
        "DATABASE_URL: postgres://edge:edge-test-password@postgres:5432/edge",
        "REDIS_URL: redis://:redis-test-password@redis:6379",
        "CLIENT_IP_HEADER: X-Forwarded-For",
        "TRUSTED_PROXIES: 172.28.0.10",
        "ipv4_address: 172.28.0.10",
        "127.0.0.1:8080",
        "postgres-init.sh",
        "condition: service_healthy",
        "restart: unless-stopped",
        "/readyz",
        "pg_isready",
        "redis-cli",
        "nginx.conf",
    ] {
        assert!(
            resolved.contains(expected),
            "`{expected}` missing from:\n{resolved}"
        );
    }
    // The API is reached only through the load balancer, so it can scale.
    let api = resolved.split("\n  lb:").next().unwrap();
    let api = &api[api.find("\n  api:").unwrap()..];
    assert!(
        !api.contains("published"),
        "the api service publishes a port:\n{api}"
    );
}

#[test]
fn the_monitoring_profile_scrapes_every_instance_into_a_provisioned_dashboard() {
    let resolved = compose(&["--profile", "monitoring", "config"]);
    // A service's block: its line (two spaces in) and the deeper lines after it.
    let service = |name: &str| {
        let header = format!("  {name}:");
        let mut lines = resolved.lines().skip_while(|l| *l != header);
        assert!(lines.next().is_some(), "no {name} service");
        lines
            .take_while(|l| l.starts_with("   ") || l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    for name in ["prometheus", "grafana"] {
        let block = service(name);
        assert!(
            block.contains("profiles:") && block.contains("- monitoring"),
            "{block}"
        );
        assert!(
            block.contains("127.0.0.1:"),
            "{name} is published on loopback only: {block}"
        );
    }
    // Prometheus has the one address the API lets read /metrics.
    assert!(service("prometheus").contains("ipv4_address: 172.28.0.20"));
    assert!(service("api").contains("METRICS_ALLOW: 172.28.0.20"));
    assert!(service("grafana").contains("GF_SECURITY_ADMIN_PASSWORD: grafana-test-password"));
    // Every replica is a target: Prometheus resolves the service name's A records.
    let prometheus = std::fs::read_to_string(root().join("deploy/prometheus.yml")).unwrap();
    assert!(prometheus.contains("dns_sd_configs") && prometheus.contains("names: [api]"));
    assert!(prometheus.contains("metrics_path: /metrics") && prometheus.contains("port: 8080"));
    let provisioning = root().join("deploy/grafana/provisioning");
    assert!(provisioning.join("datasources/prometheus.yml").is_file());
    assert!(provisioning.join("dashboards/edge.yml").is_file());
}

#[test]
fn no_secret_has_a_literal_default_and_compose_refuses_to_start_without_them() {
    let file = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    // A `${NAME:-default}` or a literal value for anything secret is a default
    // every deployment shares.
    for line in file.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        let upper = line.to_ascii_uppercase();
        let secretive = ["SECRET", "PASSWORD", "TOKEN", "_KEY"]
            .iter()
            .any(|word| upper.contains(word));
        if !secretive {
            continue;
        }
        assert!(
            !line.contains(":-") && !line.contains("-}"),
            "a default for a secret: {line}"
        );
        // A secret-named key with a value that interpolates nothing is a literal.
        if let Some((key, value)) = line.split_once(": ") {
            let key = key.to_ascii_uppercase();
            let literal = !value.trim().is_empty() && !value.contains('$');
            let secret_key = ["PASSWORD", "SECRET"].iter().any(|w| key.contains(w));
            assert!(!(literal && secret_key), "a literal secret: {line}");
        }
    }
    assert!(
        !file.contains("JWT_SECRET: $") && !file.contains("JWT_SECRET: \""),
        "JWT_SECRET is passed through, never given a value here"
    );
    // Without the passwords, compose stops with a message naming the missing one.
    for (missing, _) in SECRETS {
        let others: Vec<_> = SECRETS
            .iter()
            .copied()
            .filter(|(n, _)| *n != missing)
            .collect();
        let output = compose_with(&["config"], &others);
        assert!(
            !output.status.success(),
            "compose started without {missing}"
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(&format!("set {missing}")),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let ignored = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    assert!(
        ignored.lines().any(|l| l.trim() == ".env"),
        "the image build must not see .env"
    );
}

#[test]
fn the_image_is_multi_stage_and_runs_as_a_non_root_user() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert_eq!(
        dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")),
        2
    );
    assert!(dockerfile.contains("AS build"));
    assert!(dockerfile.contains("COPY --from=build"));
    assert!(dockerfile.contains("\nUSER edge\n"));
    assert!(dockerfile.contains("HEALTHCHECK"));
    assert!(dockerfile.contains("cargo build --release --locked -p reference-api"));
    let nginx = std::fs::read_to_string(root().join("deploy/nginx.conf")).unwrap();
    assert!(
        nginx.contains("server api:8080 resolve"),
        "the balancer follows scaling"
    );
    // The one client-IP header is appended to; client-sent alternatives removed.
    for directive in [
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header Forwarded \"\";",
        "proxy_set_header X-Real-IP \"\";",
    ] {
        assert!(nginx.contains(directive), "nginx.conf lacks {directive}");
    }
    let init = std::fs::read_to_string(root().join("deploy/postgres-init.sh")).unwrap();
    assert!(init.contains("NOSUPERUSER NOCREATEDB NOCREATEROLE"));
}

/// The crates published to crates.io.
const PUBLISHED: [&str; 7] = [
    "edge-core",
    "edge-auth",
    "edge-db",
    "edge-log",
    "edge-ratelimit",
    "edge-filter",
    "edge-cache",
];

/// Every published crate ships both licenses of its `MIT OR Apache-2.0`
/// declaration (the files are links to the root's, which cargo packages by content).
#[test]
fn every_published_crate_carries_both_licenses() {
    let root = root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("license = \"MIT OR Apache-2.0\""));
    for license in ["LICENSE-MIT", "LICENSE-APACHE"] {
        let text = std::fs::read_to_string(root.join(license)).unwrap();
        assert!(text.contains("The Edge contributors"), "{license}");
        for krate in PUBLISHED {
            let shipped = std::fs::read_to_string(root.join(krate).join(license))
                .unwrap_or_else(|e| panic!("{krate}/{license}: {e}"));
            assert_eq!(shipped, text, "{krate}/{license}");
        }
    }
}

/// What `cargo package` would ship of a crate, as paths inside it.
fn packaged_files(krate: &str) -> Vec<String> {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "package",
            "--list",
            "--allow-dirty",
            "--offline",
            "-p",
            krate,
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo package --list -p {krate}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A packaged crate builds its tests, benches and examples without the
/// workspace's unpublished harness (cargo drops a path dependency without a
/// version from the package): the crates whose tests start servers through it
/// leave those tests out.
#[test]
fn packaged_crates_ship_no_target_that_needs_the_unpublished_harness() {
    let root = root();
    for krate in PUBLISHED {
        let files = packaged_files(krate);
        assert!(
            files.iter().any(|f| f == "src/lib.rs"),
            "{krate}: {files:?}"
        );
        for file in files.iter().filter(|f| f.ends_with(".rs")) {
            let text = std::fs::read_to_string(root.join(krate).join(file)).unwrap_or_default();
            assert!(
                !text.contains("edge_test_support"),
                "{krate} would ship {file}, which needs the unpublished edge-test-support"
            );
        }
    }
}

/// The declared MSRV is a real one: no locked dependency needs a newer Rust
/// (clippy's `incompatible_msrv`, denied in CI, holds our own code to it).
#[test]
fn no_dependency_needs_a_newer_rust_than_the_declared_msrv() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let msrv = manifest
        .lines()
        .find_map(|line| line.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_owned())
        .expect("a workspace rust-version");
    let version = |text: &str| -> Vec<u64> {
        text.split('.')
            .map(|part| part.parse().unwrap_or(0))
            .collect()
    };
    // The dependencies of this machine's target (the others are not downloaded).
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .unwrap();
    let host = String::from_utf8(rustc.stdout)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc names its host");
    let output = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let too_new: Vec<String> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|package| {
            let needs = package["rust_version"].as_str()?;
            (version(needs) > version(&msrv))
                .then(|| format!("{} {} needs {needs}", package["name"], package["version"]))
        })
        .collect();
    assert!(too_new.is_empty(), "MSRV {msrv}, but: {too_new:#?}");
}
