//! [`AccessLog`]: the configuration and writer shared by every request, and
//! [`RequestLog`]: one request from arrival to the end of its response.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Span;
use tracing::field::Empty;

use crate::fields::{FieldsHandle, SpanFields};
use crate::metrics::{Measured, Meters, Routes};
use crate::record::{AccessRecord, Format, timestamp_now};
use crate::{LogWriter, RequestId};
use edge_core::{TraceContext, TrustedProxies};

/// The most `User-Agent` characters logged.
const MAX_USER_AGENT: usize = 256;

/// Writes one access line per request. Cheap to clone; build it once and share
/// it between workers.
///
/// ```
/// use edge_log::{AccessLog, Format};
///
/// let log = AccessLog::builder().format(Format::Json).build()?; // to stdout
/// # drop(log);
/// # Ok::<(), edge_log::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct AccessLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    writer: LogWriter,
    format: Format,
    proxies: TrustedProxies,
    meters: Meters,
}

/// What the access log reads of a request's head (raw header values; each is
/// checked before it is used).
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// The method.
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The `X-Request-Id` value.
    pub request_id: Option<&'a [u8]>,
    /// The `traceparent` value.
    pub traceparent: Option<&'a [u8]>,
    /// The `User-Agent` value.
    pub user_agent: Option<&'a [u8]>,
    /// The socket peer's address.
    pub peer: Option<IpAddr>,
}

/// The trace id as a span field, formatted only if a subscriber records it.
struct TraceIdField(TraceContext);

impl std::fmt::Display for TraceIdField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.trace_id().as_str())
    }
}

/// Builds an [`AccessLog`].
#[derive(Debug)]
#[must_use]
pub struct AccessLogBuilder {
    writer: Option<LogWriter>,
    format: Format,
    capacity: usize,
    proxies: TrustedProxies,
    routes: Vec<String>,
}

impl AccessLog {
    /// Start configuring: JSON lines on stdout, 16 384 lines of queue.
    pub fn builder() -> AccessLogBuilder {
        AccessLogBuilder {
            writer: None,
            format: Format::Json,
            capacity: 16_384,
            proxies: TrustedProxies::none(),
            routes: Vec::new(),
        }
    }

    /// The writer (for its counters, and to flush at shutdown).
    pub fn writer(&self) -> &LogWriter {
        &self.inner.writer
    }

    /// The proxies whose client-IP header the middleware trusts.
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.inner.proxies
    }

    /// Step 1 of the protocol both adapters drive: start logging a request. Its
    /// id is the `X-Request-Id` value the client sent (when it is a valid id) or
    /// a new one; its trace context the caller's `traceparent` (when valid) or a
    /// new trace; its client is resolved behind the trusted proxies from the
    /// socket peer and the client-IP header's lines (`lines(name)`, read only
    /// behind a trusted proxy). The adapter leaves [`RequestLog::request_id`],
    /// [`RequestLog::trace`] and [`RequestLog::client_ip`] in the request's
    /// extensions for the layers inside, runs them in [`RequestLog::span`], and
    /// on the way out echoes the id, sets the status and wraps the body so that
    /// the line is written when it ends.
    pub fn start<'v, I>(
        &self,
        head: &RequestHead<'_>,
        lines: impl FnOnce(&http::HeaderName) -> I,
    ) -> RequestLog
    where
        I: Iterator<Item = &'v str>,
    {
        let client = self.inner.proxies.resolve_lines(head.peer, lines);
        self.begin(
            head.method,
            head.path,
            RequestId::from_header(head.request_id),
            TraceContext::from_header(head.traceparent),
            head.user_agent,
            client,
        )
    }

    /// Start logging a request whose id, trace and client are known: its span
    /// (fields empty, for the other layers to fill) and clock. `path` should
    /// exclude the query; `peer` is the client's address.
    pub fn begin(
        &self,
        method: &str,
        path: &str,
        request_id: RequestId,
        trace: TraceContext,
        user_agent: Option<&[u8]>,
        peer: Option<IpAddr>,
    ) -> RequestLog {
        // TRACE, so operational log layers filtered at the usual levels ignore it
        // (formatting its fields per request would cost more than the access line);
        // `FieldsLayer`, unfiltered, still sees it.
        let span = tracing::trace_span!(
            target: "edge_log",
            "request",
            request_id = %request_id,
            trace_id = %TraceIdField(trace),
            method = %method,
            path = %path,
            // The names of `crate::fields::field`.
            user = Empty,
            ratelimit = Empty,
            cache = Empty,
            db_queries = Empty,
            client_ip = Empty,
        );
        let fields = FieldsHandle::of(&span);
        let user_agent = user_agent.map(|ua| {
            let text = String::from_utf8_lossy(ua);
            match text.char_indices().nth(MAX_USER_AGENT) {
                Some((cut, _)) => text[..cut].to_owned(),
                None => text.into_owned(),
            }
        });
        RequestLog {
            measured: self.inner.meters.arrived(method, path),
            log: self.clone(),
            span,
            fields,
            direct: SpanFields::default(),
            request_id,
            trace,
            method: owned_method(method),
            path: path.to_owned(),
            user_agent,
            peer,
            start: Instant::now(),
            status: 0,
            bytes: 0,
            written: false,
        }
    }

    /// Write one record now (what [`RequestLog::finish`] does).
    pub fn write(&self, record: &AccessRecord<'_>) {
        let mut line = Vec::with_capacity(384);
        record.write(self.inner.format, &mut line);
        self.inner.writer.write_line(line);
    }
}

