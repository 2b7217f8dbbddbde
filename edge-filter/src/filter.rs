//! [`Filter`]: the request checks in order — head (path, query, selected headers),
//! then the body (size while streaming, media type, JSON syntax, every string) —
//! with the security log and the detection-only mode. The adapters call these.

use crate::ConfigError;
use std::sync::Arc;

use http::StatusCode;

use crate::protocol::MediaType;
use crate::routes::{FieldError, ParamError, Routes};
use crate::{Finding, Inspector, SecurityEvent, SecurityLog};

/// Whether findings block requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Findings are logged and the request is answered 403 (default).
    #[default]
    Block,
    /// Findings are logged (`"action":"detected"`) and the request goes on: for
    /// tuning rules before enforcing them.
    DetectOnly,
}

/// The default body-read timeout.
pub const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The body is larger than the limit (413); it was not read further.
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A body that is not JSON on a route that declares a JSON Schema (415).
    UnsupportedMediaType,
    /// The body is not valid JSON (400).
    InvalidJson {
        /// What is wrong, with line and column.
        message: String,
    },
    /// A rule matched (403). The rule is logged, not told to the client.
    Blocked(Finding),
    /// A path or query parameter breaks its rule (400).
    InvalidParameter(ParamError),
    /// The body breaks the route's schema (422); every violation is listed.
    ValidationFailed(Vec<FieldError>),
    /// The body did not arrive within the body timeout (408).
    BodyTimeout {
        /// The timeout.
        timeout: std::time::Duration,
    },
    /// Too many or too large headers, a required one missing or a forbidden one
    /// present (400; 431 for size).
    InvalidHeaders {
        /// What is wrong.
        message: String,
        /// Whether it is about size (431).
        too_large: bool,
    },
}

impl Rejection {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Rejection::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::InvalidJson { .. } => StatusCode::BAD_REQUEST,
            Rejection::Blocked(_) => StatusCode::FORBIDDEN,
            Rejection::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            Rejection::ValidationFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Rejection::InvalidHeaders {
                too_large: true, ..
            } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Rejection::InvalidHeaders { .. } => StatusCode::BAD_REQUEST,
        }
    }

    /// The problem code (SPEC §4).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::PayloadTooLarge { .. } => "payload_too_large",
            Rejection::BodyTimeout { .. } => "request_timeout",
            Rejection::UnsupportedMediaType => "unsupported_media_type",
            Rejection::InvalidJson { .. } => "invalid_json",
            Rejection::Blocked(_) => "request_blocked",
            Rejection::InvalidParameter(_) => "invalid_parameter",
            Rejection::ValidationFailed(_) => "validation_failed",
            Rejection::InvalidHeaders { .. } => "invalid_parameter",
        }
    }

    /// A description safe to show the client.
    pub fn detail(&self) -> String {
        match self {
            Rejection::PayloadTooLarge { limit } => {
                format!("the body is larger than {limit} bytes")
            }
            Rejection::BodyTimeout { timeout } => {
                format!("the body did not arrive within {} ms", timeout.as_millis())
            }
            Rejection::UnsupportedMediaType => {
                "this route takes a JSON body (application/json)".to_owned()
            }
            Rejection::InvalidJson { message } => format!("the body is not valid JSON: {message}"),
            Rejection::Blocked(_) => "the request was blocked by the input filter".to_owned(),
            Rejection::InvalidParameter(error) => error.message.clone(),
            Rejection::ValidationFailed(errors) => {
                format!("{} field(s) failed validation", errors.len())
            }
            Rejection::InvalidHeaders { message, .. } => message.clone(),
        }
    }

    /// The violations of a `validation_failed` rejection.
    pub fn field_errors(&self) -> Option<&[FieldError]> {
        match self {
            Rejection::ValidationFailed(errors) => Some(errors),
            _ => None,
        }
    }

    /// The body and its media type: RFC 9457 problem+json (or what the
    /// renderer installed with [`edge_core::set_renderer`] makes of the
    /// problem), with the request's id when it has one (edge-core's
    /// [`RequestId`](edge_core::RequestId) extension).
    pub fn body(&self, request_id: Option<&edge_core::RequestId>) -> edge_core::Rendered {
        self.problem().request_id(request_id).render()
    }

    /// The RFC 9457 problem (edge-core's), with `errors` for `validation_failed`.
    pub fn problem(&self) -> edge_core::Problem {
        let problem = edge_core::Problem::new(self.status(), self.code(), self.detail());
        match self.field_errors() {
            Some(errors) => {
                problem.member("errors", serde_json::to_value(errors).unwrap_or_default())
            }
            None => problem,
        }
    }
}

