//! Live reconfiguration: policies swapped whole while requests flow, counts
//! kept by policy name, invalid settings refused whole.

mod common;

use std::time::Duration;

use common::{allowed, policy};
use edge_ratelimit::{
    ConfigError, KeyKind, ManualClock, Policy, RateLimiter, RequestInfo, Verdict,
};

const START: u64 = 1_800_000_000_000;

fn request(subject: Option<&str>) -> RequestInfo<'_> {
    RequestInfo {
        method: "GET",
        path: "/items",
        peer: Some("192.0.2.1".parse().unwrap()),
        subject,
        ..RequestInfo::default()
    }
}

fn limiter(policies: impl IntoIterator<Item = Policy>) -> (RateLimiter, ManualClock) {
    let clock = ManualClock::new(START);
    let limiter = policies
        .into_iter()
        .fold(RateLimiter::builder(), |b, p| b.policy(p))
        .clock(clock.clone())
        .build()
        .unwrap();
    (limiter, clock)
}

#[tokio::test]
async fn a_tighter_limit_applies_at_once_to_the_current_window() {
    let (limiter, _) = limiter([policy("ip", "10/1m", KeyKind::ClientIp)]);
    assert_eq!(allowed(&limiter, &request(None), 5).await, 5);
    limiter
        .reconfigure([policy("ip", "6/1m", KeyKind::ClientIp)])
        .unwrap();
    // The five already counted still count: one more, then refused.
    assert_eq!(allowed(&limiter, &request(None), 5).await, 1);
    // A looser one gives the room back at once, as the counts stand.
    limiter
        .reconfigure([policy("ip", "8/1m", KeyKind::ClientIp)])
        .unwrap();
    assert_eq!(allowed(&limiter, &request(None), 5).await, 2);
}

#[tokio::test]
async fn a_longer_window_never_frees_what_was_counted() {
    let (limiter, clock) = limiter([policy("ip", "4/1s", KeyKind::ClientIp)]);
    assert_eq!(allowed(&limiter, &request(None), 4).await, 4);
    limiter
        .reconfigure([policy("ip", "6/1m", KeyKind::ClientIp)])
        .unwrap();
    clock.advance(Duration::from_millis(100));
    assert_eq!(allowed(&limiter, &request(None), 5).await, 2);
}

#[tokio::test]
async fn a_removed_policy_stops_and_an_added_one_starts_empty() {
    let (limiter, _) = limiter([
        policy("ip", "3/1m", KeyKind::ClientIp),
        policy("user", "100/1m", KeyKind::Subject),
    ]);
    let alice = request(Some("alice"));
    assert_eq!(allowed(&limiter, &alice, 5).await, 3);
    limiter
        .reconfigure([
            policy("user", "100/1m", KeyKind::Subject),
            policy("burst", "2/1s", KeyKind::Subject),
        ])
        .unwrap();
    // No IP limit any more; the new burst limit starts empty (the user
    // policy kept its count: 3 of 100 used).
    let Verdict::Allowed(state) = limiter.check(&alice).await else {
        panic!("the removed IP limit still refuses");
    };
    assert_eq!((&*state.policy, state.remaining), ("burst", 1));
    assert_eq!(allowed(&limiter, &alice, 3).await, 1);
    let names: Vec<String> = limiter
        .policies()
        .iter()
        .map(|p| p.name().to_owned())
        .collect();
    assert_eq!(names, ["user", "burst"]);
}

#[tokio::test]
async fn a_request_checked_before_a_change_is_labelled_as_it_was_checked() {
    let (limiter, _) = limiter([policy("ip", "10/1m", KeyKind::ClientIp)]);
    let verdict = limiter.check(&request(None)).await;
    limiter
        .reconfigure([policy("ip", "3/1m", KeyKind::ClientIp)])
        .unwrap();
    let label = limiter.label(&verdict, None).unwrap();
    let value = |name: &str| {
        let (_, v) = label
            .headers
            .iter()
            .find(|(h, _)| h.as_str() == name)
            .unwrap();
        label
            .header_value(v.clone())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(value("x-ratelimit-limit"), "10");
    assert_eq!(value("x-ratelimit-remaining"), "9");
    assert_eq!(value("ratelimit-policy"), "\"ip\";q=10;w=60");
    // The next request meets the new policy.
    let label = limiter
        .label(&limiter.check(&request(None)).await, None)
        .unwrap();
    let (_, v) = &label.headers[0];
    assert_eq!(label.header_value(v.clone()).unwrap(), "3");
}

#[tokio::test]
async fn invalid_policies_are_refused_whole_and_the_old_stay() {
    let (limiter, _) = limiter([policy("ip", "2/1m", KeyKind::ClientIp)]);
    let twice = [
        policy("ip", "100/1m", KeyKind::ClientIp),
        policy("ip", "100/1m", KeyKind::Subject),
    ];
    assert!(matches!(
        limiter.reconfigure(twice),
        Err(ConfigError::DuplicatePolicy(name)) if name == "ip"
    ));
    assert!(matches!(
        limiter.reconfigure(Vec::new()),
        Err(ConfigError::NoPolicies)
    ));
    assert_eq!(limiter.policies()[0].quota().limit(), 2);
    assert_eq!(allowed(&limiter, &request(None), 5).await, 2);
}

#[test]
fn checks_running_while_policies_change_see_one_set_or_the_other() {
    let (limiter, _) = limiter([policy("ip", "1000000/1m", KeyKind::ClientIp)]);
    let checking: Vec<_> = (0..2)
        .map(|_| {
            let limiter = limiter.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                for _ in 0..20_000 {
                    let Verdict::Allowed(state) = runtime.block_on(limiter.check(&request(None)))
                    else {
                        panic!("refused");
                    };
                    // The limit and name of one configuration, never a mix.
                    assert!(matches!(
                        (&*state.policy, state.limit),
                        ("ip", 1_000_000) | ("ip2", 2_000_000)
                    ));
                }
            })
        })
        .collect();
    for i in 0..2_000 {
        let (name, quota) = if i % 2 == 0 {
            ("ip2", "2000000/1m")
        } else {
            ("ip", "1000000/1m")
        };
        limiter
            .reconfigure([policy(name, quota, KeyKind::ClientIp)])
            .unwrap();
    }
    for thread in checking {
        thread.join().unwrap();
    }
}
