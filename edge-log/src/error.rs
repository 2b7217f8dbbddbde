//! Typed errors.

/// An access log that cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A queue of no lines would drop every line.
    #[error("the access log's queue must hold at least one line")]
    ZeroCapacity,
    /// The writer thread could not be started.
    #[error("cannot start the access log's writer: {0}")]
    Writer(#[source] std::io::Error),
    /// A route template is invalid.
    #[error(transparent)]
    InvalidRoute(#[from] edge_core::TemplateError),
}