/// Who sent a request, for the security log: asked only when a finding is
/// logged, so a clean request looks nothing up. The adapters answer from the
/// request (edge-core's `RequestId`, `ClientIp` and `TraceContext` extensions);
/// direct callers use [`KnownSender`].
pub trait Sender {
    /// The request id (empty when there is none).
    fn request_id(&self) -> String;
    /// The client IP.
    fn client_ip(&self) -> Option<std::net::IpAddr>;
    /// The W3C trace context.
    fn trace(&self) -> Option<edge_core::TraceContext>;
}

/// A [`Sender`] whose answers are known up front.
#[derive(Debug, Clone, Copy, Default)]
pub struct KnownSender<'a> {
    /// The request id.
    pub request_id: &'a str,
    /// The client IP.
    pub client_ip: Option<std::net::IpAddr>,
    /// The W3C trace context.
    pub trace: Option<edge_core::TraceContext>,
}

impl Sender for KnownSender<'_> {
    fn request_id(&self) -> String {
        self.request_id.to_owned()
    }

    fn client_ip(&self) -> Option<std::net::IpAddr> {
        self.client_ip
    }

    fn trace(&self) -> Option<edge_core::TraceContext> {
        self.trace
    }
}

/// The request being checked: its method and path, and who sent it.
#[derive(Clone, Copy)]
pub struct RequestContext<'a> {
    /// The method.
    pub method: &'a str,
    /// The path.
    pub path: &'a str,
    /// Who sent it (asked only when a finding is logged).
    pub sender: &'a dyn Sender,
}

impl std::fmt::Debug for RequestContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The configured checks. Cheap to clone; clones share the configuration,
/// including what [`Filter::reconfigure`] changes.
#[derive(Debug, Clone)]
pub struct Filter {
    inner: Arc<Inner>,
    /// The rules and mode this filter checks with whatever a reconfiguration
    /// does (a request's body is checked as its head was); `None`: the current ones.
    pinned: Option<Arc<Live>>,
}

/// What a reconfiguration changes, swapped whole.
#[derive(Debug)]
pub(crate) struct Live {
    inspector: Inspector,
    mode: Mode,
}

/// The rules and mode a check uses: pinned, or loaded now.
pub(crate) enum LiveRef<'a> {
    Pinned(&'a Arc<Live>),
    Loaded(arc_swap::Guard<Arc<Live>>),
}

impl std::ops::Deref for LiveRef<'_> {
    type Target = Live;

    fn deref(&self) -> &Live {
        match self {
            LiveRef::Pinned(live) => live,
            LiveRef::Loaded(live) => live,
        }
    }
}

#[derive(Debug)]
struct Inner {
    live: arc_swap::ArcSwap<Live>,
    max_body: usize,
    body_timeout: Option<std::time::Duration>,
    headers: Vec<String>,
    log: Option<SecurityLog>,
    routes: Routes,
    header_limits: HeaderLimits,
}

/// Limits on request headers.
#[derive(Debug, Clone)]
struct HeaderLimits {
    max_count: usize,
    max_bytes: usize,
    required: Vec<String>,
    forbidden: Vec<String>,
}

impl Default for HeaderLimits {
    fn default() -> Self {
        HeaderLimits {
            max_count: 100,
            max_bytes: 16 * 1024,
            required: Vec::new(),
            forbidden: Vec::new(),
        }
    }
}

/// Builds a [`Filter`].
#[derive(Debug)]
#[must_use]
pub struct FilterBuilder {
    inspector: Inspector,
    mode: Mode,
    max_body: usize,
    body_timeout: Option<std::time::Duration>,
    headers: Vec<String>,
    log: Option<SecurityLog>,
    routes: Routes,
    header_limits: HeaderLimits,
}

