//! Tower middleware: [`AuthLayer`] validates bearer tokens before the inner service.
//!
//! Public routes pass untouched; authenticated requests carry an
//! [`Identity`](crate::Identity) in their extensions; everything else is answered
//! with 401 (RFC 6750 challenge, problem+json body) without calling the inner service.
//!
//! ```
//! use edge_auth::{Identity, Validator, tower::AuthLayer};
//! use tower::ServiceBuilder;
//!
//! let validator = Validator::builder("edge")
//!     .hmac_secret(b"a secret of at least thirty-two bytes!!")
//!     .public("/healthz")
//!     .build()?;
//! let service = ServiceBuilder::new()
//!     .layer(AuthLayer::new(validator))
//!     .service_fn(|req: http::Request<String>| async move {
//!         let who = req.extensions().get::<Identity>().map(|i| i.subject().to_owned());
//!         Ok::<_, std::convert::Infallible>(http::Response::new(format!("{who:?}")))
//!     });
//! # Ok::<(), edge_auth::ConfigError>(())
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::AuthLayer;
pub use service::Auth;
