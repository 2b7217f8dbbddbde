//! actix-web middleware: [`ResponseCache`] answers cacheable GETs from the
//! [`Cache`], stores the routes' cacheable answers, and invalidates after writes.
//! Bodies are buffered only when their length is known; streams pass through.
//!
//! actix-web 4 speaks `http` 0.2 and the cache `http` 1: the middleware copies
//! just the request headers the cache reads ([`Cache::request_headers`]).
//!
//! ```
//! use actix_web::{App, web};
//! use edge_cache::{Cache, Route, actix::ResponseCache};
//!
//! let cache = Cache::builder().route(Route::new("/items/{id}")).build()?;
//! let app = App::new()
//!     .wrap(ResponseCache::new(cache))
//!     .route("/items/{id}", web::get().to(|| async { "an item" }));
//! # Ok::<(), edge_cache::ConfigError>(())
//! ```

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::HttpResponse;
use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header as actix_header;
use futures_util::future::{Either, LocalBoxFuture};

use crate::{Action, Begin, Cache, Handling, Miss, Passing, Reply};

/// `X-Cache` in actix-web's header types, made at compile time.
const ACTIX_X_CACHE: actix_header::HeaderName = actix_header::HeaderName::from_static("x-cache");

/// The middleware factory: `App::new().wrap(ResponseCache::new(cache))`.
#[derive(Debug, Clone)]
#[must_use]
pub struct ResponseCache {
    cache: Cache,
    request_headers: RequestHeaders,
}

/// [`Cache::request_headers`] in both header types, converted once: a name looked
/// up as `&str` would be parsed (and a non-standard one copied) per request.
type RequestHeaders = std::sync::Arc<[(http::HeaderName, actix_header::HeaderName)]>;

impl ResponseCache {
    /// Cache responses in `cache` (build it once, outside `HttpServer::new`, so
    /// every worker shares it).
    pub fn new(cache: Cache) -> Self {
        let request_headers = cache
            .request_headers()
            .iter()
            .filter_map(|name| {
                let actix = edge_core::http02::name_to_http02(name)?;
                Some((name.clone(), actix))
            })
            .collect();
        ResponseCache {
            cache,
            request_headers,
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for ResponseCache
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Transform = ResponseCacheMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ResponseCacheMiddleware {
            service: Rc::new(service),
            cache: self.cache.clone(),
            request_headers: std::sync::Arc::clone(&self.request_headers),
        }))
    }
}

/// The middleware built by [`ResponseCache`].
pub struct ResponseCacheMiddleware<S> {
    service: Rc<S>,
    cache: Cache,
    request_headers: RequestHeaders,
}

impl<S> std::fmt::Debug for ResponseCacheMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCacheMiddleware")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for ResponseCacheMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    /// A hit in memory is answered at once; everything else needs a boxed future.
    type Future = Either<
        Ready<Result<Self::Response, Self::Error>>,
        LocalBoxFuture<'static, Result<Self::Response, Self::Error>>,
    >;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let action = classify(&self.cache, &self.request_headers, &request);
        let action = match self.cache.answer_now(action) {
            Ok(reply) => {
                let response = request.into_response(to_actix(&reply));
                return Either::Left(ready(Ok(response.map_into_right_body())));
            }
            Err(action) => action,
        };
        let service = Rc::clone(&self.service);
        let cache = self.cache.clone();
        Either::Right(Box::pin(async move {
            let pending = match cache.begin(action).await {
                Begin::Answer(reply) => {
                    return Ok(request
                        .into_response(to_actix(&reply))
                        .map_into_right_body());
                }
                Begin::CallInner(pending) => pending,
            };
            let response = service.call(request).await?;
            let status = edge_core::http02::status_from_http02(response.status());
            let headers = edge_core::http02::headers_from_http02(response.headers().iter());
            let handling = cache
                .respond(pending, status, &headers, body_length(&response))
                .await;
            match handling {
                Handling::Store(miss) => store(miss, response, status, headers).await,
                Handling::Pass(passing) => pass(&cache, passing, response, headers).await,
            }
        }))
    }
}

/// The body's length when it is known before it is read.
fn body_length<B: MessageBody>(response: &ServiceResponse<B>) -> Option<u64> {
    match response.response().body().size() {
        BodySize::Sized(n) => Some(n),
        BodySize::None => Some(0),
        BodySize::Stream => None,
    }
}

fn classify(
    cache: &Cache,
    request_headers: &[(http::HeaderName, actix_header::HeaderName)],
    request: &ServiceRequest,
) -> Action {
    let method = http::Method::from_bytes(request.method().as_str().as_bytes())
        .unwrap_or(http::Method::OPTIONS);
    thread_local! {
        /// The copied request headers; reused, so a request allocates no map.
        static SCRATCH: std::cell::RefCell<http::HeaderMap> =
            std::cell::RefCell::new(http::HeaderMap::new());
    }
    SCRATCH.with_borrow_mut(|headers| {
        copy_request_headers(request_headers, request, headers);
        let query = Some(request.query_string()).filter(|q| !q.is_empty());
        let action = cache.classify(&method, request.path(), query, headers);
        // Keep the map's room, not the request's values.
        headers.clear();
        action
    })
}

/// Copy the request headers the cache reads.
fn copy_request_headers(
    request_headers: &[(http::HeaderName, actix_header::HeaderName)],
    request: &ServiceRequest,
    headers: &mut http::HeaderMap,
) {
    for (name, actix_name) in request_headers {
        // Credentials only matter by their presence: never copy a token.
        let presence_only = name == http::header::AUTHORIZATION || name == http::header::COOKIE;
        for value in request.headers().get_all(actix_name) {
            let value = if presence_only {
                http::HeaderValue::from_static("")
            } else {
                match http::HeaderValue::from_bytes(value.as_bytes()) {
                    Ok(value) => value,
                    Err(_) => continue,
                }
            };
            headers.append(name.clone(), value);
        }
    }
}

