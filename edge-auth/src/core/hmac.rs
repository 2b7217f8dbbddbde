//! HS256/384/512 signatures with the `hmac` and `sha2` crates, compared in
//! constant time.
//!
//! josekit 0.10's HMAC verifier rebuilds its key on every call and compares with
//! `!=` (not constant-time, CWE-208). Here each HMAC is keyed once and every MAC
//! clones the keyed state (a plain copy of the hash states after `K ^ ipad` and
//! `K ^ opad`); `verify_slice` compares in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384, Sha512};

use crate::ConfigError;
use crate::core::algorithm::Algorithm;

/// A shared secret, ready to sign and verify HS256, HS384 and HS512.
pub(crate) struct HmacKey {
    hs256: Hmac<Sha256>,
    hs384: Hmac<Sha384>,
    hs512: Hmac<Sha512>,
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey(..)")
    }
}

/// A clone of a keyed HMAC that has absorbed `message`.
fn keyed<M: Mac + Clone>(key: &M, message: &[u8]) -> M {
    let mut mac = key.clone();
    mac.update(message);
    mac
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
        // HMAC takes keys of any length (longer ones are hashed first): these
        // cannot fail, but an error is still an error, not a panic.
        let weak = |error: hmac::digest::InvalidLength| ConfigError::InvalidKey(error.to_string());
        Ok(HmacKey {
            hs256: Hmac::new_from_slice(secret).map_err(weak)?,
            hs384: Hmac::new_from_slice(secret).map_err(weak)?,
            hs512: Hmac::new_from_slice(secret).map_err(weak)?,
        })
    }

    /// Whether `signature` is the MAC of `message`, compared in constant time.
    pub(crate) fn verify(&self, algorithm: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        let checked = match algorithm {
            Algorithm::HS256 => keyed(&self.hs256, message).verify_slice(signature),
            Algorithm::HS384 => keyed(&self.hs384, message).verify_slice(signature),
            Algorithm::HS512 => keyed(&self.hs512, message).verify_slice(signature),
            _ => return false,
        };
        checked.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::Signer;

    use super::*;

    fn reference(digest: MessageDigest, key: &[u8], message: &[u8]) -> Vec<u8> {
        let key = PKey::hmac(key).unwrap();
        Signer::new(digest, &key)
            .unwrap()
            .sign_oneshot_to_vec(message)
            .unwrap()
    }

    #[test]
    fn accepts_openssl_macs_for_every_size_of_key_and_message() {
        for key_len in [32, 63, 64, 65, 127, 128, 129, 300] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 7 + 1) as u8).collect();
            let hmac = HmacKey::new(&key).unwrap();
            for message in [&b""[..], b"abc", &[0xAB; 1000]] {
                for (algorithm, digest) in [
                    (Algorithm::HS256, MessageDigest::sha256()),
                    (Algorithm::HS384, MessageDigest::sha384()),
                    (Algorithm::HS512, MessageDigest::sha512()),
                ] {
                    let mut mac = reference(digest, &key, message);
                    assert!(hmac.verify(algorithm, message, &mac));
                    mac[0] ^= 1;
                    assert!(!hmac.verify(algorithm, message, &mac));
                }
            }
        }
    }

    #[test]
    fn verifies_its_own_macs_only() {
        let key = HmacKey::new(&[7u8; 32]).unwrap();
        let mac = reference(MessageDigest::sha256(), &[7u8; 32], b"message");
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
