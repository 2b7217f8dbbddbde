//! Live reconfiguration: TTLs changed while requests flow, caching turned off
//! and on without serving anything stale, invalid settings refused whole.

mod common;

use std::time::Duration;

use common::{get, routes, send, service};
use edge_cache::{ConfigError, ManualClock, Ttls};

const START: u64 = 1_000_000;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test]
async fn a_shorter_ttl_applies_at_once_to_what_is_stored() {
    let clock = ManualClock::new(START);
    let cache = routes().clock(clock.clone()).build().unwrap();
    let (svc, backend) = service(cache.clone());
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "MISS");
    clock.advance(secs(15));
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "HIT");
    // 30 s → 10 s: the entry stored 15 s ago is too old now.
    cache
        .reconfigure(&Ttls {
            default: secs(10),
            routes: Vec::new(),
        })
        .unwrap();
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "MISS");
    clock.advance(secs(9));
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "HIT");
    clock.advance(secs(1));
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "MISS");
    // A longer one applies to what is stored from now on.
    cache
        .reconfigure(&Ttls {
            default: secs(100),
            routes: Vec::new(),
        })
        .unwrap();
    assert_eq!(get(&svc, "/items/2").await.x_cache(), "MISS");
    clock.advance(secs(99));
    assert_eq!(get(&svc, "/items/2").await.x_cache(), "HIT");
    assert_eq!(backend.calls(), 4);
}

#[tokio::test]
async fn a_route_keeps_its_own_ttl_unless_named() {
    let clock = ManualClock::new(START);
    let cache = routes().clock(clock.clone()).build().unwrap();
    let (svc, _) = service(cache.clone());
    cache
        .reconfigure(&Ttls {
            default: secs(100),
            routes: vec![("/items/{id}".to_owned(), secs(5))],
        })
        .unwrap();
    get(&svc, "/items/1").await;
    get(&svc, "/items").await;
    clock.advance(secs(6));
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "MISS");
    assert_eq!(get(&svc, "/items").await.x_cache(), "HIT");
}

#[tokio::test]
async fn caching_off_and_on_again_never_serves_what_a_write_replaced() {
    let cache = routes().build().unwrap();
    let (svc, _) = service(cache.clone());
    get(&svc, "/items/1").await;
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "HIT");
    cache.reconfigure(&Ttls::default()).unwrap();
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "BYPASS");
    // A write while caching is off still invalidates.
    send(&svc, "PUT", "/items/1", &[]).await;
    cache
        .reconfigure(&Ttls {
            default: secs(30),
            routes: Vec::new(),
        })
        .unwrap();
    let after = get(&svc, "/items/1").await;
    assert_eq!(after.x_cache(), "MISS");
    assert!(after.text().contains("\"version\":1"), "{}", after.text());
}

#[tokio::test]
async fn an_unknown_route_is_refused_and_the_ttls_stay() {
    let clock = ManualClock::new(START);
    let cache = routes().clock(clock.clone()).build().unwrap();
    let (svc, _) = service(cache.clone());
    let unknown = Ttls {
        default: secs(1),
        routes: vec![("/nope/{id}".to_owned(), secs(1))],
    };
    assert_eq!(
        cache.reconfigure(&unknown),
        Err(ConfigError::UnknownRoute("/nope/{id}".to_owned()))
    );
    get(&svc, "/items/1").await;
    clock.advance(secs(29));
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "HIT");
}