/// Replace `to`'s lines of every name in `from` with `from`'s.
fn copy_headers(from: &http::HeaderMap, to: &mut actix_header::HeaderMap) {
    for name in from.keys().filter_map(edge_core::http02::name_to_http02) {
        to.remove(name);
    }
    for (name, value) in edge_core::http02::lines_to_http02(from) {
        to.append(name, value);
    }
}

fn to_actix(reply: &Reply) -> HttpResponse {
    let mut response = HttpResponse::with_body(actix_status(reply), BoxBody::new(reply.body()));
    put_headers(reply, response.headers_mut());
    response.extensions_mut().insert(reply.cache_status());
    response
}

fn actix_status(reply: &Reply) -> actix_web::http::StatusCode {
    edge_core::http02::status_to_http02(reply.status())
}

/// An entry's header lines in actix-web's types; a clone of a value is a
/// reference count.
type ActixLines = Vec<(actix_header::HeaderName, actix_header::HeaderValue)>;

/// Replace `to`'s lines with the reply's: the entry's lines converted once (kept
/// with the entry) and cloned, then `Age` and `X-Cache`. Appending into the
/// response's own (pooled) map allocates nothing, unlike cloning a map.
fn put_headers(reply: &Reply, to: &mut actix_header::HeaderMap) {
    to.clear();
    let Some(lines) = reply.converted_headers(to_actix_lines) else {
        for (name, value) in edge_core::http02::lines_to_http02(&reply.headers()) {
            to.append(name, value);
        }
        return;
    };
    for (name, value) in lines {
        to.append(name.clone(), value.clone());
    }
    if !reply.announces_status() {
        return;
    }
    // Never among an entry's stored lines (`NOT_STORED`): appending adds them
    // without the search-and-remove of an insert.
    if let Some(age) = reply.age_secs() {
        to.append(actix_header::AGE, actix_header::HeaderValue::from(age));
    }
    to.append(
        ACTIX_X_CACHE,
        actix_header::HeaderValue::from_static(reply.cache_status().as_str()),
    );
}

fn to_actix_lines(from: &http::HeaderMap) -> ActixLines {
    edge_core::http02::lines_to_http02(from).collect()
}

/// Read the body and store the response; answer with the cache's reply.
async fn store<B>(
    miss: Miss,
    response: ServiceResponse<B>,
    status: http::StatusCode,
    headers: http::HeaderMap,
) -> Result<ServiceResponse<EitherBody<B, BoxBody>>, actix_web::Error>
where
    B: MessageBody + 'static,
{
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let body = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into()))?;
    let reply = miss.complete(status, headers, body).await;
    let mut response = head.set_body(BoxBody::new(reply.body()));
    *response.status_mut() = actix_status(&reply);
    put_headers(&reply, response.headers_mut());
    response.extensions_mut().insert(reply.cache_status());
    Ok(ServiceResponse::new(request, response).map_into_right_body())
}

/// Hand on a response the cache does not store, gzipped when worth it.
async fn pass<B>(
    cache: &Cache,
    passing: Passing,
    mut response: ServiceResponse<B>,
    mut headers: http::HeaderMap,
) -> Result<ServiceResponse<EitherBody<B, BoxBody>>, actix_web::Error>
where
    B: MessageBody + 'static,
{
    if let Some(x_cache) = passing.x_cache() {
        response.headers_mut().insert(
            ACTIX_X_CACHE,
            actix_header::HeaderValue::from_static(passing.cache_status().as_str()),
        );
        headers.insert(crate::X_CACHE, x_cache);
    }
    response
        .response_mut()
        .extensions_mut()
        .insert(passing.cache_status());
    if !passing.compress() {
        return Ok(response.map_into_left_body());
    }
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let body = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into()))?;
    let body = cache.compress(&mut headers, body);
    let mut response = head.set_body(BoxBody::new(body));
    copy_headers(&headers, response.headers_mut());
    if !headers.contains_key(http::header::CONTENT_ENCODING) {
        response
            .headers_mut()
            .remove(actix_header::CONTENT_ENCODING);
    }
    Ok(ServiceResponse::new(request, response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::core::entry::tests::sample;
    use crate::{Accepts, CacheStatus};

    fn lines(headers: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
        let mut lines: Vec<_> = headers.into_iter().collect();
        lines.sort();
        lines
    }

    #[test]
    fn converted_replies_carry_the_cores_lines() {
        let entry = Arc::new(sample());
        let etag = [entry.etag.clone()];
        let gzip = Accepts { gzip: true };
        let cases = [
            (&[][..], Accepts::default(), CacheStatus::Hit),
            (&[][..], gzip, CacheStatus::Hit),
            (&etag[..], gzip, CacheStatus::Hit),
            (&[][..], gzip, CacheStatus::Miss),
            (&etag[..], Accepts::default(), CacheStatus::Miss),
        ];
        // Twice: the first pass converts and keeps, the second clones what was kept.
        for _ in 0..2 {
            for (if_none_match, accepts, status) in cases {
                let reply = entry.render(if_none_match, accepts, 5_000, status);
                let core = lines(
                    reply
                        .headers()
                        .iter()
                        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned())),
                );
                let response = to_actix(&reply);
                let actix = lines(
                    response
                        .headers()
                        .iter()
                        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned())),
                );
                assert_eq!(actix, core);
                assert_eq!(response.status().as_u16(), reply.status().as_u16());
            }
        }
    }
}
