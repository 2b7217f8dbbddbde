//! Typed errors: [`ConfigError`] for building a pool, [`DbError`] for using it.

use std::fmt;

use tokio_postgres::error::SqlState;

/// An invalid [`DbBuilder`](crate::DbBuilder) setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The connection string could not be parsed.
    #[error("invalid database URL: {0}")]
    InvalidUrl(#[source] tokio_postgres::Error),
    /// `max_size` was zero.
    #[error("the pool's max_size must be at least 1")]
    ZeroPoolSize,
    /// A timeout was zero.
    #[error("the {0} timeout must be greater than zero")]
    ZeroTimeout(&'static str),
    /// `shared_connections` was not below `max_size`.
    #[error("{shared} shared connections leave none of the pool's {max_size} for transactions")]
    TooManyShared {
        /// The shared connections asked for.
        shared: usize,
        /// The pool's size.
        max_size: usize,
    },
    /// `max_attempts` for transactions was zero.
    #[error("transactions need at least one attempt")]
    ZeroAttempts,
    /// The URL's TLS settings (`sslmode`, `sslrootcert`) cannot be used.
    #[error("database TLS: {0}")]
    InvalidTls(String),
    /// deadpool refused the pool configuration.
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
}

/// What kind of failure a [`DbError`] is. New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The database cannot be reached now (down, refusing, pool acquire timed out,
    /// connection lost). Map it to 503; the pool recovers when the database returns.
    Unavailable,
    /// A unique or exclusion constraint was violated (SQLSTATE 23505, 23P01). Map it to 409.
    Conflict,
    /// A foreign key was violated (SQLSTATE 23503).
    ForeignKey,
    /// A check or not-null constraint was violated (SQLSTATE 23514, 23502).
    Constraint,
    /// PostgreSQL cannot store a value (SQLSTATE class 22: a NUL character in text,
    /// a number out of range, ...). Map it to 4xx: the input is at fault.
    InvalidData,
    /// A serialization failure or deadlock (SQLSTATE 40001, 40P01) that outlived the retries.
    Serialization,
    /// The statement was cancelled, e.g. by `statement_timeout` (SQLSTATE 57014).
    Timeout,
    /// A query expected a row and found none.
    NotFound,
    /// A row could not be converted into the requested Rust type.
    Mapping,
    /// Applying migrations failed.
    Migration,
    /// Any other error reported by PostgreSQL or the driver.
    Query,
}

impl ErrorKind {
    /// The kind as a short snake_case name (`unavailable`): the `kind` label of
    /// [`metrics::ERRORS_TOTAL`](crate::metrics::ERRORS_TOTAL).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Conflict => "conflict",
            ErrorKind::ForeignKey => "foreign_key",
            ErrorKind::Constraint => "constraint",
            ErrorKind::InvalidData => "invalid_data",
            ErrorKind::Serialization => "serialization",
            ErrorKind::Timeout => "timeout",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Mapping => "mapping",
            ErrorKind::Migration => "migration",
            ErrorKind::Query => "query",
        }
    }
}