impl Filter {
    /// Start configuring: default rules, blocking, 1 MiB bodies read within 30 s,
    /// `User-Agent` and `Referer` inspected, no security log.
    pub fn builder() -> FilterBuilder {
        FilterBuilder {
            inspector: Inspector::default(),
            mode: Mode::Block,
            max_body: 1 << 20,
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
            headers: vec!["user-agent".to_owned(), "referer".to_owned()],
            log: None,
            routes: Routes::new(),
            header_limits: HeaderLimits::default(),
        }
    }

    /// The body limit in bytes.
    pub fn max_body(&self) -> usize {
        self.inner.max_body
    }

    /// How long a body may take to arrive (`None`: unbounded).
    pub fn body_timeout(&self) -> Option<std::time::Duration> {
        self.inner.body_timeout
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.live().mode
    }

    /// The rules (a copy: [`reconfigure`](Self::reconfigure) may replace them).
    pub fn inspector(&self) -> Inspector {
        self.live().inspector.clone()
    }

    /// Replace the rules and the mode while requests flow, both at once: every
    /// check that starts after this returns uses them, a request whose head was
    /// checked before finishes (its body included) under the old ones. Rules
    /// are checked when their [`RuleSet`](crate::RuleSet) is made, so nothing
    /// here can fail half-way.
    ///
    /// ```
    /// use edge_filter::{Filter, Inspector, Mode, RuleSet};
    ///
    /// let filter = Filter::builder().build()?;
    /// // Detection only, without one built-in rule (from a settings change):
    /// let rules = RuleSet::defaults_with(&["xss-css-expression"], Vec::new())?;
    /// filter.reconfigure(Inspector::new(rules), Mode::DetectOnly);
    /// assert_eq!(filter.mode(), Mode::DetectOnly);
    /// # Ok::<(), edge_filter::ConfigError>(())
    /// ```
    pub fn reconfigure(&self, inspector: Inspector, mode: Mode) {
        self.inner.live.store(Arc::new(Live { inspector, mode }));
    }

