//! The limiter without a server: counts, windows, keys, headers, memory bounds.

mod common;

use std::net::IpAddr;

use common::{allowed, policy};
use edge_ratelimit::{KeyKind, ManualClock, RateLimiter, RequestInfo, Scope, Verdict};

const START: u64 = 1_800_000_000_000;

fn request<'a>(method: &'a str, peer: &str, subject: Option<&'a str>) -> RequestInfo<'a> {
    RequestInfo {
        method,
        path: "/items",
        peer: Some(peer.parse().unwrap()),
        subject,
        ..RequestInfo::default()
    }
}

#[tokio::test]
async fn exact_counts_at_the_limit_and_honest_retry_after() {
    let clock = ManualClock::new(START);
    let limiter = RateLimiter::builder()
        .policy(policy("ip", "5/1m", KeyKind::ClientIp))
        .clock(clock.clone())
        .build()
        .unwrap();
    let info = request("GET", "192.0.2.1", None);
    for expected_remaining in (0..5).rev() {
        match limiter.check(&info).await {
            Verdict::Allowed(state) => assert_eq!(state.remaining, expected_remaining),
            other => panic!("{other:?}"),
        }
    }
    let Verdict::Limited {
        retry_after_secs,
        state,
    } = limiter.check(&info).await
    else {
        panic!("6th allowed")
    };
    assert!(retry_after_secs >= 1);
    assert_eq!((state.limit, state.remaining, &*state.policy), (5, 0, "ip"));
    // Just before Retry-After it is still limited; at Retry-After it succeeds.
    clock.advance_ms(retry_after_secs * 1000 - 1000);
    assert!(matches!(
        limiter.check(&info).await,
        Verdict::Limited { .. }
    ));
    clock.advance_ms(1000);
    assert!(
        matches!(limiter.check(&info).await, Verdict::Allowed(_)),
        "a retry after Retry-After failed"
    );
}

#[tokio::test]
async fn no_double_burst_across_a_window_boundary() {
    let clock = ManualClock::new(START - START % 60_000 + 59_000);
    let limiter = RateLimiter::builder()
        .policy(policy("ip", "10/1m", KeyKind::ClientIp))
        .clock(clock.clone())
        .build()
        .unwrap();
    let info = request("GET", "192.0.2.1", None);
    assert_eq!(allowed(&limiter, &info, 20).await, 10);
    clock.advance_ms(2_000); // now just past the boundary
    assert_eq!(
        allowed(&limiter, &info, 20).await,
        0,
        "a second burst right after the boundary"
    );
    clock.advance_ms(120_000);
    assert_eq!(allowed(&limiter, &info, 20).await, 10);
}

#[tokio::test]
async fn per_user_limits_are_independent_and_anonymous_requests_skip_them() {
    let limiter = RateLimiter::builder()
        .policy(policy("user", "3/1m", KeyKind::Subject))
        .clock(ManualClock::new(START))
        .build()
        .unwrap();
    assert_eq!(
        allowed(&limiter, &request("GET", "192.0.2.1", Some("alice")), 10).await,
        3
    );
    assert_eq!(
        allowed(&limiter, &request("GET", "192.0.2.1", Some("bob")), 10).await,
        3
    );
    assert_eq!(
        limiter.check(&request("GET", "192.0.2.1", None)).await,
        Verdict::Unlimited
    );
}

#[tokio::test]
async fn read_and_write_limits_are_independent() {
    let limiter = RateLimiter::builder()
        .policy(policy("reads", "4/1m", KeyKind::SubjectOrIp).scope(Scope::Reads))
        .policy(policy("writes", "2/1m", KeyKind::SubjectOrIp).scope(Scope::Writes))
        .clock(ManualClock::new(START))
        .build()
        .unwrap();
    assert_eq!(
        allowed(&limiter, &request("POST", "192.0.2.1", Some("u")), 5).await,
        2
    );
    assert_eq!(
        allowed(&limiter, &request("GET", "192.0.2.1", Some("u")), 5).await,
        4
    );
    assert_eq!(
        allowed(&limiter, &request("DELETE", "192.0.2.1", Some("u")), 5).await,
        0
    );
}

#[tokio::test]
async fn a_rejected_request_is_counted_by_no_policy() {
    let limiter = RateLimiter::builder()
        .policy(policy("ip", "100/1m", KeyKind::ClientIp))
        .policy(policy("writes", "2/1m", KeyKind::ClientIp).scope(Scope::Writes))
        .clock(ManualClock::new(START))
        .build()
        .unwrap();
    let write = request("POST", "192.0.2.1", None);
    assert_eq!(allowed(&limiter, &write, 10).await, 2);
    let Verdict::Allowed(state) = limiter.check(&request("GET", "192.0.2.1", None)).await else {
        panic!()
    };
    assert_eq!(
        (&*state.policy, state.remaining),
        ("ip", 97),
        "the 8 rejected writes were counted"
    );
}