/// An error from the database layer: an opaque struct with a [`kind`](DbError::kind),
/// predicates, and the underlying error as its `source`.
pub struct DbError {
    kind: ErrorKind,
    message: String,
    code: Option<SqlState>,
    constraint: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl DbError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DbError {
            kind,
            message: message.into(),
            code: None,
            constraint: None,
            source: None,
        }
    }

    pub(crate) fn not_found() -> Self {
        DbError::new(ErrorKind::NotFound, "query returned no rows")
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The database cannot be reached now (see [`ErrorKind::Unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        self.kind == ErrorKind::Unavailable
    }

    /// A unique or exclusion constraint was violated.
    pub fn is_conflict(&self) -> bool {
        self.kind == ErrorKind::Conflict
    }

    /// A query expected a row and found none.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// A serialization failure or deadlock, retryable by running the transaction again.
    pub fn is_serialization_failure(&self) -> bool {
        self.kind == ErrorKind::Serialization
    }

    /// The SQLSTATE PostgreSQL reported, if it reported one.
    pub fn code(&self) -> Option<&SqlState> {
        self.code.as_ref()
    }

    /// The name of the violated constraint, for constraint errors.
    pub fn constraint(&self) -> Option<&str> {
        self.constraint.as_deref()
    }
}

impl fmt::Debug for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("DbError");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(code) = &self.code {
            d.field("code", &code.code());
        }
        if let Some(constraint) = &self.constraint {
            d.field("constraint", constraint);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The kind a SQLSTATE maps to.
pub(crate) fn kind_of(code: &SqlState) -> ErrorKind {
    match *code {
        SqlState::UNIQUE_VIOLATION | SqlState::EXCLUSION_VIOLATION => ErrorKind::Conflict,
        SqlState::FOREIGN_KEY_VIOLATION => ErrorKind::ForeignKey,
        SqlState::CHECK_VIOLATION | SqlState::NOT_NULL_VIOLATION => ErrorKind::Constraint,
        SqlState::T_R_SERIALIZATION_FAILURE | SqlState::T_R_DEADLOCK_DETECTED => {
            ErrorKind::Serialization
        }
        SqlState::QUERY_CANCELED => ErrorKind::Timeout,
        _ if code.code().starts_with("22") => ErrorKind::InvalidData,
        SqlState::ADMIN_SHUTDOWN
        | SqlState::CRASH_SHUTDOWN
        | SqlState::CANNOT_CONNECT_NOW
        | SqlState::TOO_MANY_CONNECTIONS
        | SqlState::CONNECTION_FAILURE
        | SqlState::CONNECTION_EXCEPTION => ErrorKind::Unavailable,
        _ => ErrorKind::Query,
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        let (kind, message, code, constraint) = match err.as_db_error() {
            Some(db) => (
                kind_of(db.code()),
                format!("{}: {}", db.severity(), db.message()),
                Some(db.code().clone()),
                db.constraint().map(str::to_owned),
            ),
            None if err.is_closed() || is_io(&err) => (
                ErrorKind::Unavailable,
                format!("database connection failed: {err}"),
                None,
                None,
            ),
            None => (ErrorKind::Query, err.to_string(), err.code().cloned(), None),
        };
        DbError {
            kind,
            message,
            code,
            constraint,
            source: Some(Box::new(err)),
        }
    }
}

fn is_io(err: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        match err {
            PoolError::Backend(pg) => {
                let mapped = DbError::from(pg);
                // Failing to open a connection means the database is unavailable,
                // whatever the server said (e.g. "the database system is starting up").
                DbError {
                    kind: ErrorKind::Unavailable,
                    ..mapped
                }
            }
            PoolError::Timeout(which) => DbError::new(
                ErrorKind::Unavailable,
                format!("database pool timed out ({which:?})"),
            ),
            other => DbError::new(
                ErrorKind::Unavailable,
                format!("database pool error: {other}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_to_kinds() {
        assert_eq!(kind_of(&SqlState::UNIQUE_VIOLATION), ErrorKind::Conflict);
        assert_eq!(
            kind_of(&SqlState::T_R_SERIALIZATION_FAILURE),
            ErrorKind::Serialization
        );
        assert_eq!(
            kind_of(&SqlState::T_R_DEADLOCK_DETECTED),
            ErrorKind::Serialization
        );
        assert_eq!(
            kind_of(&SqlState::FOREIGN_KEY_VIOLATION),
            ErrorKind::ForeignKey
        );
        assert_eq!(kind_of(&SqlState::ADMIN_SHUTDOWN), ErrorKind::Unavailable);
        assert_eq!(kind_of(&SqlState::SYNTAX_ERROR), ErrorKind::Query);
        assert_eq!(
            kind_of(&SqlState::CHARACTER_NOT_IN_REPERTOIRE),
            ErrorKind::InvalidData
        );
        assert_eq!(
            kind_of(&SqlState::NUMERIC_VALUE_OUT_OF_RANGE),
            ErrorKind::InvalidData
        );
    }
}
