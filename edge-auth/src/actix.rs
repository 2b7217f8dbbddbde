//! actix-web middleware: [`Auth`] validates bearer tokens before the routes, and
//! [`Identity`] is an extractor for handlers.
//!
//! ```
//! use actix_web::{App, web};
//! use edge_auth::{Identity, Validator, actix::Auth};
//!
//! let validator = Validator::builder("edge")
//!     .hmac_secret(b"a secret of at least thirty-two bytes!!")
//!     .public("/healthz")
//!     .build()?;
//! let app = App::new()
//!     .wrap(Auth::new(validator))
//!     .route("/me", web::get().to(|who: Identity| async move { who.subject().to_owned() }));
//! # Ok::<(), edge_auth::ConfigError>(())
//! ```

use std::future::{Ready, ready};

use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::TryFutureExt;
use futures_util::future::{Either, MapOk};

use crate::{AuthError, Decision, Identity, Validator, response};

/// The middleware factory: `App::new().wrap(Auth::new(validator))`.
#[derive(Debug, Clone)]
#[must_use]
pub struct Auth {
    validator: Validator,
}

impl Auth {
    /// Validate with `validator`.
    pub fn new(validator: Validator) -> Self {
        Auth { validator }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Auth
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = AuthMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthMiddleware {
            service,
            validator: self.validator.clone(),
        }))
    }
}

/// The middleware built by [`Auth`].
#[derive(Debug)]
pub struct AuthMiddleware<S> {
    service: S,
    validator: Validator,
}

type Passed<B> = fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>;

impl<S, B> Service<ServiceRequest> for AuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Either<MapOk<S::Future, Passed<B>>, Ready<Result<Self::Response, Self::Error>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let authorization = request
            .headers()
            .get_all(actix_web::http::header::AUTHORIZATION);
        let cookies = request.headers().get_all(actix_web::http::header::COOKIE);
        let decision = self.validator.decide_raw(
            request.method().as_str(),
            request.path(),
            authorization.map(|v| v.as_bytes()),
            cookies.map(|v| v.as_bytes()),
        );
        let pass: Passed<B> = ServiceResponse::map_into_left_body;
        match decision {
            Decision::Public => Either::Left(self.service.call(request).map_ok(pass)),
            Decision::Authenticated(identity) => {
                tracing::Span::current().record(crate::SPAN_FIELD, identity.subject());
                request.extensions_mut().insert(identity);
                Either::Left(self.service.call(request).map_ok(pass))
            }
            Decision::Rejected(error) => {
                let response = {
                    let extensions = request.extensions();
                    let id = extensions.get::<edge_core::RequestId>();
                    rejection(&error, self.validator.realm(), id)
                };
                Either::Right(ready(Ok(request
                    .into_response(response)
                    .map_into_right_body())))
            }
        }
    }
}

/// The rejection as an actix-web response, the error kept in its extensions.
fn rejection(error: &AuthError, realm: &str, id: Option<&edge_core::RequestId>) -> HttpResponse {
    let status = edge_core::http02::status_to_http02(error.status());
    let rendered = response::body(error, id);
    let mut builder = HttpResponse::build(status);
    let content_type = edge_core::http02::content_type_to_http02(&rendered);
    builder.insert_header((CONTENT_TYPE, content_type));
    if status == StatusCode::UNAUTHORIZED
        && let Ok(challenge) =
            HeaderValue::from_bytes(response::www_authenticate(error, realm).as_bytes())
    {
        builder.insert_header((WWW_AUTHENTICATE, challenge));
    }
    let mut response = builder.body(rendered.body);
    response.extensions_mut().insert(error.clone());
    response
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        edge_core::http02::status_to_http02(self.status())
    }

    fn error_response(&self) -> HttpResponse {
        // Raised by a handler or extractor: the application renders it with the
        // request id it knows (this body has none).
        rejection(self, "edge", None)
    }
}

/// Handlers take the caller's identity as an argument; on a route the middleware
/// did not authenticate (a public one) extraction fails with 401.
impl FromRequest for Identity {
    type Error = AuthError;
    type Future = Ready<Result<Identity, AuthError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            request
                .extensions()
                .get::<Identity>()
                .cloned()
                .ok_or_else(AuthError::missing),
        )
    }
}
