//! A minimal actix-web server behind edge-filter.
//!
//! ```sh
//! cargo run -p edge-filter --example filter-actix --features actix
//! curl -si 'localhost:3005/items?q=1%20UNION%20SELECT%20password'   # 403
//! curl -si -XPOST localhost:3005/items -H 'content-type: text/plain' -d 'x'   # 415
//! ```

use actix_web::{App, HttpServer, web};
use edge_filter::actix::RequestFilter;
use edge_filter::{Filter, SecurityLog};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let log = SecurityLog::open(
        std::env::temp_dir().join("edge-filter-example.log"),
        10 << 20,
        1000,
    )?;
    let filter = Filter::builder()
        .max_body(64 * 1024)
        .security_log(log)
        .build()?;
    println!("listening on http://127.0.0.1:3005");
    HttpServer::new(move || {
        App::new()
            .wrap(RequestFilter::new(filter.clone()))
            .route("/items", web::get().to(|| async { "[]\n" }))
            .route("/items", web::post().to(|| async { "created\n" }))
    })
    .bind("127.0.0.1:3005")?
    .run()
    .await?;
    Ok(())
}
