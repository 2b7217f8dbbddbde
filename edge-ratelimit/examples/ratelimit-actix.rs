//! A minimal actix-web server limited to 5 requests per 10 s per client IP.
//!
//! ```sh
//! cargo run -p edge-ratelimit --example ratelimit-actix --features actix
//! for i in 1 2 3 4 5 6; do curl -si localhost:3003/ | grep -iE '^(HTTP|x-ratelimit|retry)'; done
//! ```

use actix_web::{App, HttpServer, web};
use edge_ratelimit::actix::RateLimiting;
use edge_ratelimit::{KeyKind, Policy, RateLimiter};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Built once, outside the per-worker factory, so every worker shares the counts.
    let limiter = RateLimiter::builder()
        .policy(Policy::new("ip", "5/10s".parse()?, KeyKind::ClientIp)?)
        .build()?;
    println!("listening on http://127.0.0.1:3003");
    HttpServer::new(move || {
        App::new()
            .wrap(RateLimiting::new(limiter.clone()))
            .route("/", web::get().to(|| async { "hello\n" }))
    })
    .bind("127.0.0.1:3003")?
    .run()
    .await?;
    Ok(())
}
