use tower_layer::Layer;

use super::Auth;
use crate::Validator;

/// Applies [`Auth`] to a service.
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthLayer {
    validator: Validator,
}

impl AuthLayer {
    /// A layer validating with `validator`.
    pub fn new(validator: Validator) -> Self {
        AuthLayer { validator }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            validator: self.validator.clone(),
        }
    }
}
