//! [`Subject`]: the authenticated caller, as the middlewares that key by user
//! read it.

/// A request extension that names the authenticated caller. An auth layer puts
/// one in the request's extensions (edge-auth's `Identity` is one); middlewares
/// that count or key by caller read it by its type (edge-ratelimit's
/// `subject::<Identity>()`), in tower and actix-web alike.
///
/// ```
/// use edge_core::Subject;
///
/// /// What a custom auth layer leaves in the extensions.
/// #[derive(Clone)]
/// struct ApiClient {
///     id: String,
/// }
///
/// impl Subject for ApiClient {
///     fn subject(&self) -> &str {
///         &self.id
///     }
/// }
/// ```
pub trait Subject: Send + Sync + 'static {
    /// The caller's stable id (a JWT's `sub`).
    fn subject(&self) -> &str;
}
