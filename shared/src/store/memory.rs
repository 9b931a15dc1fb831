//! In-memory stores: the real implementation behind `tokengate serve`, not a test double.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{
    FailureLog, KeyAdmin, KeyReader, Revocation, StoreError, TokenStore, in_listing_order,
    key_not_found,
};
use crate::key::{ClientKey, KeyId, KeyStatus};
use crate::secret::SecretHash;
use crate::token::{TokenHash, TokenRecord};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No code path panics while holding these locks; if one ever did, the maps are still
    // consistent (every update is a single insert or remove), so carry on.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Client keys in a map, for the local server.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    keys: Mutex<BTreeMap<KeyId, ClientKey>>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn update(
        &self,
        id: &KeyId,
        change: impl FnOnce(&mut ClientKey),
    ) -> Result<ClientKey, StoreError> {
        let mut keys = lock(&self.keys);
        let key = keys.get_mut(id).ok_or_else(|| key_not_found(id))?;
        change(key);
        Ok(key.clone())
    }
}

#[async_trait]
impl KeyReader for MemoryKeyStore {
    async fn get(&self, id: &KeyId) -> Result<Option<ClientKey>, StoreError> {
        Ok(lock(&self.keys).get(id).cloned())
    }
}

#[async_trait]
impl FailureLog for MemoryKeyStore {
    async fn record_failure(&self, id: &KeyId, now: u64, window: u64) -> Result<(), StoreError> {
        if let Some(key) = lock(&self.keys).get_mut(id) {
            key.failures = key.failures.after_failure(now, window);
        }
        Ok(())
    }
}

#[async_trait]
impl KeyAdmin for MemoryKeyStore {
    async fn create(&self, key: &ClientKey) -> Result<(), StoreError> {
        let mut keys = lock(&self.keys);
        if keys.contains_key(&key.id) {
            return Err(StoreError::AlreadyExists {
                what: "key",
                id: key.id.to_string(),
            });
        }
        keys.insert(key.id.clone(), key.clone());
        Ok(())
    }

    async fn list(&self) -> Result<Vec<ClientKey>, StoreError> {
        let keys: Vec<ClientKey> = lock(&self.keys).values().cloned().collect();
        Ok(in_listing_order(keys))
    }

    async fn set_status(
        &self,
        id: &KeyId,
        status: KeyStatus,
        now: u64,
    ) -> Result<ClientKey, StoreError> {
        self.update(id, |key| {
            key.status = status;
            key.updated_at = now;
        })
    }

    async fn set_secret(
        &self,
        id: &KeyId,
        secret_hash: &SecretHash,
        now: u64,
    ) -> Result<ClientKey, StoreError> {
        self.update(id, |key| {
            key.secret_hash = secret_hash.clone();
            key.updated_at = now;
        })
    }

    async fn revoke_tokens(&self, id: &KeyId, now: u64) -> Result<ClientKey, StoreError> {
        self.update(id, |key| {
            key.tokens_revoked_at = now;
            key.updated_at = now;
        })
    }

    async fn delete(&self, id: &KeyId) -> Result<(), StoreError> {
        lock(&self.keys)
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| key_not_found(id))
    }
}

/// Issued tokens in a map, for the local server. Expired tokens are swept as new ones
/// arrive, the way DynamoDB's TTL deletes them, so a long-running server stays bounded by
/// the tokens that are still live.
#[derive(Debug)]
pub struct MemoryTokenStore {
    tokens: Mutex<Tokens>,
}

#[derive(Debug)]
struct Tokens {
    by_hash: HashMap<TokenHash, TokenRecord>,
    /// The size at which the next sweep runs; it doubles past the live tokens each time,
    /// so sweeping stays amortised O(1) a put even when nothing has expired.
    sweep_at: usize,
}

impl MemoryTokenStore {
    const FIRST_SWEEP_AT: usize = 1024;

    /// An empty store.
    pub fn new() -> Self {
        Self {
            tokens: Mutex::new(Tokens {
                by_hash: HashMap::new(),
                sweep_at: Self::FIRST_SWEEP_AT,
            }),
        }
    }

    /// How many tokens are held, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        lock(&self.tokens).by_hash.len()
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryTokenStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn put(&self, record: &TokenRecord) -> Result<(), StoreError> {
        let mut tokens = lock(&self.tokens);
        if tokens.by_hash.len() >= tokens.sweep_at {
            tokens.by_hash.retain(|_, t| t.is_live_at(record.issued_at));
            tokens.sweep_at = (tokens.by_hash.len() * 2).max(Self::FIRST_SWEEP_AT);
        }
        tokens.by_hash.insert(record.hash, record.clone());
        Ok(())
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        Ok(lock(&self.tokens).by_hash.get(hash).cloned())
    }

    async fn revoke(&self, hash: &TokenHash, owner: &KeyId) -> Result<Revocation, StoreError> {
        let mut tokens = lock(&self.tokens);
        Ok(match tokens.by_hash.get(hash) {
            None => Revocation::NotFound,
            Some(record) if &record.key_id != owner => Revocation::NotOwner,
            Some(_) => {
                tokens.by_hash.remove(hash);
                Revocation::Revoked
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::SystemCode;

    fn record(n: u32, issued_at: u64, expires_at: u64) -> TokenRecord {
        TokenRecord {
            hash: TokenHash::of(&n.to_string()),
            key_id: KeyId::parse("k").unwrap(),
            from_code: SystemCode::parse("d2ir1").ok(),
            to_code: SystemCode::parse("abcde").ok(),
            scope: "innreach_tp".into(),
            issued_at,
            expires_at,
        }
    }

    #[tokio::test]
    async fn expired_tokens_are_swept_once_enough_new_ones_arrive() {
        let store = MemoryTokenStore::new();
        for n in 0..1024 {
            store.put(&record(n, 0, 10)).await.unwrap();
        }
        assert_eq!(store.len(), 1024);
        store.put(&record(5000, 100, 700)).await.unwrap();
        assert_eq!(store.len(), 1, "only the live token is left");
    }

    #[tokio::test]
    async fn live_tokens_are_never_swept() {
        let store = MemoryTokenStore::new();
        for n in 0..3000 {
            store.put(&record(n, 0, 600)).await.unwrap();
        }
        assert_eq!(store.len(), 3000);
        assert!(store.get(&TokenHash::of("0")).await.unwrap().is_some());
    }
}
