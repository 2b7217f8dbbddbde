//! Capturing the fields recorded on `tracing` spans, to test what middleware records.
//!
//! ```
//! use edge_test_support::spans::RecordedFields;
//! use tracing::field::Empty;
//!
//! let fields = RecordedFields::default();
//! tracing::subscriber::with_default(fields.subscriber(), || {
//!     let span = tracing::info_span!("request", user = Empty);
//!     span.record("user", "42");
//! });
//! assert_eq!(fields.get("user").as_deref(), Some("42"));
//! ```

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Every field value recorded on any span, by field name (the last value wins).
#[derive(Debug, Clone, Default)]
pub struct RecordedFields(Arc<Mutex<HashMap<String, String>>>);

impl RecordedFields {
    /// A subscriber that records into `self`.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        Registry::default().with(self.clone())
    }

    /// The value recorded for `field`, as text.
    pub fn get(&self, field: &str) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(field)
            .cloned()
    }
}

struct Collect<'a>(&'a Mutex<HashMap<String, String>>);

impl Visit for Collect<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for RecordedFields {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        attrs.record(&mut Collect(&self.0));
    }

    fn on_record(&self, _: &Id, values: &Record<'_>, _: Context<'_, S>) {
        values.record(&mut Collect(&self.0));
    }
}
