//! An actix-web app behind the cache: `cargo run -p edge-cache --features actix
//! --example cache-actix`, then `curl -i localhost:8080/items/1` twice (MISS, then
//! HIT with an ETag) and `curl -X PUT localhost:8080/items/1` (invalidates it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use edge_cache::actix::ResponseCache;
use edge_cache::{Cache, Route};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let version = Arc::new(AtomicU64::new(1));
    // Built once, outside the worker factory, so every worker shares it.
    let cache = Cache::builder()
        .default_ttl(Duration::from_secs(60))
        .route(Route::new("/items/{id}").invalidates("/items"))
        .build()?;
    println!("listening on http://127.0.0.1:8080");
    HttpServer::new(move || {
        let (read, write) = (Arc::clone(&version), Arc::clone(&version));
        App::new()
            .wrap(ResponseCache::new(cache.clone()))
            .route(
                "/items/{id}",
                web::get().to(move |id: web::Path<u64>| {
                    let version = read.load(Ordering::SeqCst);
                    async move { format!("item {id}, version {version}\n") }
                }),
            )
            .route(
                "/items/{id}",
                web::put().to(move || {
                    write.fetch_add(1, Ordering::SeqCst);
                    async { "updated\n" }
                }),
            )
    })
    .bind("127.0.0.1:8080")?
    .run()
    .await?;
    Ok(())
}
