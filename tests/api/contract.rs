//! The API against its own OpenAPI document: Schemathesis (pinned, from
//! `scripts/schemathesis.sh`) generates requests from `/openapi.json` — valid,
//! invalid, and stateful sequences that follow the document's links — and
//! checks every answer against the document: status, content type, headers,
//! body schema, and that invalid data is refused and valid data accepted.
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
use std::process::Command;

use crate::support::Api;

/// How long Schemathesis may run (every phase shares it).
const BUDGET_SECONDS: &str = "100";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_does_what_its_openapi_document_says() {
    let unlimited = "1000000/1m";
    let api = Api::with_accounts(&[
        "--rate-limit-ip",
        unlimited,
        "--rate-limit-user",
        unlimited,
        "--rate-limit-read",
        unlimited,
        "--rate-limit-write",
        unlimited,
        "--rate-limit-login",
        unlimited,
        "--rate-limit-register",
        unlimited,
        // Stateful runs register and log in often; a hashing slot is waited for
        // rather than answered with 503.
        "--password-hash-wait",
        "60s",
        "--cache-status-header",
    ])
    .await;
    let user = api.client().user("schemathesis").await;
    let url = api.url("/openapi.json");
    let root = root();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(root.join("scripts/schemathesis.sh"))
            .arg("--config-file")
            .arg(root.join("tests/api/schemathesis.toml"))
            .args(["--no-color", "run", &url])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--max-time", BUDGET_SECONDS])
            .args(["--header", &format!("Authorization: Bearer {}", user.token)])
            .args(["--request-timeout", "30"])
            .output()
            .expect("cannot run scripts/schemathesis.sh")
    })
    .await
    .unwrap();
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
    assert!(!report.contains("0 generated"), "{report}");
}
