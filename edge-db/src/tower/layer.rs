use tower_layer::Layer;

use super::QueryCounter;

/// Wraps a service in [`QueryCounter`].
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct QueryCounterLayer;

impl QueryCounterLayer {
    /// A new layer.
    pub fn new() -> Self {
        QueryCounterLayer
    }
}

impl<S> Layer<S> for QueryCounterLayer {
    type Service = QueryCounter<S>;

    fn layer(&self, inner: S) -> Self::Service {
        QueryCounter { inner }
    }
}