#[tokio::test]
async fn the_most_restrictive_policy_is_reported() {
    let limiter = RateLimiter::builder()
        .policy(policy("ip", "100/1m", KeyKind::ClientIp))
        .policy(policy("user", "3/1m", KeyKind::Subject))
        .clock(ManualClock::new(START))
        .build()
        .unwrap();
    let verdict = limiter.check(&request("GET", "192.0.2.1", Some("u"))).await;
    let label = limiter.label(&verdict, None).unwrap();
    let get = |name: &str| {
        label
            .headers
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| {
                let value = label.header_value(v.clone()).unwrap();
                value.to_str().unwrap().to_owned()
            })
            .unwrap()
    };
    assert_eq!(get("x-ratelimit-limit"), "3");
    assert_eq!(get("x-ratelimit-remaining"), "2");
    assert_eq!(get("x-ratelimit-reset"), "60");
    assert_eq!(get("ratelimit"), "\"user\";r=2;t=60");
    assert_eq!(get("ratelimit-policy"), "\"user\";q=3;w=60");
}

#[tokio::test]
async fn spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let limiter = RateLimiter::builder()
        .policy(policy("ip", "2/1m", KeyKind::ClientIp))
        .trusted_proxy("10.0.0.0/8".parse().unwrap())
        .clock(ManualClock::new(START))
        .build()
        .unwrap();
    let spoofed = |fake: &'static str| RequestInfo {
        forwarded: vec![fake],
        ..request("GET", "203.0.113.5", None)
    };
    // Each request claims another address; all count against the real peer.
    assert_eq!(allowed(&limiter, &spoofed("1.1.1.1"), 1).await, 1);
    assert_eq!(allowed(&limiter, &spoofed("2.2.2.2"), 1).await, 1);
    assert_eq!(allowed(&limiter, &spoofed("3.3.3.3"), 1).await, 0);
    // Through the trusted proxy, forwarded clients are told apart.
    let proxied = |client: &'static str| RequestInfo {
        forwarded: vec![client],
        ..request("GET", "10.0.0.7", None)
    };
    assert_eq!(allowed(&limiter, &proxied("198.51.100.1"), 5).await, 2);
    assert_eq!(allowed(&limiter, &proxied("198.51.100.2"), 5).await, 2);
}

#[tokio::test]
async fn only_the_configured_header_names_the_client_behind_a_proxy() {
    // The proxy sets `X-Real-IP`; a client's own `X-Forwarded-For` or `Forwarded`
    // is not what the adapter hands over, so varying them changes nothing.
    let limiter = RateLimiter::builder()
        .policy(policy("ip", "2/1m", KeyKind::ClientIp))
        .trusted_proxy("10.0.0.0/8".parse().unwrap())
        .client_ip_header("X-Real-IP".parse().unwrap())
        .clock(ManualClock::new(START))
        .build()
        .unwrap();
    assert_eq!(limiter.client_ip_header().name(), "x-real-ip");
    let proxied = |client: &'static str| RequestInfo {
        forwarded: vec![client],
        ..request("GET", "10.0.0.7", None)
    };
    assert_eq!(allowed(&limiter, &proxied("198.51.100.1"), 5).await, 2);
    assert_eq!(
        limiter.client_ip(&proxied("198.51.100.1")),
        Some("198.51.100.1".parse().unwrap())
    );
}

