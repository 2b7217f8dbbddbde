//! Live reconfiguration: the mode and the rules swapped while requests flow;
//! a request whose head was checked finishes (its body too) under the rules
//! it started with.

use std::time::{Duration, Instant};

use edge_filter::{
    AfterHead, BodyHint, Filter, Inspector, KnownSender, Mode, Rejection, RequestContext, RuleSet,
    SecurityLog,
};

const SQLI: &str = "1' OR '1'='1";

static SENDER: KnownSender<'static> = KnownSender {
    request_id: "r-1",
    client_ip: None,
    trace: None,
};

fn context(path: &str) -> RequestContext<'_> {
    RequestContext {
        sender: &SENDER,
        method: "POST",
        path,
    }
}

fn blocked(result: &Result<(), Rejection>) -> bool {
    matches!(result, Err(Rejection::Blocked(_)))
}

fn body() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "name": SQLI })).unwrap()
}

#[test]
fn detect_only_lets_a_finding_through_and_still_logs_it() {
    let dir = std::env::temp_dir().join(format!("edge-filter-reconfigure-{}", std::process::id()));
    let path = dir.join("security.log");
    let filter = Filter::builder()
        .security_log(SecurityLog::open(&path, 0, 100).unwrap())
        .build()
        .unwrap();
    assert!(blocked(
        &filter.check_json_body(&context("/items"), &body())
    ));

    filter.reconfigure(filter.inspector(), Mode::DetectOnly);
    assert_eq!(filter.mode(), Mode::DetectOnly);
    assert!(filter.check_json_body(&context("/items"), &body()).is_ok());
    // Both findings are in the security log, the second as detected only.
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        if log.lines().count() >= 2 || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let actions: Vec<String> = log
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["action"].to_string())
        .collect();
    assert_eq!(actions, ["\"blocked\"", "\"detected\""], "{log}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_rule_switched_off_by_id_stops_matching() {
    let filter = Filter::builder().build().unwrap();
    let finding = match filter.check_json_body(&context("/items"), &body()) {
        Err(Rejection::Blocked(finding)) => finding,
        other => panic!("{other:?}"),
    };
    let off = RuleSet::defaults_with(&[finding.rule_id.as_str()], Vec::new()).unwrap();
    filter.reconfigure(Inspector::new(off), Mode::Block);
    // Another rule may still see it; the one switched off no longer does.
    match filter.check_json_body(&context("/items"), &body()) {
        Err(Rejection::Blocked(other)) => assert_ne!(other.rule_id, finding.rule_id),
        Ok(()) => {}
        Err(other) => panic!("{other:?}"),
    }
    // An unknown id is refused when the rules are made: nothing changes.
    assert!(RuleSet::defaults_with(&["no-such-rule"], Vec::new()).is_err());
    assert_eq!(filter.mode(), Mode::Block);
}

#[test]
fn a_body_is_checked_under_the_rules_its_head_was_checked_under() {
    let filter = Filter::builder().build().unwrap();
    let no_headers = std::iter::empty::<(&str, &[u8])>();
    let head = filter.check_request(&context("/items"), "", no_headers, BodyHint::Unknown);
    let Ok(AfterHead::ReadBody(pinned)) = head else {
        panic!("{head:?}");
    };
    // Reconfigured while the body arrives: this request is still blocked...
    filter.reconfigure(filter.inspector(), Mode::DetectOnly);
    let content_type = Some("application/json");
    assert!(blocked(&pinned.check_request_body(
        &context("/items"),
        content_type,
        &body()
    )));
    // ...and the next one is not.
    assert!(
        filter
            .check_request_body(&context("/items"), content_type, &body())
            .is_ok()
    );
    assert_eq!(pinned.mode(), Mode::Block);
}
