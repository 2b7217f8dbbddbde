//! The cache's behaviour through its tower adapter, against a counting backend.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{big_json, get, routes, send, service};
use edge_cache::{Cache, CacheStatus, ManualClock, Route};
use http::StatusCode;

#[tokio::test]
async fn a_miss_is_stored_and_the_next_request_hits() {
    let (svc, backend) = service(routes().build().unwrap());
    let first = get(&svc, "/items/1").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.x_cache(), "MISS");
    let etag = first.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"'), "strong ETag: {etag}");
    let second = get(&svc, "/items/1").await;
    assert_eq!(second.x_cache(), "HIT");
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("etag"), Some(etag.as_str()));
    assert_eq!(second.header("age"), Some("0"));
    assert_eq!(second.header("content-type"), Some("application/json"));
    assert_eq!(backend.calls(), 1);
    // The query is part of the key, in any order.
    assert_eq!(get(&svc, "/items?a=1&b=2").await.x_cache(), "MISS");
    assert_eq!(get(&svc, "/items?b=2&a=1").await.x_cache(), "HIT");
    assert_eq!(get(&svc, "/items?a=2&b=2").await.x_cache(), "MISS");
    // Only 200s are stored.
    assert_eq!(get(&svc, "/missing").await.x_cache(), "MISS");
    assert_eq!(get(&svc, "/missing").await.x_cache(), "MISS");
}

#[tokio::test]
async fn entries_expire_after_their_ttl() {
    let clock = ManualClock::new(1_000_000);
    let cache = routes()
        .clock(clock.clone())
        .route(Route::new("/ten").ttl(Duration::from_secs(10)))
        .build()
        .unwrap();
    let (svc, backend) = service(cache);
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "MISS");
    clock.advance(Duration::from_secs(29));
    let aged = get(&svc, "/items/1").await;
    assert_eq!(aged.x_cache(), "HIT");
    assert_eq!(aged.header("age"), Some("29"));
    clock.advance(Duration::from_secs(1));
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "MISS");
    assert_eq!(backend.calls(), 2);
    // The route's TTL, and a response's max-age below it.
    assert_eq!(get(&svc, "/ten").await.x_cache(), "MISS");
    clock.advance(Duration::from_secs(9));
    assert_eq!(get(&svc, "/ten").await.x_cache(), "HIT");
    clock.advance(Duration::from_secs(1));
    assert_eq!(get(&svc, "/ten").await.x_cache(), "MISS");
    assert_eq!(get(&svc, "/short").await.x_cache(), "MISS");
    clock.advance(Duration::from_secs(4));
    assert_eq!(get(&svc, "/short").await.x_cache(), "HIT");
    clock.advance(Duration::from_secs(1));
    assert_eq!(get(&svc, "/short").await.x_cache(), "MISS");
}

#[tokio::test]
async fn no_store_private_and_set_cookie_are_never_stored() {
    let (svc, backend) = service(routes().build().unwrap());
    for path in ["/nostore", "/private", "/cookie", "/undeclared-vary"] {
        assert_eq!(get(&svc, path).await.x_cache(), "MISS", "{path}");
        assert_eq!(get(&svc, path).await.x_cache(), "MISS", "{path}");
    }
    assert_eq!(backend.calls(), 8);
    // A client's no-store, and a route's opt-out, bypass the cache.
    let asked = send(&svc, "GET", "/items/1", &[("cache-control", "no-store")]).await;
    assert_eq!(asked.x_cache(), "BYPASS");
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "MISS");
    assert_eq!(get(&svc, "/opted-out").await.x_cache(), "BYPASS");
    assert_eq!(get(&svc, "/opted-out").await.x_cache(), "BYPASS");
    // A client's no-cache cannot force the backend.
    let forced = send(&svc, "GET", "/items/1", &[("cache-control", "no-cache")]).await;
    assert_eq!(forced.x_cache(), "HIT");
}

