//! Issuing short-lived access tokens (HS256, signed by josekit).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{HS256, JwsHeader, alg::hmac::HmacJwsSigner};
use josekit::jwt::{self, JwtPayload};

use crate::ConfigError;
use crate::core::clock::{Clock, SystemClock, unix_secs};
use crate::core::hmac::HmacKey;

/// A signed access token and its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The compact JWS.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
#[error("cannot issue a token: {0}")]
pub struct IssueError(String);

/// Issues HS256 access tokens with `iss`, `sub`, `role`, `iat`, `exp` and a random `jti`.
///
/// ```
/// use edge_auth::{TokenIssuer, Validator};
/// use std::time::Duration;
///
/// let secret = b"a secret of at least thirty-two bytes!!";
/// let issuer = TokenIssuer::hs256(secret, "edge", Duration::from_secs(900))?;
/// let token = issuer.issue("42", Some("admin"))?;
/// let validator = Validator::builder("edge").hmac_secret(secret).build()?;
/// assert_eq!(validator.validate(&token.token)?.subject(), "42");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TokenIssuer {
    signer: HmacJwsSigner,
    issuer: String,
    audience: Option<String>,
    kid: Option<String>,
    ttl: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer signing with `secret` (at least 32 bytes), tokens valid for `ttl`.
    pub fn hs256(
        secret: impl AsRef<[u8]>,
        issuer: impl Into<String>,
        ttl: Duration,
    ) -> Result<Self, ConfigError> {
        let secret = secret.as_ref();
        HmacKey::new(secret)?;
        let issuer = issuer.into();
        if issuer.is_empty() {
            return Err(ConfigError::MissingIssuer);
        }
        let signer = HS256
            .signer_from_bytes(secret)
            .map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
        Ok(TokenIssuer {
            signer,
            issuer,
            audience: None,
            kid: None,
            ttl,
            clock: Arc::new(SystemClock),
        })
    }

    /// Put `aud` in every token.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Put `kid` in every token's header.
    #[must_use]
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Use `clock` for `iat`/`exp`.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The lifetime of issued tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issue a token for `subject` with an optional `role`.
    pub fn issue(&self, subject: &str, role: Option<&str>) -> Result<AccessToken, IssueError> {
        let now = unix_secs(&*self.clock);
        let expires_in = self.ttl.as_secs().max(1);
        let mut payload = JwtPayload::new();
        payload.set_issuer(&self.issuer);
        payload.set_subject(subject);
        if let Some(audience) = &self.audience {
            payload.set_audience(vec![audience.clone()]);
        }
        let at = |secs: u64| std::time::UNIX_EPOCH + Duration::from_secs(secs);
        payload.set_issued_at(&at(now));
        payload.set_expires_at(&at(now + expires_in));
        payload.set_jwt_id(random_id().map_err(IssueError)?);
        if let Some(role) = role {
            payload
                .set_claim("role", Some(role.into()))
                .map_err(|e| IssueError(e.to_string()))?;
        }
        let mut header = JwsHeader::new();
        header.set_token_type("JWT");
        if let Some(kid) = &self.kid {
            header.set_key_id(kid);
        }
        let token = jwt::encode_with_signer(&payload, &header, &self.signer)
            .map_err(|e| IssueError(e.to_string()))?;
        Ok(AccessToken { token, expires_in })
    }
}

/// 16 random bytes, base64url.
pub(crate) fn random_id() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
