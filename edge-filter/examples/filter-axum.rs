//! A minimal axum server behind edge-filter.
//!
//! ```sh
//! cargo run -p edge-filter --example filter-axum
//! curl -si 'localhost:3004/items?q=%3Cscript%3E'            # 403
//! curl -si -XPOST localhost:3004/items -H 'content-type: application/json' -d '{"name":5}'   # 422
//! ```

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use edge_filter::routes::{Route, Routes};
use edge_filter::tower::RequestFilterLayer;
use edge_filter::{Filter, SecurityLog};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let log = SecurityLog::open(
        std::env::temp_dir().join("edge-filter-example.log"),
        10 << 20,
        1000,
    )?;
    let routes = Routes::new().route(Route::new("POST", "/items")?.schema(&serde_json::json!({
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 1}},
        "required": ["name"],
        "additionalProperties": false
    }))?);
    let filter = Filter::builder()
        .max_body(64 * 1024)
        .security_log(log)
        .routes(routes)
        .build()?;
    let app = Router::new()
        .route("/items", get(|| async { "[]\n" }))
        .route("/items", post(|| async { "created\n" }))
        .layer(
            RequestFilterLayer::new(filter)
                .peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3004").await?;
    println!("listening on http://127.0.0.1:3004");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
