//! [`Validator`]: token in, [`Identity`] or [`AuthError`] out; and the per-request [`Decision`].

use std::sync::{Arc, RwLock};

use http::{HeaderMap, Method};

use crate::core::algorithm::Algorithm;
use crate::core::bearer::{bearer_credentials, check_token68};
use crate::core::cache::{Entry, TokenCache};
use crate::core::claims::{self, Checked, ClaimRules};
use crate::core::clock::{Clock, unix_secs};
use crate::core::hmac::HmacKey;
use crate::core::keys::KeySet;
use crate::core::public::PublicRoutes;
use crate::core::token;
use crate::{AuthError, AuthErrorKind, ConfigError, Identity};

/// Validates bearer tokens. Build one with [`Validator::builder`], share it by cloning.
#[derive(Clone, Debug)]
pub struct Validator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) allowed: Vec<Algorithm>,
    pub(crate) hmac: Vec<(Option<String>, HmacKey)>,
    pub(crate) keys: RwLock<Arc<KeySet>>,
    pub(crate) rules: ClaimRules,
    pub(crate) max_token_len: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cache: Option<TokenCache>,
    pub(crate) public: PublicRoutes,
    pub(crate) realm: String,
    /// The cookie a token may come in when there is no `Authorization` header.
    pub(crate) token_cookie: Option<String>,
    /// Called when a token names a key the validator does not have.
    pub(crate) unknown_key: std::sync::OnceLock<UnknownKeyHook>,
    /// The token cache's metric handles.
    pub(crate) meters: crate::metrics::Meters,
}

/// What to do when a token names an unknown key (fetch the provider's keys again).
#[derive(Clone)]
pub(crate) struct UnknownKeyHook(pub(crate) Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for UnknownKeyHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnknownKeyHook")
    }
}

/// Where a token being validated came from.
#[derive(Debug, Clone, Copy)]
enum Credentials {
    /// An `Authorization: Bearer` header's credentials, not yet checked to be a token68.
    Bearer,
    /// A token handed to [`Validator::validate`].
    Token,
}

/// What to do with one request.
#[derive(Debug, Clone)]
pub enum Decision {
    /// A public route: pass without an identity.
    Public,
    /// A valid token: pass with this identity.
    Authenticated(Identity),
    /// Reject with this error (401, with `WWW-Authenticate`).
    Rejected(AuthError),
}

impl Validator {
    pub(crate) fn from_inner(inner: Inner) -> Validator {
        Validator {
            inner: Arc::new(inner),
        }
    }

    /// Decide for a request: public routes pass, others need a valid bearer token
    /// (or, when configured, a token in a cookie).
    pub fn decide(&self, method: &Method, path: &str, headers: &HeaderMap) -> Decision {
        self.decide_raw(
            method.as_str(),
            path,
            headers
                .get_all(http::header::AUTHORIZATION)
                .iter()
                .map(|v| v.as_bytes()),
            headers
                .get_all(http::header::COOKIE)
                .iter()
                .map(|v| v.as_bytes()),
        )
    }

