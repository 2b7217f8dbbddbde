//! The request span and the fields other layers record in it, gathered by
//! [`FieldsLayer`] without any crate depending on another.

use std::fmt;
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Span, Subscriber};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The target of the request span.
pub const SPAN_TARGET: &str = "edge_log";
/// The name of the request span.
pub const SPAN_NAME: &str = "request";

/// The span fields other layers fill (each crate records its own by name).
pub mod field {
    /// The authenticated subject (edge-auth).
    pub const USER: &str = "user";
    /// The tightest rate-limit policy as `policy:remaining/limit` (edge-ratelimit).
    pub const RATELIMIT: &str = "ratelimit";
    /// `hit`, `miss` or `bypass` (edge-cache).
    pub const CACHE: &str = "cache";
    /// Database queries made for the request (edge-db).
    pub const DB_QUERIES: &str = "db_queries";
    /// The client address when a layer resolved it through trusted proxies.
    pub const CLIENT_IP: &str = "client_ip";
}

/// A rate-limit state as logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RateLimitField {
    /// The policy's name.
    pub policy: String,
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests left in the window.
    pub remaining: u64,
}

impl RateLimitField {
    /// Parse `policy:remaining/limit` (the policy may itself contain `:`).
    pub fn parse(value: &str) -> Option<RateLimitField> {
        let (policy, counts) = value.rsplit_once(':')?;
        let (remaining, limit) = counts.split_once('/')?;
        Some(RateLimitField {
            policy: policy.to_owned(),
            limit: limit.parse().ok()?,
            remaining: remaining.parse().ok()?,
        })
    }
}

/// What the other layers recorded in a request span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanFields {
    /// [`field::USER`].
    pub user: Option<String>,
    /// [`field::RATELIMIT`].
    pub ratelimit: Option<RateLimitField>,
    /// [`field::CACHE`].
    pub cache: Option<String>,
    /// [`field::DB_QUERIES`].
    pub db_queries: Option<u64>,
    /// [`field::CLIENT_IP`].
    pub client_ip: Option<String>,
}

impl SpanFields {
    /// These fields, with every field `other` has replacing this one's.
    #[must_use]
    pub fn overridden_by(self, other: SpanFields) -> SpanFields {
        SpanFields {
            user: other.user.or(self.user),
            ratelimit: other.ratelimit.or(self.ratelimit),
            cache: other.cache.or(self.cache),
            db_queries: other.db_queries.or(self.db_queries),
            client_ip: other.client_ip.or(self.client_ip),
        }
    }

    fn set(&mut self, name: &str, value: String) {
        match name {
            field::USER => self.user = Some(value),
            field::RATELIMIT => self.ratelimit = RateLimitField::parse(&value),
            field::CACHE => self.cache = Some(value),
            field::DB_QUERIES => self.db_queries = value.parse().ok(),
            field::CLIENT_IP => self.client_ip = Some(value),
            _ => {}
        }
    }
}

impl Visit for SpanFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name(), value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == field::DB_QUERIES {
            self.db_queries = Some(value);
        } else {
            self.set(field.name(), value.to_string());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match u64::try_from(value) {
            Ok(value) => self.record_u64(field, value),
            Err(_) => self.set(field.name(), value.to_string()),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if matches!(
            field.name(),
            field::USER | field::RATELIMIT | field::CACHE | field::DB_QUERIES | field::CLIENT_IP
        ) {
            self.set(field.name(), format!("{value:?}"));
        }
    }
}

/// The fields of one request span, shared between the span and its middleware.
#[derive(Debug, Clone, Default)]
struct Collected(Arc<std::sync::Mutex<SpanFields>>);

/// A `tracing_subscriber` layer that keeps the fields recorded in request spans
/// so the access-log middleware can write them. Install it **without** a level
/// filter (filter your other layers per layer), or the request span is disabled
/// and the fields are lost:
///
/// ```
/// use tracing_subscriber::{EnvFilter, Layer, fmt, prelude::*};
///
/// tracing_subscriber::registry()
///     .with(edge_log::FieldsLayer)
///     .with(fmt::layer().with_writer(std::io::stderr).with_filter(EnvFilter::new("info")))
///     .try_init()
///     .ok();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldsLayer;

impl<S> Layer<S> for FieldsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let metadata = attrs.metadata();
        if metadata.name() != SPAN_NAME || metadata.target() != SPAN_TARGET {
            return;
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Collected::default());
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let extensions = span.extensions();
        if let Some(collected) = extensions.get::<Collected>() {
            let mut fields = collected
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            values.record(&mut *fields);
        }
    }
}

/// A handle on a request span's collected fields (empty when the span is
/// disabled or [`FieldsLayer`] is not installed on a [`Registry`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldsHandle(Option<Collected>);

impl FieldsHandle {
    pub(crate) fn of(span: &Span) -> FieldsHandle {
        let collected = span.with_subscriber(|(id, dispatch)| {
            let registry = dispatch.downcast_ref::<Registry>()?;
            let span = registry.span(id)?;
            span.extensions().get::<Collected>().cloned()
        });
        FieldsHandle(collected.flatten())
    }

    pub(crate) fn take(&self) -> SpanFields {
        match &self.0 {
            Some(collected) => std::mem::take(
                &mut *collected
                    .0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            ),
            None => SpanFields::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_values_parse_from_the_right() {
        assert_eq!(
            RateLimitField::parse("ip:599/600"),
            Some(RateLimitField {
                policy: "ip".to_owned(),
                limit: 600,
                remaining: 599
            })
        );
        assert_eq!(RateLimitField::parse("a:b:0/5").unwrap().policy, "a:b");
        for bad in ["", "ip", "ip:5", "ip:x/5", "ip:5/-1"] {
            assert_eq!(RateLimitField::parse(bad), None, "{bad}");
        }
    }
}
