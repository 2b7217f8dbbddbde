//! Argon2id password hashing, run on the blocking pool so it never stalls the
//! async workers. Unknown users are checked against a dummy hash, so they cost
//! the same as wrong passwords. At most a fixed number of hashes run at once
//! (each takes 19 MiB and a core for tens of milliseconds); a request that cannot
//! get a slot in time is answered 503 with `Retry-After`, so a flood of logins
//! can neither exhaust memory nor queue without bound.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::problem::{ApiError, Code};

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct Passwords {
    dummy_hash: Arc<str>,
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passwords(argon2id)")
    }
}

impl Passwords {
    /// At most `concurrent` hashes at once, each request waiting at most `wait`
    /// for a slot; prepares the dummy hash used for unknown users.
    pub fn new(concurrent: usize, wait: Duration) -> Result<Self, argon2::password_hash::Error> {
        let dummy_hash = hash_now("not a real password; equalizes timing")?;
        Ok(Passwords {
            dummy_hash: dummy_hash.into(),
            slots: Arc::new(Semaphore::new(concurrent.max(1))),
            wait,
        })
    }

    /// The PHC string of `password` (Argon2id, random salt).
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let _slot = self.slot().await?;
        run_blocking(move || hash_now(&password).map_err(|e| internal(&e))).await
    }

    /// A hashing slot, or 503 when none frees up within the wait.
    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        let busy = || {
            ApiError::new(
                Code::ServiceUnavailable,
                "too many password checks are in progress; retry shortly",
            )
            .retry_after(1)
        };
        match tokio::time::timeout(self.wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(busy()),
        }
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown user) the
    /// same work is done against a dummy and the answer is `false`.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let _slot = self.slot().await?;
        let matches = run_blocking(move || {
            let parsed = PasswordHash::new(&hash).map_err(|e| internal(&e))?;
            Ok(Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await?;
        Ok(known && matches)
    }
}

fn hash_now(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    actix_web::web::block(work)
        .await
        .map_err(|e| internal(&e))?
}

fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "password hashing failed");
    ApiError::new(Code::Internal, "an unexpected error occurred")
}
