//! The API against its own OpenAPI document. The served document must pass
//! `openapi-spec-validator` (what client generators validate imports with); then
//! Schemathesis generates requests from it — valid,
//! invalid, and stateful sequences that follow the document's links — and
//! checks every answer against the document: status, content type, headers,
//! body schema, and that invalid data is refused and valid data accepted. Both
//! tools are pinned, and run from their own virtual environment by
//! `scripts/pytools.sh`.
//!
//! Every check runs: `--checks all` is said in `schemathesis.toml` next to this
//! file (`[checks] enabled = true`), because on the command line it would
//! override the per-operation settings there. Those are deliberate, each with
//! its reason in the file: 412 is an accepted answer to a valid `If-Match` on
//! `replaceResource`/`deleteResource`; 400 to a well-shaped `cursor` the API
//! did not issue on `listResources`/`getAuditTrail`; `use_after_free` is off for
//! `getAuditTrail` only (the trail outlives its resource on purpose). The limits
//! are raised so that the run tests the API rather than its rate limiter, whose
//! 429s are tested in ratelimit.rs.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::Api;

/// How long Schemathesis may run (every phase shares it).
const BUDGET_SECONDS: &str = "100";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_does_what_its_openapi_document_says() {
    let mut flags = crate::support::NO_RATE_LIMITS.to_vec();
    flags.extend([
        // Stateful runs register and log in often; a hashing slot is waited for
        // rather than answered with 503.
        "--password-hash-wait",
        "60s",
        "--cache-status-header",
    ]);
    let api = Api::with_accounts(&flags).await;
    let user = api.client().user("schemathesis").await;
    let document = reqwest::get(api.url("/openapi.json"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let saved = std::env::temp_dir().join(format!("edge-openapi-{}.json", std::process::id()));
    std::fs::write(&saved, &document).unwrap();
    let validated = pytools(&["openapi-spec-validator", saved.to_str().unwrap()]).await;
    let _ = std::fs::remove_file(&saved);
    assert!(
        validated.status.success(),
        "the document is not valid OpenAPI:\n{}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );

    let config = root().join("tests/api/schemathesis.toml");
    let authorization = format!("Authorization: Bearer {}", user.token);
    let output = pytools(&[
        "schemathesis",
        "--config-file",
        config.to_str().unwrap(),
        "--no-color",
        "run",
        &api.url("/openapi.json"),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-time",
        BUDGET_SECONDS,
        "--header",
        &authorization,
        "--request-timeout",
        "30",
    ])
    .await;
    let report = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "Schemathesis found the API and its document disagree ({}):\n{report}\n{errors}\n\
         API log:\n{}",
        output.status,
        api.log()
    );
    // A run that tested nothing would also succeed: make sure it did not.
    assert!(report.contains("Stateful"), "{report}");
    let generated: u64 = report
        .lines()
        .find_map(|line| {
            let (count, _) = line.trim().split_once(" generated")?;
            count.parse().ok()
        })
        .unwrap_or(0);
    assert!(generated > 0, "no test case was generated:\n{report}");
}

/// Run `scripts/pytools.sh` with `args`, off the async runtime.
async fn pytools(args: &[&str]) -> Output {
    let mut command = Command::new("bash");
    command.arg(root().join("scripts/pytools.sh")).args(args);
    tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("cannot run scripts/pytools.sh")
}
