//! A bounded cache of verified tokens, keyed by the SHA-256 of the token.
//!
//! A hit skips parsing and the signature check (as Envoy's `jwt_authn` cache does);
//! `exp`/`nbf` are still checked against the clock on every hit, and entries are
//! only ever as valid as their token.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

use crate::Identity;

const SHARDS: usize = 16;

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) identity: Identity,
    pub(crate) expires: u64,
    pub(crate) not_before: Option<u64>,
}

/// Sharded LRU maps so concurrent requests rarely contend on one lock.
#[derive(Debug)]
pub(crate) struct TokenCache {
    shards: Vec<Mutex<LruCache<[u8; 32], Entry>>>,
}

impl TokenCache {
    /// A cache holding at most about `capacity` tokens.
    pub(crate) fn new(capacity: NonZeroUsize) -> TokenCache {
        let per_shard =
            NonZeroUsize::new(capacity.get().div_ceil(SHARDS)).unwrap_or(NonZeroUsize::MIN);
        TokenCache {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(LruCache::new(per_shard)))
                .collect(),
        }
    }

    pub(crate) fn key(token: &str) -> [u8; 32] {
        // `Sha256` runs the digest directly; OpenSSL 3's one-shot `SHA256()` looks
        // the algorithm up on every call (`EVP_Q_digest`), which costs more than
        // the hashing itself.
        let mut hasher = openssl::sha::Sha256::new();
        hasher.update(token.as_bytes());
        hasher.finish()
    }

    fn shard(&self, key: &[u8; 32]) -> &Mutex<LruCache<[u8; 32], Entry>> {
        &self.shards[usize::from(key[0]) % SHARDS]
    }

    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Entry> {
        let mut shard = self.shard(key).lock().unwrap_or_else(|p| p.into_inner());
        shard.get(key).cloned()
    }

    pub(crate) fn insert(&self, key: [u8; 32], entry: Entry) {
        let mut shard = self.shard(&key).lock().unwrap_or_else(|p| p.into_inner());
        shard.put(key, entry);
    }

    pub(crate) fn remove(&self, key: &[u8; 32]) {
        let mut shard = self.shard(key).lock().unwrap_or_else(|p| p.into_inner());
        shard.pop(key);
    }

    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_bounded() {
        let cache = TokenCache::new(NonZeroUsize::new(64).unwrap());
        for i in 0..10_000 {
            let entry = Entry {
                identity: Identity::new(i.to_string(), None, Default::default()),
                expires: 10,
                not_before: None,
            };
            cache.insert(TokenCache::key(&i.to_string()), entry);
        }
        assert!(cache.len() <= 64, "{}", cache.len());
    }
}
