//! The request protocol both adapters drive, in three steps the [`Filter`] owns:
//!
//! 1. [`Filter::check_request`]: the head's checks (header limits, path, query,
//!    inspected headers, parameter rules) and what the adapter knows of the body
//!    before reading it ([`BodyHint`]): a request without one is checked for a
//!    route that needs one and is done; a declared length over the limit is
//!    refused at once; otherwise the body must be read.
//! 2. [`Filter::read_body`]: the body's chunks as they arrive, refused with 413 the
//!    moment they pass the limit and with 408 when they stop arriving in time.
//! 3. [`Filter::check_request_body`]: the body's checks (a missing body, the media
//!    type, JSON syntax, attacks, the route's schema). The adapter then hands the
//!    body on, whole, to the inner service.
//!
//! A rejection from any step is answered with [`Rejection::status`] and
//! [`Rejection::body`] (with its media type), the
//! rejection kept in the response's extensions.

use crate::filter::{Filter, Rejection, RequestContext};

/// What an adapter knows of a request's body before reading it. Whether there is
/// a body is the body's own answer where the framework has one (HTTP/2 and /3
/// bodies need no framing headers); else the framing headers'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyHint {
    /// There is no body.
    Empty,
    /// A body of this length (declared, or known exactly).
    Length(u64),
    /// A body of unknown length (chunked, streamed).
    Unknown,
}

/// What is left after [`Filter::check_request`].
#[derive(Debug, Clone)]
#[must_use]
pub enum AfterHead {
    /// Nothing: call the inner service.
    Done,
    /// Read the body ([`Filter::read_body`]), then check it
    /// ([`Filter::check_request_body`]) with this filter: the rules and mode
    /// the head was checked under, whatever a reconfiguration did since.
    ReadBody(Filter),
}

impl Filter {
    /// Step 1 of the protocol: the head's checks and what is left to do.
    pub fn check_request<'h>(
        &self,
        context: &RequestContext<'_>,
        query: &str,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
        body: BodyHint,
    ) -> Result<AfterHead, Rejection> {
        let live = self.live();
        crate::metrics::counted(
            self.check_head_with(&live, context, query, headers)
                .and_then(|()| self.after_head(context, body))
                .map(|read| match read {
                    false => AfterHead::Done,
                    true => AfterHead::ReadBody(self.pinned_to(live)),
                }),
        )
    }

    /// Whether the body is to be read.
    fn after_head(&self, context: &RequestContext<'_>, body: BodyHint) -> Result<bool, Rejection> {
        match body {
            // A route with a schema needs a body: step 3 says why there is none
            // (it knows the content type).
            BodyHint::Empty | BodyHint::Length(0) => Ok(self.has_schema(context)),
            BodyHint::Length(length) => {
                self.check_declared_length(Some(length))?;
                Ok(true)
            }
            BodyHint::Unknown => Ok(true),
        }
    }

    /// Step 2 of the protocol: read the body from its chunks, stopping with 413
    /// the moment it passes the limit, with 408 when it does not arrive within the
    /// body timeout, and with 400 when the stream fails.
    #[cfg(any(feature = "tower", feature = "actix"))]
    pub async fn read_body<E>(
        &self,
        chunks: impl futures_util::Stream<Item = Result<bytes::Bytes, E>>,
    ) -> Result<bytes::Bytes, Rejection> {
        let read = read_limited(chunks, self.max_body());
        crate::metrics::counted(match self.body_timeout() {
            Some(timeout) => tokio::time::timeout(timeout, read)
                .await
                .unwrap_or(Err(Rejection::BodyTimeout { timeout })),
            None => read.await,
        })
    }

    /// Step 3 of the protocol: the checks of the whole body. JSON
    /// (`application/json`, `application/*+json`) is parsed, inspected string
    /// by string and checked against the route's schema. A route with a schema
    /// takes JSON only (415 otherwise) and needs a body: an empty one is
    /// malformed JSON (400) when it is labelled JSON, a missing body (422) when
    /// it is not labelled. Other bodies were already held to the
    /// size limit; forms are inspected field by field and text (`text/*`, XML)
    /// as a whole; binary bodies (gRPC, protobuf, octet streams, multipart,
    /// images) are not inspected.
    pub fn check_request_body(
        &self,
        context: &RequestContext<'_>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), Rejection> {
        crate::metrics::counted(self.check_whole_body(context, content_type, body))
    }

    fn check_whole_body(
        &self,
        context: &RequestContext<'_>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), Rejection> {
        let media = MediaType::of(content_type);
        if body.is_empty() {
            return self.check_missing_body(context, media);
        }
        if media == MediaType::Json {
            return self.check_json_body(context, body);
        }
        if self.has_schema(context) {
            return Err(Rejection::UnsupportedMediaType);
        }
        self.check_other_body(context, media, body)
    }
}

#[cfg(any(feature = "tower", feature = "actix"))]
async fn read_limited<E>(
    chunks: impl futures_util::Stream<Item = Result<bytes::Bytes, E>>,
    limit: usize,
) -> Result<bytes::Bytes, Rejection> {
    use futures_util::StreamExt;
    let mut chunks = std::pin::pin!(chunks);
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = chunks.next().await {
        let Ok(chunk) = chunk else {
            return Err(Rejection::InvalidJson {
                message: "the body could not be read".to_owned(),
            });
        };
        if body.len() + chunk.len() > limit {
            return Err(Rejection::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// How a body is inspected, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaType {
    /// `application/json`, `application/*+json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `text/*`, `application/xml`, `application/*+xml`.
    Text,
    /// Anything else: not inspected.
    Binary,
}

impl MediaType {
    pub(crate) fn of(content_type: Option<&str>) -> MediaType {
        let essence = content_type
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let application = essence.strip_prefix("application/");
        match essence.as_str() {
            "application/json" => MediaType::Json,
            _ if application.is_some_and(|sub| sub.ends_with("+json")) => MediaType::Json,
            "application/x-www-form-urlencoded" => MediaType::Form,
            "application/xml" => MediaType::Text,
            _ if application.is_some_and(|sub| sub.ends_with("+xml")) => MediaType::Text,
            _ if essence.starts_with("text/") => MediaType::Text,
            _ => MediaType::Binary,
        }
    }
}
