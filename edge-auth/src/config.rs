//! [`ValidatorBuilder`]: configuration of a [`Validator`].

use std::num::NonZeroUsize;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http::Method;

use crate::ConfigError;
use crate::core::algorithm::Algorithm;
use crate::core::cache::TokenCache;
use crate::core::claims::ClaimRules;
use crate::core::clock::{Clock, SystemClock};
use crate::core::hmac::HmacKey;
use crate::core::keys::KeySet;
use crate::core::public::PublicRoutes;
use crate::core::validator::{Inner, Validator};

/// Builds a [`Validator`]. Only `iss` is required up front; add keys, then `build()`.
///
/// ```
/// use edge_auth::{Algorithm, Validator};
/// use std::time::Duration;
///
/// let validator = Validator::builder("https://issuer.example")
///     .hmac_secret(b"a secret of at least thirty-two bytes!!")
///     .audience("my-api")
///     .leeway(Duration::from_secs(30))
///     .public("/healthz")
///     .build()?;
/// # Ok::<(), edge_auth::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ValidatorBuilder {
    issuer: String,
    audience: Option<String>,
    leeway: Duration,
    algorithms: Vec<Algorithm>,
    hmac: Vec<(Option<String>, Vec<u8>)>,
    jwks: Option<Vec<u8>>,
    max_token_len: usize,
    role_claim: String,
    clock: Arc<dyn Clock>,
    cache_capacity: usize,
    public: Vec<(Option<String>, String)>,
    realm: String,
    token_cookie: Option<String>,
}

impl Validator {
    /// Start configuring a validator that requires `iss == issuer`.
    pub fn builder(issuer: impl Into<String>) -> ValidatorBuilder {
        ValidatorBuilder {
            issuer: issuer.into(),
            audience: None,
            leeway: Duration::from_secs(30),
            algorithms: Vec::new(),
            hmac: Vec::new(),
            jwks: None,
            max_token_len: 8 * 1024,
            role_claim: "role".to_owned(),
            clock: Arc::new(SystemClock),
            cache_capacity: 10_000,
            public: Vec::new(),
            realm: "edge".to_owned(),
            token_cookie: None,
        }
    }
}

impl ValidatorBuilder {
    /// Also require `aud` to be (or contain) `audience`. Without it `aud` is not checked.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Clock skew allowed on `exp` and `nbf` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Allow `algorithm`. Without calls to this, the algorithms of the given keys are
    /// allowed (HS256 for HMAC secrets). Tokens with any other `alg` are rejected.
    pub fn allow(mut self, algorithm: Algorithm) -> Self {
        if !self.algorithms.contains(&algorithm) {
            self.algorithms.push(algorithm);
        }
        self
    }

    /// Verify HS* tokens with `secret` (at least 32 bytes).
    pub fn hmac_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.hmac.push((None, secret.as_ref().to_vec()));
        self
    }

    /// Verify HS* tokens whose header names `kid` with `secret` (for secret rotation).
    pub fn hmac_secret_with_kid(
        mut self,
        kid: impl Into<String>,
        secret: impl AsRef<[u8]>,
    ) -> Self {
        self.hmac.push((Some(kid.into()), secret.as_ref().to_vec()));
        self
    }

    /// Verify RS*/PS256/ES*/EdDSA tokens with the keys of this JWK set (`{"keys":[...]}`),
    /// chosen by the token's `kid`. Replace them later with [`Validator::replace_jwks`].
    pub fn jwks(mut self, jwks: impl AsRef<[u8]>) -> Self {
        self.jwks = Some(jwks.as_ref().to_vec());
        self
    }

    /// Longest token accepted, in bytes (default 8 KiB).
    pub fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = len;
        self
    }

    /// Where the roles are read from (default `role`): a claim, or a
    /// dot-separated path into nested claims — `realm_access.roles`
    /// (Keycloak), `permissions` (Auth0), `scope` (space-separated). A string is
    /// split at spaces; an array gives its strings.
    pub fn role_claim(mut self, claim: impl Into<String>) -> Self {
        self.role_claim = claim.into();
        self
    }

    /// The clock (default: the system clock); tests pass a [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How many verified tokens to cache (default 10 000; 0 turns the cache off).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Let requests to the route `template` through without a token, any method
    /// (edge-core's template syntax: `/healthz`, `/items/{id}`, `/docs/{*rest}`).
    pub fn public(mut self, template: &str) -> Self {
        self.public.push((None, template.to_owned()));
        self
    }

    /// Let `method` requests to the route `template` through without a token.
    pub fn public_route(mut self, method: &Method, template: &str) -> Self {
        self.public
            .push((Some(method.as_str().to_owned()), template.to_owned()));
        self
    }

    /// Also take the token from the cookie `name` when a request has no
    /// `Authorization` header (browser apps that keep the token in an
    /// `HttpOnly` cookie). Browsers send cookies on cross-site requests too:
    /// set the cookie `SameSite=Strict` (or `Lax` and refuse unsafe methods
    /// from other sites), or add CSRF protection.
    pub fn token_cookie(mut self, name: impl Into<String>) -> Self {
        self.token_cookie = Some(name.into());
        self
    }

    /// The realm named in challenges (default `edge`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Check the settings and build the validator.
    pub fn build(self) -> Result<Validator, ConfigError> {
        if self.issuer.is_empty() {
            return Err(ConfigError::MissingIssuer);
        }
        let hmac = self
            .hmac
            .iter()
            .map(|(kid, secret)| Ok((kid.clone(), HmacKey::new(secret)?)))
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let keys = match &self.jwks {
            Some(jwks) => KeySet::from_jwks(jwks)?,
            None => KeySet::default(),
        };
        let mut allowed = self.algorithms.clone();
        if allowed.is_empty() {
            if !hmac.is_empty() {
                allowed.push(Algorithm::HS256);
            }
            for algorithm in keys.algorithms() {
                if !allowed.contains(&algorithm) {
                    allowed.push(algorithm);
                }
            }
        }
        if allowed.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        for algorithm in &allowed {
            let has_key = if algorithm.is_hmac() {
                !hmac.is_empty()
            } else {
                keys.algorithms().any(|a| a == *algorithm)
            };
            if !has_key {
                return Err(ConfigError::MissingKey(algorithm.name()));
            }
        }
        Ok(Validator::from_inner(Inner {
            allowed,
            hmac,
            keys: RwLock::new(Arc::new(keys)),
            rules: ClaimRules {
                issuer: self.issuer,
                audience: self.audience,
                leeway: self.leeway.as_secs(),
                role_claim: self.role_claim,
            },
            max_token_len: self.max_token_len,
            clock: self.clock,
            cache: NonZeroUsize::new(self.cache_capacity).map(TokenCache::new),
            public: PublicRoutes::compile(&self.public)?,
            realm: self.realm,
            token_cookie: self.token_cookie,
            unknown_key: std::sync::OnceLock::new(),
            meters: crate::metrics::Meters::default(),
        }))
    }
}
