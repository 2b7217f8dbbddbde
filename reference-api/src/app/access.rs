//! The access line's glue: what edge-log writes besides its own fields, read
//! from the extensions the other layers leave.

use actix_web::HttpMessage;
use edge_auth::Identity;

/// The access line's fields, from the extensions each layer leaves: the
/// authenticated identity (edge-auth, request), the tightest rate-limit state
/// (edge-ratelimit), the cache status (edge-cache) and the query count (edge-db,
/// responses).
pub(super) fn access_fields(
    request: &actix_web::HttpRequest,
    response: &actix_web::dev::Extensions,
    fields: &mut edge_log::SpanFields,
) {
    fields.user = request
        .extensions()
        .get::<Identity>()
        .map(|identity| identity.subject().to_owned());
    fields.ratelimit = response
        .get::<edge_ratelimit::RateLimitState>()
        .map(|state| edge_log::RateLimitField {
            policy: String::from(&*state.policy),
            limit: state.limit.into(),
            remaining: state.remaining.into(),
        });
    fields.cache = response
        .get::<edge_cache::CacheStatus>()
        .map(|status| status.as_lowercase().to_owned());
    fields.db_queries = response
        .get::<edge_db::QueryCount>()
        .map(|count| count.get());
}