    /// [`Validator::decide`] over raw parts: the method name, the path, and the
    /// values of the `Authorization` and `Cookie` headers (for frameworks on
    /// other `http` versions; the cookies are read only when a
    /// [`token_cookie`](crate::ValidatorBuilder::token_cookie) is configured and
    /// no `Authorization` header came).
    pub fn decide_raw<'a>(
        &self,
        method: &str,
        path: &str,
        authorization: impl IntoIterator<Item = &'a [u8]>,
        cookies: impl IntoIterator<Item = &'a [u8]>,
    ) -> Decision {
        if self.inner.public.matches(method, path) {
            return Decision::Public;
        }
        let credentials = match (bearer_credentials(authorization), &self.inner.token_cookie) {
            (Err(missing), Some(name)) if missing.kind() == AuthErrorKind::Missing => {
                cookie_value(cookies, name).ok_or(missing)
            }
            (credentials, _) => credentials,
        };
        let validated = credentials.and_then(|token| self.validate_as(token, Credentials::Bearer));
        match validated {
            Ok(identity) => Decision::Authenticated(identity),
            Err(error) => {
                crate::metrics::rejected(&error);
                Decision::Rejected(error)
            }
        }
    }

    /// Validate one token: its form, algorithm, signature and claims.
    pub fn validate(&self, token: &str) -> Result<Identity, AuthError> {
        self.validate_as(token, Credentials::Token)
    }

    /// [`Validator::validate`]; bearer credentials are checked to be a token68
    /// first unless the cache holds them (then they were valid, so they are one).
    fn validate_as(&self, token: &str, credentials: Credentials) -> Result<Identity, AuthError> {
        let inner = &*self.inner;
        let now = unix_secs(&*inner.clock);
        let check_form = || match credentials {
            Credentials::Bearer => check_token68(token),
            Credentials::Token => Ok(()),
        };
        let Some(cache) = inner
            .cache
            .as_ref()
            .filter(|_| token.len() <= inner.max_token_len)
        else {
            check_form()?;
            return self
                .validate_uncached(token, now)
                .map(|(identity, _)| identity);
        };
        let key = TokenCache::key(token);
        let cached = cache.get(&key);
        inner.meters.token_cache(cached.is_some());
        if let Some(entry) = cached {
            return match claims::check_times(
                entry.expires,
                entry.not_before,
                now,
                inner.rules.leeway,
            ) {
                Ok(()) => Ok(entry.identity),
                Err(e) => {
                    if e.kind() == AuthErrorKind::Expired {
                        cache.remove(&key);
                    }
                    Err(e)
                }
            };
        }
        check_form()?;
        let (identity, checked) = self.validate_uncached(token, now)?;
        cache.insert(
            key,
            Entry {
                identity: identity.clone(),
                expires: checked.expires,
                not_before: checked.not_before,
            },
        );
        Ok(identity)
    }

    fn validate_uncached(&self, token: &str, now: u64) -> Result<(Identity, Checked), AuthError> {
        let inner = &*self.inner;
        let parsed = token::parse(token, inner.max_token_len)?;
        if parsed.header.alg.eq_ignore_ascii_case("none") {
            return Err(AuthError::malformed(
                "unsigned tokens (alg none) are not accepted",
            ));
        }
        let algorithm = Algorithm::from_name(&parsed.header.alg)
            .filter(|a| inner.allowed.contains(a))
            .ok_or_else(|| AuthError::malformed("the token's algorithm is not accepted"))?;
        let message = parsed.signing_input.as_bytes();
        let kid = parsed.header.kid.as_deref();
        if algorithm.is_hmac() {
            let mut named = inner
                .hmac
                .iter()
                .filter(|(key_id, _)| kid.is_none() || key_id.as_deref() == kid)
                .peekable();
            if named.peek().is_none() {
                return Err(AuthError::new(
                    AuthErrorKind::UnknownKey,
                    "the token names a key this server does not have",
                ));
            }
            if !named.any(|(_, key)| key.verify(algorithm, message, &parsed.signature)) {
                return Err(AuthError::new(
                    AuthErrorKind::BadSignature,
                    "the signature does not verify",
                ));
            }
        } else {
            let keys = inner.keys.read().unwrap_or_else(|p| p.into_inner()).clone();
            if let Err(error) = keys.verify(algorithm, kid, message, &parsed.signature) {
                if let (Some(kid), Some(hook)) = (kid, inner.unknown_key.get())
                    && !keys.has_kid(kid)
                {
                    (hook.0)();
                }
                return Err(error);
            }
        }
        let claims = token::claims(parsed.payload_b64)?;
        let checked = claims::check(&claims, &inner.rules, now)?;
        let identity = Identity::with_roles(checked.subject.clone(), checked.roles.clone(), claims);
        Ok((identity, checked))
    }

    /// Replace the asymmetric keys with a new JWK set (key rotation). Tokens
    /// verified with the old keys are forgotten by the cache.
    pub fn replace_jwks(&self, jwks: &[u8]) -> Result<(), ConfigError> {
        let keys = KeySet::from_jwks(jwks)?;
        *self.inner.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
        if let Some(cache) = &self.inner.cache {
            cache.clear();
        }
        Ok(())
    }

    /// Call `hook` whenever a token names a key this validator does not have
    /// (a provider's new key): [`RemoteJwks`](crate::oidc::RemoteJwks) fetches the
    /// keys again. The first hook set stays.
    #[cfg(feature = "oidc")]
    pub(crate) fn on_unknown_key(&self, hook: Arc<dyn Fn() + Send + Sync>) {
        let _ = self.inner.unknown_key.set(UnknownKeyHook(hook));
    }

    /// The realm named in `WWW-Authenticate` challenges.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// How many verified tokens are cached now.
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.as_ref().map_or(0, TokenCache::len)
    }
}

/// The value of the cookie `name` among the `Cookie` header values.
fn cookie_value<'a>(headers: impl IntoIterator<Item = &'a [u8]>, name: &str) -> Option<&'a str> {
    headers
        .into_iter()
        .filter_map(|value| std::str::from_utf8(value).ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then(|| value.trim_matches('"'))
        })
        .filter(|value| !value.is_empty())
}
