//! Every category is caught in every place an attack can sit: path, query,
//! an inspected header, and a nested JSON value.

use edge_filter::{Category, Filter, Rejection, RequestContext};

const SAMPLES: [(Category, &str); 5] = [
    (
        Category::SqlInjection,
        "1' UNION SELECT password FROM users--",
    ),
    (Category::Xss, "<img src=x onerror=alert(1)>"),
    (Category::PathTraversal, "../../../etc/passwd"),
    (Category::CommandInjection, "x; uname -a"),
    (Category::NullByte, "file%00.png"),
];

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn category(result: Result<(), Rejection>) -> Option<Category> {
    match result {
        Err(Rejection::Blocked(finding)) => Some(finding.category),
        _ => None,
    }
}

#[test]
fn each_category_in_each_location() {
    let filter = Filter::builder().build().unwrap();
    for (expected, payload) in SAMPLES {
        let encoded = encode(payload);
        let path = format!("/files/{encoded}");
        let in_path = RequestContext {
            sender: &edge_filter::KnownSender {
                request_id: "t",
                ..edge_filter::KnownSender::default()
            },
            method: "GET",
            path: &path,
        };
        let plain = RequestContext {
            path: "/files",
            ..in_path
        };
        let no_headers = std::iter::empty::<(&str, &[u8])>();
        let places = [
            (
                "path",
                category(filter.check_head(&in_path, "", no_headers.clone())),
            ),
            (
                "query",
                category(filter.check_head(&plain, &format!("q={encoded}"), no_headers.clone())),
            ),
            (
                "header",
                category(filter.check_head(&plain, "", [("user-agent", payload.as_bytes())])),
            ),
            (
                "nested JSON",
                category(filter.check_json_body(
                    &plain,
                    &serde_json::to_vec(&serde_json::json!({"a": [{"b": payload}]})).unwrap(),
                )),
            ),
        ];
        for (place, found) in places {
            assert!(
                found.is_some(),
                "{expected:?} not caught in the {place}: {payload}"
            );
        }
    }
    let disabled = edge_filter::RuleSet::defaults_with(&["no-such-rule"], Vec::new());
    assert!(
        disabled.is_err(),
        "unknown ids are refused, not silently ignored"
    );
}
