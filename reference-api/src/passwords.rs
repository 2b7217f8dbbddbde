//! Argon2id password hashing, run on the blocking pool so it never stalls the
//! async workers. Unknown users are checked against a dummy hash, so they cost
//! the same as wrong passwords.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::problem::{ApiError, Code};

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct Passwords {
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passwords(argon2id)")
    }
}

impl Passwords {
    /// Prepare the dummy hash used for unknown users.
    pub fn new() -> Result<Self, argon2::password_hash::Error> {
        let dummy_hash = hash_now("not a real password; equalizes timing")?;
        Ok(Passwords {
            dummy_hash: dummy_hash.into(),
        })
    }

    /// The PHC string of `password` (Argon2id, random salt).
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        run_blocking(move || hash_now(&password).map_err(|e| internal(&e))).await
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown user) the
    /// same work is done against a dummy and the answer is `false`.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.to_string());
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
