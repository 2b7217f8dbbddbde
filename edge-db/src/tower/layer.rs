use tower_layer::Layer;

use super::QueryCountService;

/// Wraps a service in [`QueryCountService`].
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct QueryCountLayer;

impl QueryCountLayer {
    /// A new layer.
    pub fn new() -> Self {
        QueryCountLayer
    }
}

impl<S> Layer<S> for QueryCountLayer {
    type Service = QueryCountService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        QueryCountService { inner }
    }
}
