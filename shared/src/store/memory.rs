//! In-memory stores: the real implementation behind `tokengate serve`, not a test double.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{KeyStore, StoreError, TokenStore, key_not_found};
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
impl KeyStore for MemoryKeyStore {
    async fn get(&self, id: &KeyId) -> Result<Option<ClientKey>, StoreError> {
        Ok(lock(&self.keys).get(id).cloned())
    }

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
        let mut keys: Vec<ClientKey> = lock(&self.keys).values().cloned().collect();
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(keys)
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

    async fn delete(&self, id: &KeyId) -> Result<(), StoreError> {
        lock(&self.keys)
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| key_not_found(id))
    }
}

/// Issued tokens in a map, for the local server. Expired tokens are swept as new ones
/// arrive, the way DynamoDB's TTL deletes them, so a long-running server stays bounded.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<HashMap<TokenHash, TokenRecord>>,
}

impl MemoryTokenStore {
    /// How many tokens may accumulate before expired ones are swept.
    const SWEEP_AT: usize = 10_000;

    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn put(&self, record: &TokenRecord) -> Result<(), StoreError> {
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= Self::SWEEP_AT {
            tokens.retain(|_, t| t.is_live_at(record.issued_at));
        }
        tokens.insert(record.hash, record.clone());
        Ok(())
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        Ok(lock(&self.tokens).get(hash).cloned())
    }
}
