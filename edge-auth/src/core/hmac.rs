//! HS256/384/512 signatures computed with OpenSSL and compared in constant time.
//!
//! josekit 0.10's HMAC verifier rebuilds its key on every call and compares with
//! `!=` (not constant-time, CWE-208). Here the HMAC (RFC 2104) is keyed once: the
//! SHA-2 states after absorbing `K ^ ipad` and `K ^ opad` are kept, and each MAC
//! clones them (a plain copy) instead of setting up a new OpenSSL context. The
//! comparison is `openssl::memcmp::eq`.

use openssl::sha::{Sha256, Sha384, Sha512};

use crate::ConfigError;
use crate::core::algorithm::Algorithm;

/// The SHA-2 hashers HMAC is built on.
trait Digest: Clone {
    const BLOCK: usize;
    fn new() -> Self;
    fn absorb(&mut self, data: &[u8]);
    fn digest(self) -> Vec<u8>;
}

macro_rules! digest {
    ($ty:ty, $block:expr) => {
        impl Digest for $ty {
            const BLOCK: usize = $block;
            fn new() -> Self {
                <$ty>::new()
            }
            fn absorb(&mut self, data: &[u8]) {
                self.update(data);
            }
            fn digest(self) -> Vec<u8> {
                self.finish().to_vec()
            }
        }
    };
}

digest!(Sha256, 64);
digest!(Sha384, 128);
digest!(Sha512, 128);

/// HMAC keyed once: the inner and outer states after the padded key.
#[derive(Clone)]
struct Keyed<D: Digest> {
    inner: D,
    outer: D,
}

impl<D: Digest> Keyed<D> {
    fn new(secret: &[u8]) -> Self {
        let mut key = if secret.len() > D::BLOCK {
            let mut hasher = D::new();
            hasher.absorb(secret);
            hasher.digest()
        } else {
            secret.to_vec()
        };
        key.resize(D::BLOCK, 0);
        let pad = |byte: u8| key.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
        let (mut inner, mut outer) = (D::new(), D::new());
        inner.absorb(&pad(0x36));
        outer.absorb(&pad(0x5c));
        Keyed { inner, outer }
    }

    fn mac(&self, message: &[u8]) -> Vec<u8> {
        let mut inner = self.inner.clone();
        inner.absorb(message);
        let mut outer = self.outer.clone();
        outer.absorb(&inner.digest());
        outer.digest()
    }
}

/// A shared secret, ready to sign and verify HS256, HS384 and HS512.
pub(crate) struct HmacKey {
    hs256: Keyed<Sha256>,
    hs384: Keyed<Sha384>,
    hs512: Keyed<Sha512>,
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
        Ok(HmacKey {
            hs256: Keyed::new(secret),
            hs384: Keyed::new(secret),
            hs512: Keyed::new(secret),
        })
    }

    /// The MAC of `message` under `algorithm` (which must be an HMAC one).
    pub(crate) fn sign(&self, algorithm: Algorithm, message: &[u8]) -> Option<Vec<u8>> {
        match algorithm {
            Algorithm::HS256 => Some(self.hs256.mac(message)),
            Algorithm::HS384 => Some(self.hs384.mac(message)),
            Algorithm::HS512 => Some(self.hs512.mac(message)),
            _ => None,
        }
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
    fn matches_openssl_hmac_for_every_size_of_key_and_message() {
        for key_len in [32, 63, 64, 65, 127, 128, 129, 300] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 7 + 1) as u8).collect();
            let hmac = HmacKey::new(&key).unwrap();
            for message in [&b""[..], b"abc", &[0xAB; 1000]] {
                assert_eq!(
                    hmac.sign(Algorithm::HS256, message).unwrap(),
                    reference(MessageDigest::sha256(), &key, message)
                );
                assert_eq!(
                    hmac.sign(Algorithm::HS384, message).unwrap(),
                    reference(MessageDigest::sha384(), &key, message)
                );
                assert_eq!(
                    hmac.sign(Algorithm::HS512, message).unwrap(),
                    reference(MessageDigest::sha512(), &key, message)
                );
            }
        }
    }

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
