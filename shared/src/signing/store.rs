//! Where signing keys live: the trait, and the in-memory store `serve` keeps its key in.
//! The DynamoDB store is [`super::dynamodb`].

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use super::SigningKey;
use super::record::Rotation;
use crate::store::StoreError;

/// JWT signing keys: `SIGNING_KEYS_TABLE`, which token-issuer reads and the CLI rotates.
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every key, retired ones included, oldest first ([`in_life_order`]).
    async fn list(&self) -> Result<Vec<SigningKey>, StoreError>;

    /// Writes a rotation at once, or nothing: each new key must not exist, each moved key
    /// must still be in the state it moves from ([`StoreError::Conflict`] otherwise).
    async fn apply(&self, rotation: &Rotation, now: u64) -> Result<(), StoreError>;
}

/// Oldest first; keys made together (the first rotation makes two) the further along in
/// their life first: previous, current, next.
pub fn in_life_order(mut keys: Vec<SigningKey>) -> Vec<SigningKey> {
    keys.sort_by_cached_key(|k| (k.created_at, std::cmp::Reverse(k.state), k.kid.clone()));
    keys
}

/// JWT signing keys in a map: `serve`'s, whose keys live in memory only.
#[derive(Debug, Default)]
pub struct MemorySigningKeyStore {
    keys: Mutex<BTreeMap<String, SigningKey>>,
}

#[async_trait]
impl SigningKeyStore for MemorySigningKeyStore {
    async fn list(&self) -> Result<Vec<SigningKey>, StoreError> {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(in_life_order(keys.values().cloned().collect()))
    }

    async fn apply(&self, rotation: &Rotation, now: u64) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let conflict = |detail: String| Err(StoreError::Conflict { detail });
        for key in &rotation.created {
            if keys.contains_key(&key.kid) {
                return conflict(format!("signing key {} exists already", key.kid));
            }
        }
        for change in &rotation.moved {
            if keys.get(&change.kid).map(|k| k.state) != Some(change.from) {
                return conflict(format!(
                    "signing key {} is no longer {}",
                    change.kid,
                    change.from.as_str()
                ));
            }
        }
        for change in &rotation.moved {
            if let Some(key) = keys.get_mut(&change.kid) {
                key.state = change.to;
                key.state_since = now;
                key.retire_at = change.retire_at;
            }
        }
        for key in &rotation.created {
            keys.insert(key.kid.clone(), key.clone());
        }
        Ok(())
    }
}
