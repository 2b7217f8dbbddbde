//! A minimal actix-web server behind edge-auth.
//!
//! ```sh
//! cargo run -p edge-auth --example auth-actix --features actix
//! TOKEN=$(curl -s -X POST localhost:3001/token)
//! curl -H "Authorization: Bearer $TOKEN" localhost:3001/me
//! ```

use std::time::Duration;

use actix_web::{App, HttpServer, web};
use edge_auth::actix::Auth;
use edge_auth::{Identity, TokenIssuer, Validator};

const SECRET: &[u8] = b"example secret, at least 32 bytes long";

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Built once, outside the per-worker factory, and cloned into each worker.
    let validator = Validator::builder("example")
        .hmac_secret(SECRET)
        .public("/token")
        .build()?;
    let issuer = TokenIssuer::hs256(SECRET, "example", Duration::from_secs(900))?;

    println!("listening on http://127.0.0.1:3001");
    HttpServer::new(move || {
        let issuer = issuer.clone();
        App::new()
            .wrap(Auth::new(validator.clone()))
            .route(
                "/me",
                web::get().to(|who: Identity| async move { format!("hello, {}\n", who.subject()) }),
            )
            .route(
                "/token",
                web::post().to(move || {
                    let issuer = issuer.clone();
                    async move {
                        issuer
                            .issue("demo-user", Some("user"))
                            .map(|t| t.token)
                            .unwrap_or_default()
                    }
                }),
            )
    })
    .bind("127.0.0.1:3001")?
    .run()
    .await?;
    Ok(())
}
