//! An axum app with an access line per request on stdout.
//!
//! `cargo run -p edge-log --example log-axum`, then `curl -H 'x-request-id: demo-1' localhost:3000/`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use edge_log::tower::AccessLoggerLayer;
use edge_log::{AccessLog, FieldsLayer};
use tracing_subscriber::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::registry().with(FieldsLayer).init();
    let log = AccessLog::builder().build()?;
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                tracing::Span::current().record("user", "demo");
                "hello\n"
            }),
        )
        .layer(
            AccessLoggerLayer::new(log)
                .peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    eprintln!("listening on http://127.0.0.1:3000");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
