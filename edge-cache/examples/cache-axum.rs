//! An axum app behind the cache: `cargo run -p edge-cache --example cache-axum`,
//! then `curl -i localhost:3000/items/1` twice (MISS, then HIT with an ETag),
//! `curl -i -H 'If-None-Match: <etag>' ...` (304) and `curl -X PUT .../items/1`
//! (invalidates both the item and the list).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use edge_cache::tower::ResponseCacheLayer;
use edge_cache::{Cache, Route};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let version = Arc::new(AtomicU64::new(1));
    let cache = Cache::builder()
        .default_ttl(Duration::from_secs(60))
        .route(Route::new("/items/{id}").invalidates("/items"))
        .build()?;
    let (read, write) = (Arc::clone(&version), Arc::clone(&version));
    let app = Router::new()
        .route(
            "/items/{id}",
            get(move |Path(id): Path<u64>| async move {
                format!("item {id}, version {}\n", read.load(Ordering::SeqCst))
            })
            .put(move || async move {
                write.fetch_add(1, Ordering::SeqCst);
                "updated\n"
            }),
        )
        .route("/items", get(|| async { "the list\n" }))
        .layer(ResponseCacheLayer::new(cache));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000");
    axum::serve(listener, app).await?;
    Ok(())
}
