//! Every error response as RFC 9457 problem+json with the request id: the
//! `Problems` middleware, and the translation of each crate's rejection (and of
//! actix-web's own errors) into the API's [`ApiError`] codes.

use std::future::{Ready, ready};

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{self, HeaderValue};
use edge_auth::AuthError;
use edge_filter::Rejection;
use edge_log::RequestId;
use edge_ratelimit::Verdict;
use futures_util::TryFutureExt;
use futures_util::future::MapOk;

use crate::problem::{ApiError, Code, PROBLEM_JSON};

/// The filter's rejections the API answers differently from the crate: header
/// limits are a bad parameter (400) here, as SPEC §4 has no 431.
fn filter_error(rejection: &Rejection) -> Option<ApiError> {
    match rejection {
        Rejection::InvalidHeaders {
            too_large: true, ..
        } => Some(ApiError::new(Code::InvalidParameter, rejection.detail())),
        _ => None,
    }
}

/// No route matched: 404, or 400 for a path with an encoded `/` or `\\` (no
/// route has one, and it has no single meaning).
pub(super) async fn no_route(
    request: actix_web::HttpRequest,
) -> Result<actix_web::HttpResponse, ApiError> {
    if crate::canonical::has_encoded_separator(request.path()) {
        return Err(ApiError::new(
            Code::InvalidParameter,
            "the path has an encoded `/` or `\\`, which has no single meaning",
        ));
    }
    Err(ApiError::new(Code::NotFound, "no route matches this path"))
}

pub(super) fn json_error(err: &actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError;
    match err {
        JsonPayloadError::ContentType => ApiError::new(
            Code::UnsupportedMediaType,
            "the body must be application/json",
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            Code::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::validation(vec![crate::problem::FieldError {
                field: "/".to_owned(),
                message: e.to_string(),
            }])
        }
        other => ApiError::new(Code::InvalidJson, other.to_string()),
    }
}

/// Every error response becomes problem+json carrying the request id (which
/// the access logger, outside, put in the request and echoes on the response).
/// A plain service wrapper rather than `from_fn`, whose boxed inner service and
/// future cost an allocation and an indirect call per request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Problems;

impl<S, B> Transform<S, ServiceRequest> for Problems
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Transform = ProblemsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ProblemsMiddleware { service }))
    }
}

/// The middleware built by [`Problems`].
pub(super) struct ProblemsMiddleware<S> {
    service: S,
}

type ToProblem<B> = fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B, BoxBody>>;

impl<S, B> Service<ServiceRequest> for ProblemsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    // Every layer inside answers with a response (errors included), so an `Err`
    // here is an actix-web internal failure; it is passed on as it is.
    type Future = MapOk<S::Future, ToProblem<B>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        self.service.call(request).map_ok(errors as ToProblem<B>)
    }
}

/// An error response rendered as a problem; other responses as they are.
fn errors<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> ServiceResponse<EitherBody<B, BoxBody>> {
    let response = response.map_into_left_body();
    if response.status().as_u16() < 400 {
        return response;
    }
    // The request id is looked up only for the responses that show it.
    let id = response
        .request()
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::generate);
    render_problem(response, id.as_str())
}

/// Render an error response's body as a problem: a handler's or extractor's
/// [`ApiError`], or a bare error status from actix-web itself (404, 405, ...).
/// JSON error bodies that are not errors of ours (the health report) pass as they are.
fn render_problem<B: MessageBody + 'static>(
    response: ServiceResponse<EitherBody<B, BoxBody>>,
    request_id: &str,
) -> ServiceResponse<EitherBody<B, BoxBody>> {
    let status = response.status();
    if status.as_u16() < 400 {
        return response;
    }
    // A crate's rejection (auth, limits, filter) already is a problem with the
    // request id, rendered by edge-core like ours: it goes out as it is.
    let from_crate = {
        let extensions = response.response().extensions();
        extensions.contains::<AuthError>()
            || extensions.contains::<Verdict>()
            || extensions.contains::<Rejection>()
    };
    let api_error = match response.response().error() {
        // Raised by a handler or an extractor: ours, or edge-auth's (a missing
        // identity, a forbidden change), rendered here with the request id.
        Some(error) => error
            .as_error::<ApiError>()
            .cloned()
            .or_else(|| error.as_error::<AuthError>().cloned().map(ApiError::from)),
        None => response
            .response()
            .extensions()
            .get::<Rejection>()
            .and_then(filter_error),
    };
    if api_error.is_none() && from_crate {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let error = match api_error {
        Some(error) => error,
        None if is_json => return response,
        None => {
            let code = Code::for_status(status);
            let detail = match code {
                Code::NotFound => "no route matches this path".to_owned(),
                Code::MethodNotAllowed => "this route does not accept this method".to_owned(),
                _ => status.canonical_reason().unwrap_or("error").to_owned(),
            };
            ApiError::new(code, detail)
        }
    };
    let body = error.to_problem(request_id).to_json();
    response.map_body(|head, _| {
        head.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // The problem replaces the body, so no encoding of the old one applies.
        head.headers_mut().remove(header::CONTENT_ENCODING);
        EitherBody::right(BoxBody::new(body))
    })
}
