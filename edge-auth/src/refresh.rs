//! Long-lived, opaque, rotating refresh tokens with reuse detection.
//!
//! Each login starts a *family*. Refreshing marks the presented token used and
//! issues the next one in the same family. Presenting a used token again means it
//! leaked: the whole family is revoked, so both the thief and the owner must log in
//! again. Tokens are stored only as SHA-256 hashes, behind the [`RefreshStore`] trait.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::core::clock::{Clock, SystemClock};

/// The SHA-256 of a refresh token: what stores keep instead of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// The hash of `token`.
    pub fn of(token: &str) -> TokenHash {
        TokenHash(openssl::sha::sha256(token.as_bytes()))
    }
}

/// The result of presenting a refresh token for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now used and `next` is stored in its family.
    Rotated {
        /// Whose token it is.
        subject: String,
    },
    /// The token had already been used: its family is now revoked.
    Reused {
        /// Whose token it was.
        subject: String,
    },
    /// Unknown, expired, or its family was revoked.
    Invalid,
}

/// An error of the storage behind refresh tokens.
#[derive(Debug, thiserror::Error)]
#[error("refresh token store: {0}")]
pub struct StoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Where refresh-token families live. Each method must be atomic.
pub trait RefreshStore: Send + Sync {
    /// Start a family for `subject` with its first token.
    fn create_family(
        &self,
        subject: &str,
        first: TokenHash,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Rotate `presented` to `next`, or detect reuse and revoke the family (see [`Rotation`]).
    fn rotate(
        &self,
        presented: TokenHash,
        next: TokenHash,
        next_expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// Revoke the family of `presented`; `false` when the token is unknown.
    fn revoke_family(
        &self,
        presented: TokenHash,
        now: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A newly issued refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// The opaque token to give the client.
    pub token: String,
    /// When it expires (seconds since the Unix epoch).
    pub expires_at: u64,
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// Unknown, expired or revoked: log in again.
    #[error("the refresh token is not valid")]
    Invalid,
    /// A used token was presented again; its family has been revoked.
    #[error("the refresh token was already used; every token of its session is revoked")]
    Reused,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No randomness was available.
    #[error("cannot generate a token: {0}")]
    Random(String),
}

/// Issues, rotates and revokes refresh tokens over a [`RefreshStore`].
#[derive(Debug, Clone)]
pub struct RefreshTokens<S> {
    store: S,
    ttl: Duration,
    clock: Arc<dyn Clock>,
}

impl<S: RefreshStore> RefreshTokens<S> {
    /// Tokens kept in `store`, valid for `ttl`.
    pub fn new(store: S, ttl: Duration) -> Self {
        RefreshTokens {
            store,
            ttl,
            clock: Arc::new(SystemClock),
        }
    }

    /// Use `clock` for issuing and expiry.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    fn mint(&self) -> Result<RefreshToken, RefreshError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| RefreshError::Random(e.to_string()))?;
        Ok(RefreshToken {
            token: URL_SAFE_NO_PAD.encode(bytes),
            expires_at: self.clock.now().saturating_add(self.ttl.as_secs()),
        })
    }

    /// Start a new family (a login) for `subject`.
    pub async fn issue(&self, subject: &str) -> Result<RefreshToken, RefreshError> {
        let token = self.mint()?;
        self.store
            .create_family(subject, TokenHash::of(&token.token), token.expires_at)
            .await?;
        Ok(token)
    }

    /// Exchange `presented` for the next token of its family; returns the subject too.
    pub async fn rotate(&self, presented: &str) -> Result<(String, RefreshToken), RefreshError> {
        let next = self.mint()?;
        let rotation = self
            .store
            .rotate(
                TokenHash::of(presented),
                TokenHash::of(&next.token),
                next.expires_at,
                self.clock.now(),
            )
            .await?;
        match rotation {
            Rotation::Rotated { subject } => Ok((subject, next)),
            Rotation::Reused { subject } => {
                tracing::warn!(subject, "refresh token reuse detected; family revoked");
                Err(RefreshError::Reused)
            }
            Rotation::Invalid => Err(RefreshError::Invalid),
        }
    }

    /// Revoke the family of `presented` (a logout); `false` when it is unknown.
    pub async fn revoke(&self, presented: &str) -> Result<bool, RefreshError> {
        Ok(self
            .store
            .revoke_family(TokenHash::of(presented), self.clock.now())
            .await?)
    }
}

/// An in-memory [`RefreshStore`] for tests, examples and single-process services.
#[derive(Debug, Default, Clone)]
pub struct MemoryRefreshStore {
    state: Arc<Mutex<MemoryState>>,
}

#[derive(Debug, Default)]
struct MemoryState {
    tokens: HashMap<TokenHash, StoredToken>,
    families: Vec<Family>,
}

#[derive(Debug)]
struct StoredToken {
    family: usize,
    expires_at: u64,
    used: bool,
}

#[derive(Debug)]
struct Family {
    subject: String,
    revoked: bool,
}

impl MemoryRefreshStore {
    fn state(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RefreshStore for MemoryRefreshStore {
    async fn create_family(
        &self,
        subject: &str,
        first: TokenHash,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        state.families.push(Family {
            subject: subject.to_owned(),
            revoked: false,
        });
        let family = state.families.len() - 1;
        state.tokens.insert(
            first,
            StoredToken {
                family,
                expires_at,
                used: false,
            },
        );
        Ok(())
    }

    async fn rotate(
        &self,
        presented: TokenHash,
        next: TokenHash,
        next_expires_at: u64,
        now: u64,
    ) -> Result<Rotation, StoreError> {
        let mut state = self.state();
        let Some(token) = state.tokens.get_mut(&presented) else {
            return Ok(Rotation::Invalid);
        };
        let family = token.family;
        let (was_used, expired) = (token.used, token.expires_at <= now);
        token.used = true;
        let family_state = &mut state.families[family];
        if family_state.revoked || expired {
            return Ok(Rotation::Invalid);
        }
        if was_used {
            family_state.revoked = true;
            return Ok(Rotation::Reused {
                subject: family_state.subject.clone(),
            });
        }
        let subject = family_state.subject.clone();
        state.tokens.insert(
            next,
            StoredToken {
                family,
                expires_at: next_expires_at,
                used: false,
            },
        );
        Ok(Rotation::Rotated { subject })
    }

    async fn revoke_family(&self, presented: TokenHash, _now: u64) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(family) = state.tokens.get(&presented).map(|t| t.family) else {
            return Ok(false);
        };
        state.families[family].revoked = true;
        Ok(true)
    }
}
