//! The one way the crates connect to Redis (feature `redis`): a lazy
//! [`ConnectionManager`] that reconnects by itself, with the caller's timeout
//! on connecting and on every response, and one retry.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// A client for `url`: `redis://host:port/db`, or `rediss://` for TLS through
/// rustls (the platform's root certificates; a `#insecure` fragment skips
/// checking the server's certificate). For TLS the ring crypto provider is
/// made the process default unless one is installed already.
pub fn client(url: &str) -> Result<redis::Client, redis::RedisError> {
    if url.starts_with("rediss://") {
        // Err only when a provider is installed already: then that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    redis::Client::open(url)
}

/// A client for `url` (see [`client`]) and its lazy connection manager:
/// nothing is connected until the first command, so an instance starts while
/// Redis is down. Must be called within a Tokio runtime.
pub fn lazy_connection(
    url: &str,
    timeout: Duration,
) -> Result<(redis::Client, ConnectionManager), redis::RedisError> {
    let client = client(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1);
    let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
    Ok((client, connection))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_are_checked_and_nothing_connects_before_the_first_command() {
        // Nothing listens on port 1: a lazy manager is made all the same.
        assert!(lazy_connection("redis://127.0.0.1:1/0", Duration::from_millis(50)).is_ok());
        assert!(lazy_connection("http://example.com", Duration::from_millis(50)).is_err());
    }
}
