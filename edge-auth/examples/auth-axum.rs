//! A minimal axum server behind edge-auth.
//!
//! ```sh
//! cargo run -p edge-auth --example auth-axum
//! TOKEN=$(curl -s -X POST localhost:3000/token)
//! curl -H "Authorization: Bearer $TOKEN" localhost:3000/me
//! ```

use std::time::Duration;

use axum::routing::{get, post};
use axum::{Extension, Router};
use edge_auth::tower::AuthLayer;
use edge_auth::{Identity, TokenIssuer, Validator};

const SECRET: &[u8] = b"example secret, at least 32 bytes long";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let validator = Validator::builder("example")
        .hmac_secret(SECRET)
        .public("/token")
        .build()?;
    let issuer = TokenIssuer::hs256(SECRET, "example", Duration::from_secs(900))?;

    let app = Router::new()
        .route(
            "/me",
            get(|Extension(who): Extension<Identity>| async move {
                format!("hello, {}\n", who.subject())
            }),
        )
        .route(
            "/token",
            post(move || async move {
                issuer
                    .issue("demo-user", Some("user"))
                    .map(|t| t.token)
                    .unwrap_or_default()
            }),
        )
        .layer(AuthLayer::new(validator));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000");
    axum::serve(listener, app).await?;
    Ok(())
}