#[tokio::test]
async fn vary_headers_keep_separate_entries() {
    let (svc, backend) = service(routes().build().unwrap());
    let en = send(&svc, "GET", "/lang", &[("accept-language", "en")]).await;
    let fr = send(&svc, "GET", "/lang", &[("accept-language", "fr")]).await;
    assert_eq!((en.x_cache(), fr.x_cache()), ("MISS", "MISS"));
    let en_again = send(&svc, "GET", "/lang", &[("accept-language", "en")]).await;
    assert_eq!(en_again.x_cache(), "HIT");
    assert_eq!(en_again.text(), "{\"lang\":\"en\"}");
    assert_eq!(
        send(&svc, "GET", "/lang", &[("accept-language", "fr")])
            .await
            .text(),
        "{\"lang\":\"fr\"}"
    );
    assert!(en_again.header("vary").unwrap().contains("accept-language"));
    assert_eq!(backend.calls(), 2);
}

#[tokio::test]
async fn writes_invalidate_the_item_and_the_list_pages() {
    let (svc, backend) = service(routes().build().unwrap());
    let warm = |svc| async move {
        for path in ["/items/1", "/items/2", "/items?limit=5", "/items?cursor=x"] {
            get(svc, path).await;
            assert_eq!(get(svc, path).await.x_cache(), "HIT", "{path}");
        }
    };
    warm(&svc).await;
    let put = send(&svc, "PUT", "/items/1", &[]).await;
    assert_eq!(put.x_cache(), "BYPASS");
    let fresh = get(&svc, "/items/1").await;
    assert_eq!(fresh.x_cache(), "MISS");
    assert!(fresh.text().contains("\"version\":1"));
    assert_eq!(get(&svc, "/items?limit=5").await.x_cache(), "MISS");
    assert_eq!(get(&svc, "/items?cursor=x").await.x_cache(), "MISS");
    assert_eq!(
        get(&svc, "/items/2").await.x_cache(),
        "HIT",
        "other items stay"
    );

    warm(&svc).await;
    send(&svc, "POST", "/items", &[]).await;
    assert_eq!(get(&svc, "/items?limit=5").await.x_cache(), "MISS");
    assert_eq!(
        get(&svc, "/items/1").await.x_cache(),
        "HIT",
        "a create changes no item"
    );

    warm(&svc).await;
    send(&svc, "DELETE", "/items/2", &[]).await;
    assert_eq!(get(&svc, "/items/2").await.x_cache(), "MISS");
    assert_eq!(get(&svc, "/items?limit=5").await.x_cache(), "MISS");

    // A rejected write (4xx) changed nothing and invalidates nothing.
    warm(&svc).await;
    let calls = backend.calls();
    let refused = send(&svc, "PUT", "/items/1", &[("x-fail", "1")]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "HIT");
    assert_eq!(backend.calls(), calls + 1);
}

