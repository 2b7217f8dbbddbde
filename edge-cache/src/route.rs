//! [`Route`]: what the cache does for the requests of one path template.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;

use crate::ConfigError;
use crate::core::template::{Params, PathTemplate, TagTemplate};

/// Caching rules for the paths matching one template (`/api/items/{id}`,
/// `/static/{*file}`): GETs and HEADs are read from the cache, writes
/// (POST/PUT/PATCH/DELETE) invalidate.
///
/// Every entry is tagged with its own path, and every write invalidates its own
/// path, so a `PUT /api/items/5` always drops the cached `GET /api/items/5` and a
/// `POST /api/items` drops every cached page of `GET /api/items?...`. Declare the
/// other dependencies with [`Route::invalidates`]:
///
/// ```
/// use std::time::Duration;
/// use edge_cache::{Cache, Route};
///
/// let cache = Cache::builder()
///     // Changing one item changes the list pages too.
///     .route(Route::new("/api/items/{id}").share_authorized().invalidates("/api/items"))
///     .route(Route::new("/api/items").share_authorized().ttl(Duration::from_secs(5)))
///     .route(Route::new("/api/me").no_store())
///     .build()?;
/// # Ok::<(), edge_cache::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Route {
    template: String,
    ttl: Option<Duration>,
    store: bool,
    shared: bool,
    announce: Option<bool>,
    vary: Vec<String>,
    tags: Vec<String>,
    invalidates: Vec<String>,
}

impl Route {
    /// Rules for the paths matching `template`: literal segments, `{name}` for one
    /// segment, a final `{*name}` for the rest. The first matching route applies.
    pub fn new(template: impl Into<String>) -> Self {
        Route {
            template: template.into(),
            ttl: None,
            store: true,
            shared: false,
            announce: None,
            vary: Vec::new(),
            tags: Vec::new(),
            invalidates: Vec::new(),
        }
    }

    /// How long entries of this route live (else the cache's default). A
    /// response's own `max-age`/`s-maxage` can only shorten it.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Never cache this route (its writes still invalidate).
    pub fn no_store(mut self) -> Self {
        self.store = false;
        self
    }

    /// The responses are the same for every caller, so requests that carry
    /// `Authorization` or `Cookie` may be answered from the cache and stored in it.
    /// Without this such requests bypass the cache, as RFC 9111 §3.5 asks of
    /// shared caches. Put the cache *after* authentication so that only allowed
    /// callers reach it.
    ///
    /// Such responses carry neither `X-Cache` nor `Age` (unless
    /// [`announce_status`](Route::announce_status) says otherwise): a `HIT` would
    /// tell one caller that another fetched the resource recently. The status
    /// still reaches the application as the [`CacheStatus`](crate::CacheStatus)
    /// response extension (for the access log).
    pub fn share_authorized(mut self) -> Self {
        self.shared = true;
        self
    }

    /// Whether responses of this route carry `X-Cache` and `Age` (default: yes,
    /// except on [`share_authorized`](Route::share_authorized) routes).
    pub fn announce_status(mut self, announce: bool) -> Self {
        self.announce = Some(announce);
        self
    }

    /// Keep a separate entry per value of this request header (`Accept-Language`).
    /// Responses whose `Vary` names a header not declared here (other than
    /// `Accept-Encoding`, which the cache handles) are not stored.
    pub fn vary(mut self, header: impl Into<String>) -> Self {
        self.vary.push(header.into());
        self
    }

    /// An extra tag on this route's entries (`item:{id}`), for
    /// [`Cache::invalidate`](crate::Cache::invalidate) and other routes' writes.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// An extra tag (a path such as `/api/items`, or a [`Route::tag`]) that writes
    /// to this route invalidate, besides their own path.
    pub fn invalidates(mut self, tag: impl Into<String>) -> Self {
        self.invalidates.push(tag.into());
        self
    }

    pub(crate) fn compile(self) -> Result<CompiledRoute, ConfigError> {
        let path =
            PathTemplate::parse(&self.template).map_err(|e| ConfigError::InvalidTemplate {
                template: e.template,
                reason: e.reason,
            })?;
        let vary = self
            .vary
            .iter()
            .map(|name| {
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| ConfigError::InvalidHeaderName(name.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tags = |list: &[String]| {
            list.iter()
                .map(|tag| TagTemplate::parse(tag, &path))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(CompiledRoute {
            rules: Rules {
                tags: tags(&self.tags)?,
                invalidates: tags(&self.invalidates)?,
                ttl: self.ttl,
                store: self.store,
                only_public: false,
                shared: self.shared,
                announce: self.announce.unwrap_or(!self.shared),
                vary: vary.into(),
            },
            path,
            template: self.template,
        })
    }
}

/// A [`Route`] ready to match.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRoute {
    pub(crate) path: PathTemplate,
    pub(crate) rules: Rules,
    /// The template as given, which [`Ttls`](crate::Ttls) names it by.
    pub(crate) template: String,
}

/// What the cache does with GETs of paths no [`Route`] matches
/// ([`CacheBuilder::unlisted`](crate::CacheBuilder::unlisted)). Requests with
/// credentials (`Authorization`, `Cookie`) always pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unlisted {
    /// Store a response only when it says `Cache-Control: public` (for its
    /// `s-maxage`/`max-age`, at most the default TTL): the application opts
    /// each response in. The default.
    #[default]
    Public,
    /// Store every cacheable anonymous 200 for the default TTL.
    All,
    /// Never: unlisted paths pass through, and writes to them invalidate nothing.
    Never,
}

/// What applies to the requests of a route (or of unlisted paths).
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) ttl: Option<Duration>,
    pub(crate) store: bool,
    /// Store only responses marked `Cache-Control: public` (unlisted paths by default).
    pub(crate) only_public: bool,
    pub(crate) shared: bool,
    /// Whether responses carry `X-Cache` and `Age`.
    pub(crate) announce: bool,
    pub(crate) vary: Arc<[HeaderName]>,
    pub(crate) tags: Vec<TagTemplate>,
    pub(crate) invalidates: Vec<TagTemplate>,
}

impl Rules {
    /// The rules of paths no route matches.
    pub(crate) fn unlisted(unlisted: Unlisted) -> Self {
        Rules {
            ttl: None,
            store: unlisted != Unlisted::Never,
            only_public: unlisted == Unlisted::Public,
            shared: false,
            announce: true,
            vary: Arc::new([]),
            tags: Vec::new(),
            invalidates: Vec::new(),
        }
    }
}

/// `path` followed by the rendered `templates`.
pub(crate) fn tags_for(
    path: &str,
    templates: &[TagTemplate],
    params: &Params<'_>,
) -> smallvec::SmallVec<[String; 2]> {
    std::iter::once(path.to_owned())
        .chain(templates.iter().map(|t| t.render(params)))
        .collect()
}