impl AccessLogBuilder {
    /// Resolve each request's client behind these proxies (their client-IP
    /// header, read right to left) instead of taking the socket peer; the
    /// middleware leaves the result in the request extensions as
    /// [`ClientIp`](edge_core::ClientIp) for every later layer (limits, the
    /// security log), so the client is resolved once.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// JSON (default) or pretty lines.
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Lines that may wait for the writer before new ones are dropped (default 16 384).
    pub fn capacity(mut self, lines: usize) -> Self {
        self.capacity = lines;
        self
    }

    /// The application's route templates (`/api/items/{id}`: edge-core's
    /// [`PathTemplate`](edge_core::PathTemplate) syntax), first match wins: the
    /// `route` label of the [metrics](crate::metrics). Paths that match none
    /// are labelled `unmatched`, so a label never holds a raw path.
    pub fn routes<I, S>(mut self, templates: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.routes = templates.into_iter().map(Into::into).collect();
        self
    }

    /// Write to this writer instead of stdout (files, tests).
    pub fn writer(mut self, writer: LogWriter) -> Self {
        self.writer = Some(writer);
        self
    }

    /// Check the settings and start the writer thread (stdout unless
    /// [`writer`](Self::writer) was set).
    pub fn build(self) -> Result<AccessLog, crate::ConfigError> {
        if self.capacity == 0 {
            return Err(crate::ConfigError::ZeroCapacity);
        }
        let routes = self
            .routes
            .iter()
            .map(|template| edge_core::PathTemplate::parse(template))
            .collect::<Result<Vec<_>, _>>()?;
        let writer = match self.writer {
            Some(writer) => writer,
            None => LogWriter::stdout(self.capacity).map_err(crate::ConfigError::Writer)?,
        };
        // The dropped-lines series exists from the start (at 0), as Prometheus
        // counters should.
        crate::metrics::dropped_lines(0);
        Ok(AccessLog {
            inner: Arc::new(Inner {
                writer,
                format: self.format,
                proxies: self.proxies,
                meters: Meters::new(Routes::new(routes)),
            }),
        })
    }
}

/// One request being logged. Its line is written by [`finish`](Self::finish),
/// or when it is dropped (status 499 if no response was produced: the client
/// went away), with the body bytes counted by [`add_bytes`](Self::add_bytes).
#[derive(Debug)]
pub struct RequestLog {
    measured: Measured,
    log: AccessLog,
    span: Span,
    fields: FieldsHandle,
    direct: SpanFields,
    request_id: RequestId,
    trace: TraceContext,
    method: std::borrow::Cow<'static, str>,
    path: String,
    user_agent: Option<String>,
    peer: Option<IpAddr>,
    start: Instant,
    status: u16,
    bytes: u64,
    written: bool,
}

/// The method, kept without a copy when it is a standard one.
fn owned_method(method: &str) -> std::borrow::Cow<'static, str> {
    match crate::metrics::standard_method(method) {
        Some(standard) => std::borrow::Cow::Borrowed(standard),
        None => std::borrow::Cow::Owned(method.to_owned()),
    }
}

/// The status logged for requests whose client left before the response.
pub const CLIENT_CLOSED_REQUEST: u16 = 499;

impl RequestLog {
    /// The request span: run the rest of the stack inside it.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// The request id.
    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    /// The W3C trace context (the caller's, or a new trace).
    pub fn trace(&self) -> TraceContext {
        self.trace
    }

    /// The client's address, resolved behind the trusted proxies.
    pub fn client_ip(&self) -> Option<edge_core::ClientIp> {
        self.peer.map(edge_core::ClientIp)
    }

    /// The response status, once known.
    pub fn set_status(&mut self, status: u16) {
        self.status = status;
    }