    pub(crate) fn live(&self) -> LiveRef<'_> {
        match &self.pinned {
            Some(live) => LiveRef::Pinned(live),
            None => LiveRef::Loaded(self.inner.live.load()),
        }
    }

    /// This filter with the rules and mode of `live` fixed, for the rest of a
    /// request.
    pub(crate) fn pinned_to(&self, live: LiveRef<'_>) -> Filter {
        let live = match live {
            LiveRef::Pinned(live) => Arc::clone(live),
            LiveRef::Loaded(live) => arc_swap::Guard::into_inner(live),
        };
        Filter {
            inner: Arc::clone(&self.inner),
            pinned: Some(live),
        }
    }

    /// Check the header limits, then the path, query and inspected headers
    /// (`headers` yields name/value pairs), then the route's parameter rules.
    pub fn check_head<'h>(
        &self,
        context: &RequestContext<'_>,
        query: &str,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    ) -> Result<(), Rejection> {
        self.check_head_with(&self.live(), context, query, headers)
    }

    pub(crate) fn check_head_with<'h>(
        &self,
        live: &Live,
        context: &RequestContext<'_>,
        query: &str,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    ) -> Result<(), Rejection> {
        // Typical requests have a dozen headers or fewer: no allocation.
        let headers: smallvec::SmallVec<[(&str, &[u8]); 16]> = headers.into_iter().collect();
        self.check_header_limits(&headers)?;
        let inspector = &live.inspector;
        let finding = inspector
            .inspect_path(context.path)
            .or_else(|| inspector.inspect_query(query))
            .or_else(|| {
                headers.iter().find_map(|&(name, value)| {
                    let inspected = self
                        .inner
                        .headers
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(name));
                    inspected
                        .then(|| inspector.inspect_header(name, &String::from_utf8_lossy(value)))?
                })
            });
        self.verdict(live, context, finding)?;
        self.inner
            .routes
            .check_params(context.method, context.path, query)
            .map_err(Rejection::InvalidParameter)
    }

    fn check_header_limits(&self, headers: &[(&str, &[u8])]) -> Result<(), Rejection> {
        let limits = &self.inner.header_limits;
        let invalid = |message: String, too_large: bool| {
            Err(Rejection::InvalidHeaders { message, too_large })
        };
        if headers.len() > limits.max_count {
            return invalid(format!("more than {} headers", limits.max_count), true);
        }
        let bytes: usize = headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        if bytes > limits.max_bytes {
            return invalid(
                format!("the headers are larger than {} bytes", limits.max_bytes),
                true,
            );
        }
        let has = |wanted: &String| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(wanted));
        if let Some(missing) = limits.required.iter().find(|h| !has(h)) {
            return invalid(format!("the `{missing}` header is required"), false);
        }
        if let Some(present) = limits.forbidden.iter().find(|h| has(h)) {
            return invalid(format!("the `{present}` header is not allowed"), false);
        }
        Ok(())
    }

    /// Whether the request's route declares a JSON Schema (then it takes JSON only).
    pub(crate) fn has_schema(&self, context: &RequestContext<'_>) -> bool {
        self.inner.routes.has_schema(context.method, context.path)
    }

    /// Inspect a body that is not JSON: a form field by field, text as a whole;
    /// binary bodies are not inspected.
    pub(crate) fn check_other_body(
        &self,
        context: &RequestContext<'_>,
        media: crate::protocol::MediaType,
        body: &[u8],
    ) -> Result<(), Rejection> {
        use crate::protocol::MediaType;
        let live = self.live();
        let inspector = &live.inspector;
        let finding = match media {
            MediaType::Form => inspector.inspect_form(&String::from_utf8_lossy(body)),
            MediaType::Text => {
                inspector.inspect_value(|| "body".to_owned(), &String::from_utf8_lossy(body))
            }
            MediaType::Json | MediaType::Binary => None,
        };
        self.verdict(&live, context, finding)
    }

    /// Refuse up front a body whose declared length is over the limit.
    pub(crate) fn check_declared_length(
        &self,
        content_length: Option<u64>,
    ) -> Result<(), Rejection> {
        match content_length {
            Some(length) if length > self.inner.max_body as u64 => {
                Err(Rejection::PayloadTooLarge {
                    limit: self.inner.max_body,
                })
            }
            _ => Ok(()),
        }
    }

    /// Check a complete JSON body: syntax, every string and key, then the route's schema.
    pub fn check_json_body(
        &self,
        context: &RequestContext<'_>,
        body: &[u8],
    ) -> Result<(), Rejection> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| Rejection::InvalidJson {
                message: e.to_string(),
            })?;
        let live = self.live();
        let finding = live.inspector.inspect_json(&value);
        self.verdict(&live, context, finding)?;
        self.inner
            .routes
            .check_body(context.method, context.path, &value)
            .map_err(Rejection::ValidationFailed)
    }

    /// A body is empty: fine unless the route has a schema.
    pub(crate) fn check_missing_body(
        &self,
        context: &RequestContext<'_>,
        media: MediaType,
    ) -> Result<(), Rejection> {
        if !self.inner.routes.has_schema(context.method, context.path) {
            return Ok(());
        }
        if media == MediaType::Json {
            return Err(Rejection::InvalidJson {
                message: "the body is empty, which is not JSON".to_owned(),
            });
        }
        Err(Rejection::ValidationFailed(vec![FieldError {
            field: "/".to_owned(),
            message: "a JSON body is required".to_owned(),
        }]))
    }

    /// Log a finding; in blocking mode it becomes a rejection.
    fn verdict(
        &self,
        live: &Live,
        context: &RequestContext<'_>,
        finding: Option<Finding>,
    ) -> Result<(), Rejection> {
        let Some(finding) = finding else {
            return Ok(());
        };
        let blocked = live.mode == Mode::Block;
        crate::metrics::found(finding.category, blocked);
        if let Some(log) = &self.inner.log {
            let sender = context.sender;
            log.record(
                &SecurityEvent::new(
                    &finding,
                    &sender.request_id(),
                    sender.client_ip().map(|ip| ip.to_string()),
                    context.method,
                    context.path,
                    blocked,
                )
                .with_trace(sender.trace()),
            );
        }
        tracing::warn!(rule = %finding.rule_id, location = %finding.location, blocked, "input filter finding");
        if blocked {
            Err(Rejection::Blocked(finding))
        } else {
            Ok(())
        }
    }
}

