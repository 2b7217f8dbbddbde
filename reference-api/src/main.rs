//! `reference-api`: parse the configuration, start the database if embedded, serve.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use reference_api::config::{Config, LogFormat};
use reference_api::{embedded_pg, run, run_command};

/// mimalloc: about a tenth fewer instructions per cached GET than glibc's
/// allocator (a request makes ~50 small allocations), measured in BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let config = match Config::try_parse() {
        Ok(config) => config,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line: the reason, without clap's usage block.
            let rendered = e.render().to_string();
            let reason = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid configuration");
            eprintln!("reference-api: {}", reason.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    if let Err(reason) = config.check() {
        eprintln!("reference-api: {reason}");
        return ExitCode::from(2);
    }
    init_tracing(config.log_format);

    // The embedded server lives until `main` returns, after the HTTP server stopped.
    let (_embedded, database_url) = match config.database_url.clone() {
        Some(url) => (None, url),
        None => match embedded_pg::start(&config.data_dir) {
            Ok((server, url)) => {
                tracing::info!(port = server.port(), data_dir = %config.data_dir.display(), "started the embedded PostgreSQL");
                (Some(server), url)
            }
            Err(e) => {
                eprintln!("reference-api: cannot start the embedded PostgreSQL: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    if let Some(command) = config.command.clone() {
        let system = actix_web::rt::System::new();
        return match system.block_on(run_command(&config, &command, database_url)) {
            Ok(done) => {
                println!("{done}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("reference-api: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if config.jwt_secret.is_none() {
        tracing::info!(
            "JWT_SECRET is not set: tokens are signed with the key stored in the database"
        );
    }

    match actix_web::rt::System::new().block_on(run(config, database_url)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reference-api: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Operational logs on stderr, filtered by `RUST_LOG` (default `info`). The
/// access log (stdout) is edge-log's writer, not a tracing layer: it takes its
/// fields from the request and response extensions (`app/access.rs`), so no
/// `FieldsLayer` is installed and the request span costs nothing unless
/// `RUST_LOG` enables it.
fn init_tracing(format: LogFormat) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let operational = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let operational = match format {
        LogFormat::Json => operational.json().with_filter(filter).boxed(),
        LogFormat::Pretty => operational.with_filter(filter).boxed(),
    };
    let _ = tracing_subscriber::registry().with(operational).try_init();
}
