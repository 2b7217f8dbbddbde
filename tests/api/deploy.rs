//! The container deployment: the compose file validates with Debian's
//! `docker-compose` (no container engine runs here), and the Dockerfile and
//! compose file keep the properties the deployment relies on.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compose(args: &[&str]) -> String {
    let output = Command::new("docker-compose")
        .current_dir(root())
        .args(["-f", "docker-compose.yml"])
        .args(args)
        .env_remove("JWT_SECRET")
        .env_remove("POSTGRES_PASSWORD")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run docker-compose ({e}); install it with scripts/ensure-deps.sh compose \
                 (Debian package docker-compose)"
            )
        });
    assert!(
        output.status.success(),
        "docker-compose {args:?} rejected the compose file:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_compose_file_validates_and_wires_the_stack() {
    let mut services: Vec<String> = compose(&["config", "--services"])
        .lines()
        .map(str::to_owned)
        .collect();
    services.sort();
    assert_eq!(services, ["api", "lb", "postgres", "redis"]);

    let resolved = compose(&["config"]);
    for expected in [
        "DATABASE_URL: postgres://edge:edge@postgres:5432/edge",
        "REDIS_URL: redis://redis:6379",
        "condition: service_healthy",
        "restart: unless-stopped",
        "/healthz",
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
}
