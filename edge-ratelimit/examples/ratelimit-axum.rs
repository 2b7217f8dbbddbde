//! A minimal axum server limited to 5 requests per 10 s per client IP.
//!
//! ```sh
//! cargo run -p edge-ratelimit --example ratelimit-axum
//! for i in 1 2 3 4 5 6; do curl -si localhost:3002/ | grep -iE '^(HTTP|x-ratelimit|retry)'; done
//! ```

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use edge_ratelimit::tower::RateLimitingLayer;
use edge_ratelimit::{KeyKind, Policy, RateLimiter};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limiter = RateLimiter::builder()
        .policy(Policy::new("ip", "5/10s".parse()?, KeyKind::ClientIp)?)
        .build()?;
    let app = Router::new().route("/", get(|| async { "hello\n" })).layer(
        RateLimitingLayer::new(limiter)
            .peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3002").await?;
    println!("listening on http://127.0.0.1:3002");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
