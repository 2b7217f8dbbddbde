//! HS256/384/512 signatures computed with OpenSSL and compared in constant time.
//!
//! josekit 0.10's HMAC verifier rebuilds its key on every call and compares with
//! `!=` (not constant-time, CWE-208); this builds the key once and compares with
//! `openssl::memcmp::eq`.

use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;

use crate::ConfigError;
use crate::core::algorithm::Algorithm;

/// A shared secret, ready to sign and verify.
pub(crate) struct HmacKey {
    key: PKey<Private>,
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey(..)")
    }
}

impl HmacKey {
    /// The smallest accepted secret: 256 bits, as RFC 7518 §3.2 requires for HS256.
    pub(crate) const MIN_SECRET: usize = 32;

    pub(crate) fn new(secret: &[u8]) -> Result<HmacKey, ConfigError> {
        if secret.len() < Self::MIN_SECRET {
            return Err(ConfigError::WeakSecret {
                min: Self::MIN_SECRET,
                got: secret.len(),
            });
        }
        let key = PKey::hmac(secret).map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
        Ok(HmacKey { key })
    }

    /// The MAC of `message` under `algorithm` (which must be an HMAC one).
    pub(crate) fn sign(&self, algorithm: Algorithm, message: &[u8]) -> Option<Vec<u8>> {
        let digest = algorithm.hmac_digest()?;
        let mut signer = Signer::new(digest, &self.key).ok()?;
        signer.sign_oneshot_to_vec(message).ok()
    }

    /// Whether `signature` is the MAC of `message`, compared in constant time.
    pub(crate) fn verify(&self, algorithm: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match self.sign(algorithm, message) {
            Some(mac) => mac.len() == signature.len() && openssl::memcmp::eq(&mac, signature),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_its_own_macs_only() {
        let key = HmacKey::new(&[7u8; 32]).unwrap();
        let mac = key.sign(Algorithm::HS256, b"message").unwrap();
        assert_eq!(mac.len(), 32);
        assert!(key.verify(Algorithm::HS256, b"message", &mac));
        assert!(!key.verify(Algorithm::HS256, b"messagE", &mac));
        assert!(!key.verify(Algorithm::HS384, b"message", &mac));
        assert!(!key.verify(Algorithm::HS256, b"message", &mac[..31]));
        assert!(!key.verify(Algorithm::RS256, b"message", &mac));
        assert!(matches!(
            HmacKey::new(b"short"),
            Err(ConfigError::WeakSecret { .. })
        ));
    }
}