impl FilterBuilder {
    /// Use `inspector` (custom or trimmed rules).
    pub fn inspector(mut self, inspector: Inspector) -> Self {
        self.inspector = inspector;
        self
    }

    /// Block (default) or only detect.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The largest body accepted, in bytes.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// How long a request body may take to arrive before the request is refused
    /// with 408 (default 30 s; `None` waits forever, which lets slow clients hold
    /// connections and buffers).
    pub fn body_timeout(mut self, timeout: Option<std::time::Duration>) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Also inspect the header `name`.
    pub fn inspect_header(mut self, name: &str) -> Self {
        self.headers.push(name.to_ascii_lowercase());
        self
    }

    /// Write findings to `log`.
    pub fn security_log(mut self, log: SecurityLog) -> Self {
        self.log = Some(log);
        self
    }

    /// At most `count` headers of at most `bytes` in all (defaults: 100, 16 KiB).
    pub fn header_limits(mut self, count: usize, bytes: usize) -> Self {
        self.header_limits.max_count = count;
        self.header_limits.max_bytes = bytes;
        self
    }

    /// Refuse requests without the header `name`.
    pub fn require_header(mut self, name: &str) -> Self {
        self.header_limits.required.push(name.to_ascii_lowercase());
        self
    }

    /// Refuse requests with the header `name`.
    pub fn forbid_header(mut self, name: &str) -> Self {
        self.header_limits.forbidden.push(name.to_ascii_lowercase());
        self
    }

    /// Validate parameters and bodies of these routes.
    pub fn routes(mut self, routes: Routes) -> Self {
        self.routes = routes;
        self
    }

    /// Check the settings and build the filter.
    pub fn build(self) -> Result<Filter, ConfigError> {
        let invalid = |what: &str| Err(ConfigError::InvalidLimit(what.to_owned()));
        if self.max_body == 0 {
            return invalid("the body limit must be at least 1 byte");
        }
        if self.body_timeout.is_some_and(|t| t.is_zero()) {
            return invalid("the body timeout must be longer than zero (or none)");
        }
        let limits = &self.header_limits;
        if limits.max_count == 0 || limits.max_bytes == 0 {
            return invalid("the header limits must allow at least one header");
        }
        let names = self
            .headers
            .iter()
            .chain(&limits.required)
            .chain(&limits.forbidden);
        if let Some(name) = names
            .clone()
            .find(|n| http::HeaderName::from_bytes(n.as_bytes()).is_err())
        {
            return Err(ConfigError::InvalidHeaderName(name.clone()));
        }
        if let Some(both) = limits
            .required
            .iter()
            .find(|n| limits.forbidden.contains(n))
        {
            return Err(ConfigError::InvalidHeaderName(format!(
                "{both} (both required and forbidden)"
            )));
        }
        Ok(Filter {
            pinned: None,
            inner: Arc::new(Inner {
                live: arc_swap::ArcSwap::from_pointee(Live {
                    inspector: self.inspector,
                    mode: self.mode,
                }),
                max_body: self.max_body,
                body_timeout: self.body_timeout,
                headers: self.headers,
                log: self.log,
                routes: self.routes,
                header_limits: self.header_limits,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_that_would_refuse_everything_are_errors() {
        let limit =
            |builder: FilterBuilder| matches!(builder.build(), Err(ConfigError::InvalidLimit(_)));
        assert!(limit(Filter::builder().max_body(0)));
        assert!(limit(
            Filter::builder().body_timeout(Some(std::time::Duration::ZERO))
        ));
        assert!(limit(Filter::builder().header_limits(0, 1024)));
        let name = |builder: FilterBuilder| {
            matches!(builder.build(), Err(ConfigError::InvalidHeaderName(_)))
        };
        assert!(name(Filter::builder().inspect_header("bad name")));
        assert!(name(Filter::builder().require_header("x:y")));
        assert!(name(
            Filter::builder()
                .require_header("x-key")
                .forbid_header("X-Key")
        ));
        assert!(
            Filter::builder()
                .require_header("x-key")
                .body_timeout(None)
                .build()
                .is_ok()
        );
    }
}