    /// Time since the request arrived.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Fields set directly — by an adapter's `fields_from` hook reading the
    /// extensions other layers left — rather than recorded in the span. They win
    /// over span fields of the same name.
    pub fn fields_mut(&mut self) -> &mut SpanFields {
        &mut self.direct
    }

    /// Count `n` more response body bytes.
    pub fn add_bytes(&mut self, n: u64) {
        self.bytes += n;
    }

    /// Write the line now: the response ended.
    pub fn finish(mut self) {
        self.write();
    }

    /// Write the line, once (`finish` and the drop both end up here).
    fn write(&mut self) {
        if std::mem::replace(&mut self.written, true) {
            return;
        }
        let bytes = self.bytes;
        let fields = self
            .fields
            .take()
            .overridden_by(std::mem::take(&mut self.direct));
        let mut peer_text = [0u8; MAX_IP_TEXT];
        let peer = self.peer.and_then(|ip| ip_text(ip, &mut peer_text));
        let timestamp = timestamp_now();
        let status = if self.status == 0 {
            CLIENT_CLOSED_REQUEST
        } else {
            self.status
        };
        let elapsed = self.start.elapsed();
        self.log
            .inner
            .meters
            .answered(&self.measured, status, elapsed);
        self.log.write(&AccessRecord {
            timestamp: timestamp.as_str(),
            request_id: self.request_id.as_str(),
            trace_id: self.trace.trace_id(),
            method: &self.method,
            path: &self.path,
            status,
            duration_ms: milliseconds(elapsed),
            client_ip: fields.client_ip.as_deref().or(peer),
            user: fields.user.as_deref(),
            ratelimit: fields.ratelimit.as_ref(),
            cache: fields.cache.as_deref(),
            db_queries: fields.db_queries,
            bytes,
            user_agent: self.user_agent.as_deref(),
        });
    }
}

/// The longest text of an IP address (IPv6 with an embedded IPv4 address).
const MAX_IP_TEXT: usize = 45;

/// `ip` as text in `buffer`, without a heap allocation.
/// `elapsed` in milliseconds to the microsecond, so the log reads `1.428` rather
/// than `1.4278680000000001` (a whole number of µs over 1000 prints exactly).
fn milliseconds(elapsed: std::time::Duration) -> f64 {
    // Exact below 2^53 µs (285 years).
    let micros = elapsed.as_micros() as f64;
    micros / 1000.0
}

fn ip_text(ip: IpAddr, buffer: &mut [u8; MAX_IP_TEXT]) -> Option<&str> {
    if let IpAddr::V4(v4) = ip {
        // The common case, without the formatting machinery.
        let mut len = 0;
        for (i, octet) in v4.octets().into_iter().enumerate() {
            if i > 0 {
                buffer[len] = b'.';
                len += 1;
            }
            let digits = [octet / 100, octet / 10 % 10, octet % 10];
            let skip = if octet >= 100 {
                0
            } else if octet >= 10 {
                1
            } else {
                2
            };
            for digit in &digits[skip..] {
                buffer[len] = b'0' + digit;
                len += 1;
            }
        }
        return std::str::from_utf8(&buffer[..len]).ok();
    }
    let mut cursor = std::io::Cursor::new(&mut buffer[..]);
    std::io::Write::write_fmt(&mut cursor, format_args!("{ip}")).ok()?;
    let len = usize::try_from(cursor.position()).ok()?;
    std::str::from_utf8(&buffer[..len]).ok()
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        self.write();
        self.log.inner.meters.left();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_of_no_lines_is_refused() {
        assert!(matches!(
            AccessLog::builder().capacity(0).build(),
            Err(crate::ConfigError::ZeroCapacity)
        ));
        assert!(AccessLog::builder().capacity(1).build().is_ok());
    }

    #[test]
    fn durations_are_written_to_the_microsecond() {
        use std::time::Duration;
        for (elapsed, text) in [
            (Duration::from_nanos(1_427_868), "1.427"),
            (Duration::from_nanos(6_111), "0.006"),
            (Duration::from_nanos(999), "0.0"),
            (Duration::from_micros(2_500_000), "2500.0"),
            (Duration::from_micros(123_456_789), "123456.789"),
        ] {
            let written = serde_json::to_string(&milliseconds(elapsed)).unwrap();
            assert_eq!(written, text, "{elapsed:?}");
        }
    }

    #[test]
    fn ip_text_is_the_display_text() {
        for ip in [
            "203.0.113.7",
            "255.255.255.255",
            "0.0.0.0",
            "10.0.99.100",
            "1.20.3.199",
            "::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:255.255.255.255",
            "2001:db8::ff00:42:8329",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut buffer = [0; MAX_IP_TEXT];
            assert_eq!(ip_text(ip, &mut buffer), Some(ip.to_string().as_str()));
        }
    }
}
