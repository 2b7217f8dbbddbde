//! Long-lived, opaque, rotating refresh tokens with reuse detection.
//!
//! Each login starts a *family*. Refreshing marks the presented token used and
//! issues the next one in the same family. Presenting a used token again means it
//! leaked: the whole family is revoked, so both the thief and the owner must log in
//! again. A family also has an absolute lifetime (the session's): refreshing
//! never extends it past that. Tokens are stored only as SHA-256 hashes, behind
//! the [`RefreshStore`] trait.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::core::clock::{Clock, SystemClock, unix_secs};

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
    /// Start a family for `subject` with its first token; the family ends at
    /// `family_expires_at` (seconds since the epoch) whatever its tokens say.
    fn create_family(
        &self,
        subject: &str,
        first: TokenHash,
        expires_at: u64,
        family_expires_at: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Rotate `presented` to `next`, or detect reuse and revoke the family (see
    /// [`Rotation`]). A token whose family has ended is `Invalid`; `next` expires
    /// at `next_expires_at` or when its family ends, whichever is first.
    fn rotate(
        &self,
        presented: TokenHash,
        next: TokenHash,
        next_expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// Revoke the family of `presented` if it belongs to `subject`; `false` when
    /// the token is unknown or another subject's (which is left as it is).
    fn revoke_family(
        &self,
        presented: TokenHash,
        subject: &str,
        now: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A newly issued refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// The opaque token to give the client.
    pub token: String,
    /// When it expires at the latest (seconds since the Unix epoch); its session
    /// may end sooner.
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
    session_ttl: Duration,
    clock: Arc<dyn Clock>,
}

/// The default absolute lifetime of a session (refresh-token family): 90 days.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(90 * 86_400);

impl<S: RefreshStore> RefreshTokens<S> {
    /// Tokens kept in `store`, each valid for `ttl`, in sessions that end
    /// [`DEFAULT_SESSION_TTL`] after login however often they are refreshed.
    pub fn new(store: S, ttl: Duration) -> Self {
        RefreshTokens {
            store,
            ttl,
            session_ttl: DEFAULT_SESSION_TTL,
            clock: Arc::new(SystemClock),
        }
    }

    /// The absolute lifetime of a session (a family, from its login): refreshing
    /// never extends it.
    #[must_use]
    pub fn session_ttl(mut self, session_ttl: Duration) -> Self {
        self.session_ttl = session_ttl;
        self
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
            expires_at: unix_secs(&*self.clock).saturating_add(self.ttl.as_secs()),
        })
    }

    /// Start a new family (a login) for `subject`.
    pub async fn issue(&self, subject: &str) -> Result<RefreshToken, RefreshError> {
        let mut token = self.mint()?;
        let family_expires_at = unix_secs(&*self.clock).saturating_add(self.session_ttl.as_secs());
        token.expires_at = token.expires_at.min(family_expires_at);
        self.store
            .create_family(
                subject,
                TokenHash::of(&token.token),
                token.expires_at,
                family_expires_at,
            )
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
                unix_secs(&*self.clock),
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

    /// Revoke the family of `presented` (a logout by `subject`); `false` when it
    /// is unknown or belongs to another subject, whose session is left alone.
    pub async fn revoke(&self, presented: &str, subject: &str) -> Result<bool, RefreshError> {
        Ok(self
            .store
            .revoke_family(TokenHash::of(presented), subject, unix_secs(&*self.clock))
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
    expires_at: u64,
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
        family_expires_at: u64,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        state.families.push(Family {
            subject: subject.to_owned(),
            expires_at: family_expires_at,
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
        if family_state.revoked || expired || family_state.expires_at <= now {
            return Ok(Rotation::Invalid);
        }
        let next_expires_at = next_expires_at.min(family_state.expires_at);
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

    async fn revoke_family(
        &self,
        presented: TokenHash,
        subject: &str,
        _now: u64,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(family) = state.tokens.get(&presented).map(|t| t.family) else {
            return Ok(false);
        };
        let family = &mut state.families[family];
        if family.subject != subject {
            return Ok(false);
        }
        family.revoked = true;
        Ok(true)
    }
}
