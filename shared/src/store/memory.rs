//! In-memory stores: the real implementation behind `tokengate serve`, not a test double.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{
    FailureLog, KeyAdmin, KeyReader, Revocation, SourceFailureLog, StoreError, TokenStore,
    in_listing_order, key_not_found,
};
use crate::grants::Grants;
use crate::key::{ClientKey, FailedAttempts, FailureLimit, KeyId, KeyStatus, Reservation};
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
    async fn reserve_failure(
        &self,
        id: &KeyId,
        now: u64,
        limit: FailureLimit,
    ) -> Result<Reservation, StoreError> {
        let mut keys = lock(&self.keys);
        let Some(key) = keys.get_mut(id) else {
            return Ok(Reservation::Counted);
        };
        Ok(reserve_in(&mut key.failures, now, limit))
    }
}

/// One failure reserved in `attempts`, under the lock that holds them.
fn reserve_in(attempts: &mut FailedAttempts, now: u64, limit: FailureLimit) -> Reservation {
    match attempts.reserve(now, limit) {
        Ok(counted) => {
            *attempts = counted;
            Reservation::Counted
        }
        Err(retry_after) => Reservation::Throttled { retry_after },
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

    async fn set_grants(
        &self,
        id: &KeyId,
        grants: &Grants,
        now: u64,
    ) -> Result<ClientKey, StoreError> {
        self.update(id, |key| {
            key.grants = std::sync::Arc::new(grants.clone());
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
/// the tokens that are still live — a few at a time, soonest expiry first, so that no
/// request ever waits for a sweep of the whole map. The map is sharded by the token's
/// hash, so that a shard's growth (a rehash) holds up only the requests of that shard.
#[derive(Debug)]
pub struct MemoryTokenStore {
    shards: Vec<Mutex<Tokens>>,
    sources: Mutex<HashMap<String, FailedAttempts>>,
}

#[derive(Debug, Default)]
struct Tokens {
    by_hash: HashMap<TokenHash, TokenRecord>,
    /// Every stored token's expiry, soonest first. A revoked token's entry stays until it
    /// expires, then removes nothing.
    expiries: BinaryHeap<Reverse<(u64, TokenHash)>>,
}

impl MemoryTokenStore {
    /// The most expired tokens one put removes from its shard: more than the one it adds,
    /// so a backlog drains, and few enough that a put stays O(log n).
    pub const SWEEP_PER_PUT: usize = 4;

    const SHARDS: usize = 32;

    /// An empty store.
    pub fn new() -> Self {
        Self {
            shards: (0..Self::SHARDS)
                .map(|_| Mutex::new(Tokens::default()))
                .collect(),
            sources: Mutex::default(),
        }
    }

    fn shard(&self, hash: &TokenHash) -> MutexGuard<'_, Tokens> {
        lock(&self.shards[usize::from(hash.first_byte()) % Self::SHARDS])
    }

    /// How many tokens are held, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).by_hash.len()).sum()
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
        let now = record.issued_at;
        let mut tokens = self.shard(&record.hash);
        for _ in 0..Self::SWEEP_PER_PUT {
            match tokens.expiries.peek() {
                Some(Reverse((expires_at, _))) if *expires_at <= now => {}
                _ => break,
            }
            if let Some(Reverse((_, hash))) = tokens.expiries.pop() {
                tokens.by_hash.remove(&hash);
            }
        }
        tokens.by_hash.insert(record.hash, record.clone());
        tokens
            .expiries
            .push(Reverse((record.expires_at, record.hash)));
        Ok(())
    }

    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self.shard(hash).by_hash.get(hash).cloned())
    }

    async fn revoke(&self, hash: &TokenHash, owner: &KeyId) -> Result<Revocation, StoreError> {
        let mut tokens = self.shard(hash);
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

/// The most source counters held before those whose window has closed are dropped.
const MAX_SOURCES: usize = 10_000;

#[async_trait]
impl SourceFailureLog for MemoryTokenStore {
    async fn reserve_source_failure(
        &self,
        source: &str,
        now: u64,
        limit: FailureLimit,
    ) -> Result<Reservation, StoreError> {
        let mut sources = lock(&self.sources);
        if sources.len() >= MAX_SOURCES && !sources.contains_key(source) {
            sources.retain(|_, a| now < a.since.saturating_add(limit.window));
        }
        Ok(reserve_in(
            sources.entry(source.to_owned()).or_default(),
            now,
            limit,
        ))
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
            audiences: Default::default(),
            issued_at,
            expires_at,
        }
    }

    #[tokio::test]
    async fn expired_tokens_are_swept_a_few_at_each_put_until_none_is_left() {
        let store = MemoryTokenStore::new();
        for n in 0..1024 {
            store.put(&record(n, 0, 10)).await.unwrap();
        }
        assert_eq!(store.len(), 1024);
        store.put(&record(5000, 100, 700)).await.unwrap();
        assert_eq!(store.len(), 1024 - MemoryTokenStore::SWEEP_PER_PUT + 1);
        for n in 5001..9000 {
            store.put(&record(n, 100, 700)).await.unwrap();
        }
        assert_eq!(store.len(), 4000, "only the live tokens are left");
        assert!(store.get(&TokenHash::of("0")).await.unwrap().is_none());
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
