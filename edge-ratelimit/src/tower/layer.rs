use std::net::IpAddr;
use std::sync::Arc;

use http::Extensions;
use tower_layer::Layer;

use super::RateLimiting;
use crate::RateLimiter;
use edge_core::Subject;

pub(super) type Extract<T> = Arc<dyn Fn(&Extensions) -> Option<T> + Send + Sync>;

/// Applies [`RateLimiting`] to a service.
#[derive(Clone)]
#[must_use]
pub struct RateLimitingLayer {
    pub(super) limiter: RateLimiter,
    pub(super) peer: Extract<IpAddr>,
    pub(super) subject: SubjectFn,
    pub(super) key: KeyFn,
}

/// Borrows the subject from the extensions: no copy per request.
pub(super) type SubjectFn = for<'a> fn(&'a Extensions) -> Option<&'a str>;

fn no_subject(_: &Extensions) -> Option<&str> {
    None
}

fn read_subject<T: Subject>(extensions: &Extensions) -> Option<&str> {
    extensions.get::<T>().map(T::subject)
}

pub(super) type KeyFn = Arc<dyn Fn(&http::HeaderMap, &Extensions) -> Option<String> + Send + Sync>;

impl std::fmt::Debug for RateLimitingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitingLayer")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl RateLimitingLayer {
    /// A layer checking with `limiter`. The peer address is edge-core's
    /// [`peer_addr`](edge_core::peer_addr) (a `SocketAddr` extension, or with the
    /// `axum` feature `ConnectInfo<SocketAddr>`); there is no subject until
    /// [`RateLimitingLayer::subject`].
    pub fn new(limiter: RateLimiter) -> Self {
        RateLimitingLayer {
            limiter,
            peer: Arc::new(edge_core::peer_addr),
            subject: no_subject,
            key: Arc::new(|_: &http::HeaderMap, _: &Extensions| None),
        }
    }

    /// The key of `KeyKind::Custom` policies, from the request's headers and
    /// extensions (e.g. `|headers, _| headers.get("x-api-key")?.to_str().ok().map(str::to_owned)`).
    pub fn key_from(
        mut self,
        key: impl Fn(&http::HeaderMap, &Extensions) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.key = Arc::new(key);
        self
    }

    /// Where the socket peer's address is found in the request extensions.
    pub fn peer_from(
        mut self,
        peer: impl Fn(&Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    ) -> Self {
        self.peer = Arc::new(peer);
        self
    }

    /// Key `Subject` policies by the authenticated caller: the `T` an auth layer
    /// left in the request's extensions (edge-auth's `Identity`, or any type
    /// implementing edge-core's [`Subject`]), borrowed from them.
    pub fn subject<T: Subject>(mut self) -> Self {
        self.subject = read_subject::<T>;
        self
    }
}

impl<S> Layer<S> for RateLimitingLayer {
    type Service = RateLimiting<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimiting {
            inner,
            layer: self.clone(),
        }
    }
}
