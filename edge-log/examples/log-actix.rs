//! An actix-web app with an access line per request on stdout and a health check.
//!
//! `cargo run -p edge-log --features actix --example log-actix`, then
//! `curl localhost:8080/` and `curl localhost:8080/healthz`.

use actix_web::{App, HttpResponse, HttpServer, web};
use edge_log::actix::AccessLogger;
use edge_log::{AccessLog, FieldsLayer, Health};
use tracing_subscriber::prelude::*;

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::registry().with(FieldsLayer).init();
    let log = AccessLog::builder().build()?;
    let health = Health::new()
        .probe("upstream", || async { Ok(()) })
        .disabled("redis");
    let writer = log.writer().clone();
    eprintln!("listening on http://127.0.0.1:8080");
    HttpServer::new(move || {
        let health = health.clone();
        App::new()
            .route("/", web::get().to(|| async { "hello\n" }))
            .route(
                "/healthz",
                web::get().to(move || {
                    let health = health.clone();
                    async move {
                        let report = health.check().await;
                        let status = actix_web::http::StatusCode::from_u16(report.status_code())
                            .unwrap_or(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
                        HttpResponse::build(status).json(report.to_json())
                    }
                }),
            )
            .wrap(AccessLogger::new(log.clone()))
    })
    .bind("127.0.0.1:8080")?
    .run()
    .await?;
    writer.flush(std::time::Duration::from_secs(2));
    Ok(())
}