#[tokio::test]
async fn ipv6_clients_share_a_bucket_per_64_by_default() {
    let build = |prefix: Option<u8>| {
        let builder = RateLimiter::builder()
            .policy(policy("ip", "2/1m", KeyKind::ClientIp))
            .clock(ManualClock::new(START));
        match prefix {
            Some(bits) => builder.ipv6_prefix(bits).build().unwrap(),
            None => builder.build().unwrap(),
        }
    };
    let limiter = build(None);
    // One /64 rotating through addresses is one client.
    for (i, expected) in [(1, 1), (2, 1), (3, 0)] {
        let peer = format!("2001:db8:0:1::{i}");
        assert_eq!(
            allowed(&limiter, &request("GET", &peer, None), 1).await,
            expected
        );
    }
    assert_eq!(
        allowed(&limiter, &request("GET", "2001:db8:0:2::1", None), 1).await,
        1
    );
    let per_address = build(Some(128));
    for i in 1..=3 {
        let peer = format!("2001:db8:0:1::{i}");
        assert_eq!(
            allowed(&per_address, &request("GET", &peer, None), 1).await,
            1
        );
    }
    assert!(
        RateLimiter::builder()
            .policy(policy("ip", "2/1m", KeyKind::ClientIp))
            .ipv6_prefix(129)
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn requests_without_a_peer_address_are_limited_together() {
    let limiter = RateLimiter::builder()
        .policy(policy("ip", "3/1m", KeyKind::ClientIp))
        .clock(ManualClock::new(START))
        .build()
        .unwrap();
    let anonymous = RequestInfo {
        method: "GET",
        path: "/",
        ..RequestInfo::default()
    };
    // Never unlimited: one shared bucket.
    assert_eq!(allowed(&limiter, &anonymous, 10).await, 3);
}

#[tokio::test]
async fn memory_stays_bounded_with_a_million_distinct_keys() {
    let limiter = RateLimiter::builder()
        .policy(policy("ip", "10/1m", KeyKind::ClientIp))
        .max_keys(10_000)
        .clock(ManualClock::new(START))
        .build()
        .unwrap();
    for i in 0..1_000_000u32 {
        let info = RequestInfo {
            method: "GET",
            path: "/",
            peer: Some(IpAddr::from(i.to_be_bytes())),
            ..RequestInfo::default()
        };
        limiter.check(&info).await;
    }
    assert!(
        limiter.tracked_keys() <= 10_000 + 64,
        "{} keys held",
        limiter.tracked_keys()
    );
}

#[test]
fn configuration_errors_are_typed() {
    use edge_ratelimit::ConfigError;
    assert_eq!(
        RateLimiter::builder().build().unwrap_err(),
        ConfigError::NoPolicies
    );
    let twice = RateLimiter::builder()
        .policy(policy("a", "1/1s", KeyKind::Global))
        .policy(policy("a", "2/1s", KeyKind::Global));
    assert_eq!(
        twice.build().unwrap_err(),
        ConfigError::DuplicatePolicy("a".into())
    );
    assert!(
        RateLimiter::builder()
            .policy(policy("a", "1/1s", KeyKind::Global))
            .max_keys(0)
            .build()
            .is_err()
    );
}

#[cfg(feature = "gcra")]
#[tokio::test]
async fn gcra_allows_the_burst_then_limits() {
    let limiter = RateLimiter::builder()
        .policy(policy("ip", "5/1h", KeyKind::ClientIp))
        .gcra()
        .build()
        .unwrap();
    let info = request("GET", "192.0.2.9", None);
    assert_eq!(allowed(&limiter, &info, 10).await, 5);
    let Verdict::Limited {
        retry_after_secs, ..
    } = limiter.check(&info).await
    else {
        panic!()
    };
    assert!((1..=720).contains(&retry_after_secs), "{retry_after_secs}");
}

#[tokio::test]
async fn a_local_check_counts_like_a_check() {
    let limiter = RateLimiter::builder()
        .policy(policy("ip", "3/1m", KeyKind::ClientIp))
        .build()
        .unwrap();
    let info = request("GET", "192.0.2.1", None);
    let remaining = |verdict: Option<Verdict>| match verdict {
        Some(Verdict::Allowed(state)) => state.remaining,
        other => panic!("{other:?}"),
    };
    assert_eq!(remaining(limiter.check_local(&info)), 2);
    assert_eq!(remaining(Some(limiter.check(&info).await)), 1);
    assert_eq!(remaining(limiter.check_local(&info)), 0);
    assert!(matches!(
        limiter.check_local(&info),
        Some(Verdict::Limited { .. })
    ));
    // No policy applies: decided at once, nothing counted.
    let anonymous = RateLimiter::builder()
        .policy(policy("user", "1/1m", KeyKind::Subject))
        .build()
        .unwrap();
    assert!(matches!(
        anonymous.check_local(&info),
        Some(Verdict::Unlimited)
    ));
}

#[tokio::test]
async fn a_wall_clock_stepped_back_does_not_reopen_a_window() {
    let clock = ManualClock::new(START);
    let limiter = RateLimiter::builder()
        .policy(policy("ip", "3/1h", KeyKind::ClientIp))
        .clock(clock.clone())
        .build()
        .unwrap();
    let client = request("GET", "192.0.2.77", None);
    assert_eq!(allowed(&limiter, &client, 5).await, 3);
    // NTP or an operator sets the wall clock back two hours (and forward again):
    // the windows run on monotonic time, so the client stays limited.
    clock.set_unix_ms(START - 2 * 3_600_000);
    assert_eq!(allowed(&limiter, &client, 5).await, 0);
    clock.set_unix_ms(START + 2 * 3_600_000);
    assert_eq!(allowed(&limiter, &client, 5).await, 0);
    // Real time passing does reopen it.
    clock.advance_ms(2 * 3_600_000);
    assert_eq!(allowed(&limiter, &client, 5).await, 3);
}
