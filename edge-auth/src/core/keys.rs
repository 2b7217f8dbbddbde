//! Asymmetric verification keys (RS*, PS256, ES*, EdDSA) from JWK sets, by `kid`.

use josekit::jwk::JwkSet;
use josekit::jws::JwsVerifier;

use crate::core::algorithm::Algorithm;
use crate::{AuthError, AuthErrorKind, ConfigError};

struct VerifyingKey {
    algorithm: Algorithm,
    kid: Option<String>,
    verifier: Box<dyn JwsVerifier>,
}

/// The asymmetric keys a validator accepts. Replaced whole on key rotation.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: Vec<VerifyingKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| (k.algorithm, k.kid.as_deref())))
            .finish()
    }
}

impl KeySet {
    /// Load a JWK set (`{"keys":[...]}`). Every key needs an `alg` or a `kty`/`crv`
    /// that names one; private members are ignored (only verification is done).
    pub(crate) fn from_jwks(json: &[u8]) -> Result<KeySet, ConfigError> {
        let set = JwkSet::from_bytes(json).map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
        let mut keys = Vec::new();
        for jwk in set.keys() {
            let algorithm = Algorithm::for_jwk(jwk).ok_or_else(|| {
                ConfigError::InvalidKey(format!(
                    "cannot tell the algorithm of key {:?}",
                    jwk.key_id()
                ))
            })?;
            let verifier = algorithm
                .josekit_verifier(jwk)
                .map_err(|e| ConfigError::InvalidKey(format!("key {:?}: {e}", jwk.key_id())))?;
            keys.push(VerifyingKey {
                algorithm,
                kid: jwk.key_id().map(str::to_owned),
                verifier,
            });
        }
        Ok(KeySet { keys })
    }

    /// Whether a key of the set is named `kid`.
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The algorithms of the keys in the set.
    pub(crate) fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.keys.iter().map(|k| k.algorithm)
    }

    /// Verify with the key named by `kid` (or, without one, any key of `algorithm`).
    /// A key only verifies the algorithm it is for, so no HS/RS confusion is possible.
    pub(crate) fn verify(
        &self,
        algorithm: Algorithm,
        kid: Option<&str>,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), AuthError> {
        let mut candidates = self
            .keys
            .iter()
            .filter(|k| k.algorithm == algorithm && (kid.is_none() || k.kid.as_deref() == kid))
            .peekable();
        if candidates.peek().is_none() {
            return Err(match kid {
                Some(kid) if !self.has_kid(kid) => AuthError::new(
                    AuthErrorKind::UnknownKey,
                    "the token names a key this server does not have",
                ),
                _ => AuthError::new(
                    AuthErrorKind::BadSignature,
                    "no key matches the token's kid",
                ),
            });
        }
        if candidates.any(|k| k.verifier.verify(message, signature).is_ok()) {
            Ok(())
        } else {
            Err(AuthError::new(
                AuthErrorKind::BadSignature,
                "the signature does not verify",
            ))
        }
    }
}