#[tokio::test]
async fn a_response_read_before_a_write_is_never_served_after_it() {
    let (svc, _backend) = service(routes().route(Route::new("/race")).build().unwrap());
    // The slow GET reads version 0; the PUT commits version 1 while it is in flight.
    let reader = {
        let svc = svc.clone();
        tokio::spawn(async move { get(&svc, "/race").await })
    };
    tokio::time::sleep(Duration::from_millis(40)).await;
    send(&svc, "PUT", "/race", &[]).await;
    let stale = reader.await.unwrap();
    assert_eq!(stale.text(), "{\"version\":0}");
    let after = get(&svc, "/race").await;
    assert_eq!(after.x_cache(), "MISS", "the stale answer was not kept");
    assert_eq!(after.text(), "{\"version\":1}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_make_one_backend_call() {
    let (svc, backend) = service(routes().build().unwrap());
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let svc = svc.clone();
            tokio::spawn(async move { get(&svc, "/slow").await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let got = task.await.unwrap();
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.text(), "{\"slow\":0}");
        statuses.push(got.x_cache().to_owned());
    }
    assert_eq!(backend.calls(), 1);
    assert_eq!(statuses.iter().filter(|s| *s == "MISS").count(), 1);
    assert_eq!(statuses.iter().filter(|s| *s == "HIT").count(), 99);
}

#[tokio::test]
async fn if_none_match_answers_304_without_a_body() {
    let (svc, backend) = service(routes().build().unwrap());
    let first = get(&svc, "/items/7").await;
    let etag = first.header("etag").unwrap().to_owned();
    let weak = format!("W/{etag}");
    let list = format!("\"nope\", {etag}");
    for matching in [etag.as_str(), weak.as_str(), list.as_str(), "*"] {
        let revalidated = send(&svc, "GET", "/items/7", &[("if-none-match", matching)]).await;
        assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED, "{matching}");
        assert!(revalidated.body.is_empty());
        assert_eq!(revalidated.header("etag"), Some(etag.as_str()));
    }
    let stale = send(&svc, "GET", "/items/7", &[("if-none-match", "\"0-0\"")]).await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body, first.body);
    // After a write the old tag no longer matches: the new version is sent.
    send(&svc, "PUT", "/items/7", &[]).await;
    let changed = send(&svc, "GET", "/items/7", &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    assert_eq!(backend.calls(), 3);
}

#[tokio::test]
async fn gzip_only_when_asked_and_above_the_threshold() {
    let (svc, _) = service(routes().build().unwrap());
    let original = big_json(4096);
    let plain = get(&svc, "/big").await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.text(), original);
    assert!(plain.header("vary").unwrap().contains("accept-encoding"));
    for expected in ["HIT", "HIT"] {
        let packed = send(&svc, "GET", "/big", &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(packed.x_cache(), expected);
        assert_eq!(packed.header("content-encoding"), Some("gzip"));
        assert!(packed.body.len() < original.len() / 4);
        assert_eq!(packed.text(), original);
        assert_eq!(
            packed.header("etag"),
            plain.header("etag"),
            "one ETag per representation source"
        );
    }
    let refused = send(&svc, "GET", "/big", &[("accept-encoding", "gzip;q=0")]).await;
    assert_eq!(refused.header("content-encoding"), None);
    // Small bodies are sent as they are.
    let small = send(&svc, "GET", "/items/1", &[("accept-encoding", "gzip")]).await;
    assert_eq!(small.header("content-encoding"), None);
    // Uncached JSON is compressed too.
    let bypassed = send(
        &svc,
        "GET",
        "/shared-big",
        &[("accept-encoding", "gzip"), ("authorization", "Bearer x")],
    )
    .await;
    assert_eq!(bypassed.x_cache(), "BYPASS");
    assert_eq!(bypassed.header("content-encoding"), Some("gzip"));
    assert_eq!(bypassed.text(), original);
}

#[tokio::test]
async fn requests_with_credentials_bypass_unless_the_route_is_shared() {
    let (svc, backend) = service(routes().build().unwrap());
    let auth = [("authorization", "Bearer abc")];
    assert_eq!(
        send(&svc, "GET", "/items/1", &auth).await.x_cache(),
        "BYPASS"
    );
    assert_eq!(
        send(&svc, "GET", "/items/1", &[("cookie", "s=1")])
            .await
            .x_cache(),
        "BYPASS"
    );
    // A route shared between callers is cached, but says so to nobody: no
    // `X-Cache` or `Age` (a HIT would tell one caller what another fetched).
    for _ in 0..2 {
        let shared = send(&svc, "GET", "/shared", &auth).await;
        assert_eq!((shared.x_cache(), shared.header("age")), ("(none)", None));
    }
    assert_eq!(backend.calls(), 3, "the second /shared was a hit");
    // Unless the route opts in.
    let (svc, backend) = service(
        Cache::builder()
            .route(
                Route::new("/shared")
                    .share_authorized()
                    .announce_status(true),
            )
            .build()
            .unwrap(),
    );
    assert_eq!(send(&svc, "GET", "/shared", &auth).await.x_cache(), "MISS");
    assert_eq!(send(&svc, "GET", "/shared", &auth).await.x_cache(), "HIT");
    assert_eq!(backend.calls(), 1);
}

