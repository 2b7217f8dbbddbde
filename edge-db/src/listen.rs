//! `LISTEN`: notifications on a channel, over a connection of their own (a
//! pooled connection's notifications are not delivered to anyone).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio_postgres::AsyncMessage;

use crate::{DbError, ErrorKind};

/// How the pool connects, for connections outside it.
#[derive(Clone)]
pub(crate) enum Connector {
    Plain(tokio_postgres::Config),
    #[cfg(feature = "tls")]
    Tls(
        tokio_postgres::Config,
        tokio_postgres_rustls::MakeRustlsConnect,
    ),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connector")
    }
}

/// The payloads of the notifications sent to one channel, in order. The
/// stream ends when its connection does (listen again then: notifications
/// sent in between are lost, so re-read what they announce).
#[derive(Debug)]
pub struct Notifications {
    payloads: tokio::sync::mpsc::UnboundedReceiver<String>,
    /// Kept open for as long as the stream is listened to.
    _client: tokio_postgres::Client,
}

impl Stream for Notifications {
    type Item = String;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<String>> {
        self.payloads.poll_recv(cx)
    }
}

/// Whether `channel` may be named unquoted: `[a-z_][a-z0-9_]*`, at most 63 bytes.
fn is_plain_identifier(channel: &str) -> bool {
    let mut bytes = channel.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
        && channel.len() <= 63
}

impl Connector {
    pub(crate) async fn listen(&self, channel: &str) -> Result<Notifications, DbError> {
        if !is_plain_identifier(channel) {
            return Err(DbError::new(
                ErrorKind::Query,
                format!("`{channel}` is not a plain channel name ([a-z_][a-z0-9_]*)"),
            ));
        }
        let (sender, payloads) = tokio::sync::mpsc::unbounded_channel();
        let client = match self {
            Connector::Plain(config) => {
                let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
                tokio::spawn(forward(connection, sender));
                client
            }
            #[cfg(feature = "tls")]
            Connector::Tls(config, tls) => {
                let (client, connection) = config.connect(tls.clone()).await?;
                tokio::spawn(forward(connection, sender));
                client
            }
        };
        client.batch_execute(&format!("LISTEN {channel}")).await?;
        Ok(Notifications {
            payloads,
            _client: client,
        })
    }
}

/// Drive `connection`, passing its notifications on, until it closes.
async fn forward<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    sender: tokio::sync::mpsc::UnboundedSender<String>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    while let Some(Ok(message)) = futures_util::StreamExt::next(&mut messages).await {
        if let AsyncMessage::Notification(notification) = message
            && sender.send(notification.payload().to_owned()).is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_plain_identifiers() {
        assert!(is_plain_identifier("edge_settings"));
        assert!(is_plain_identifier("_x1"));
        for bad in ["", "1x", "Edge", "a-b", "a;NOTIFY b", &"x".repeat(64)] {
            assert!(!is_plain_identifier(bad), "{bad}");
        }
    }
}
