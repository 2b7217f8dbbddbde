//! The load script's ceiling: a bare actix-web handler answering every GET with
//! the bytes of one file as `application/json` — no middleware, no database.
//!
//! `cargo run --release -p reference-api --example bare-handler -- 127.0.0.1:8090 body.json 1`
//! (listen address, body file, worker threads).

use actix_web::{App, HttpResponse, HttpServer, web};

/// The allocator the reference API uses, so the ceiling compares like with like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare-handler <listen> <body file> [workers]";
    let listen = args.next().ok_or_else(|| std::io::Error::other(usage))?;
    let body = web::Bytes::from(std::fs::read(
        args.next().ok_or_else(|| std::io::Error::other(usage))?,
    )?);
    let workers = match args.next() {
        Some(n) => n.parse().map_err(|_| std::io::Error::other(usage))?,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    actix_web::rt::System::new().block_on(
        HttpServer::new(move || {
            let body = body.clone();
            App::new().default_service(web::to(move || {
                let body = body.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body)
                }
            }))
        })
        .workers(workers)
        .bind(listen)?
        .run(),
    )
}