#[tokio::test]
async fn head_is_served_from_the_get_entry() {
    let (svc, backend) = service(routes().build().unwrap());
    assert_eq!(send(&svc, "HEAD", "/items/3", &[]).await.x_cache(), "MISS");
    get(&svc, "/items/3").await;
    let head = send(&svc, "HEAD", "/items/3", &[]).await;
    assert_eq!(head.x_cache(), "HIT");
    assert!(head.header("etag").is_some());
    assert_eq!(backend.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_within_its_bounds_under_100k_keys() {
    let cache = routes()
        .max_entries(1_000)
        .max_bytes(256 << 10)
        .build()
        .unwrap();
    let (svc, backend) = service(cache.clone());
    for i in 0..100_000 {
        get(&svc, &format!("/items/{i}")).await;
    }
    let stats = cache.stats();
    assert_eq!(backend.calls(), 100_000);
    assert_eq!(stats.stores, 100_000);
    assert!(stats.entries <= 1_000, "{stats:?}");
    assert!(stats.bytes <= 256 << 10, "{stats:?}");
    assert!(stats.entries > 100, "{stats:?}");
    // The most recent keys are the ones kept.
    assert_eq!(get(&svc, "/items/99999").await.x_cache(), "HIT");
    assert_eq!(get(&svc, "/items/0").await.x_cache(), "MISS");
}

#[tokio::test]
async fn responses_carry_the_status_for_later_layers() {
    let cache = Arc::new(routes().build().unwrap());
    let (svc, _) = service(Cache::clone(&cache));
    use tower::ServiceExt;
    let request = || {
        http::Request::get("/items/9")
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap()
    };
    let miss = svc.clone().oneshot(request()).await.unwrap();
    assert_eq!(
        miss.extensions().get::<CacheStatus>(),
        Some(&CacheStatus::Miss)
    );
    let hit = svc.clone().oneshot(request()).await.unwrap();
    assert_eq!(
        hit.extensions().get::<CacheStatus>(),
        Some(&CacheStatus::Hit)
    );
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.stores), (1, 1, 1));
}

#[tokio::test]
async fn by_default_only_declared_routes_and_public_responses_are_cached() {
    let (svc, backend) = service(
        Cache::builder()
            .route(Route::new("/items/{id}"))
            .build()
            .unwrap(),
    );
    let gzip = [("accept-encoding", "gzip")];
    assert_eq!(get(&svc, "/items/1").await.x_cache(), "MISS");
    assert_eq!(
        get(&svc, "/items/1").await.x_cache(),
        "HIT",
        "a declared route"
    );
    // An anonymous GET of an unlisted path is not stored without the response's say-so...
    let calls = backend.calls();
    for _ in 0..2 {
        let big = send(&svc, "GET", "/big", &gzip).await;
        assert_eq!(big.x_cache(), "MISS");
        // ...and what is not stored is not gzipped on the fly unless asked for.
        assert_eq!(big.header("content-encoding"), None);
    }
    assert_eq!(backend.calls(), calls + 2);
    // A response marked `public` opts in.
    let first = send(&svc, "GET", "/public", &gzip).await;
    assert_eq!(first.x_cache(), "MISS");
    let second = send(&svc, "GET", "/public", &gzip).await;
    assert_eq!(second.x_cache(), "HIT", "Cache-Control: public");
    assert_eq!(
        second.header("content-encoding"),
        Some("gzip"),
        "compressed once, at store time"
    );
    assert_eq!(backend.calls(), calls + 3);
}
