//! Where client keys and issued tokens live.
//!
//! Each store is a narrow trait with two real implementations side by side: DynamoDB for
//! deployments ([`dynamodb`]) and in-memory for the local server ([`memory`]).

pub mod dynamodb;
pub mod memory;

/// Time for one DynamoDB call to answer, in milliseconds, by `operation` (`GetItem`,
/// `BatchGetItem`, `PutItem`, `UpdateItem`, `DeleteItem`): recorded by the DynamoDB stores
/// through the `metrics` facade.
pub const STORE_LATENCY: &str = "StoreLatency";

/// Names the stores' metrics and their units to the recorder, once at start.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        STORE_LATENCY,
        metrics::Unit::Milliseconds,
        "Time for one DynamoDB call to answer"
    );
}

use async_trait::async_trait;

use crate::grants::Grants;
use crate::key::{ClientKey, FailureLimit, KeyId, KeyStatus, Reservation};
use crate::secret::SecretHash;
use crate::token::{TokenHash, TokenRecord};

/// Why a store could not do what was asked. Messages never carry a secret or a token.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No item with that key.
    #[error("{what} {id} does not exist")]
    NotFound {
        /// What kind of item was looked for.
        what: &'static str,
        /// Its identifier (a key id, never a token).
        id: String,
    },
    /// An item with that key exists already.
    #[error("{what} {id} already exists")]
    AlreadyExists {
        /// What kind of item was written.
        what: &'static str,
        /// Its identifier.
        id: String,
    },
    /// The table does not exist at the endpoint the SDK is pointed at.
    #[error("table '{table}' does not exist (create it with `tokengate tables create`)")]
    TableMissing {
        /// The table's name.
        table: String,
    },
    /// The endpoint did not answer: refused, timed out, unresolvable.
    #[error("cannot reach DynamoDB: {detail}")]
    Unreachable {
        /// The SDK's explanation.
        detail: String,
    },
    /// An item is there but is not one tokengate wrote.
    #[error("an item in table '{table}' is malformed: {detail}")]
    Corrupt {
        /// The table's name.
        table: String,
        /// What was wrong with it.
        detail: String,
    },
    /// Another writer changed the items first: nothing was written.
    #[error("{detail}; nothing was written, try again")]
    Conflict {
        /// What changed.
        detail: String,
    },
    /// Any other failure of the backend.
    #[error("DynamoDB request failed: {detail}")]
    Backend {
        /// The SDK's explanation.
        detail: String,
    },
}

/// Client keys, read by id: all that the functions need.
#[async_trait]
pub trait KeyReader: Send + Sync {
    /// The key with this id, if any. One read.
    async fn get(&self, id: &KeyId) -> Result<Option<ClientKey>, StoreError>;
}

/// Failed authentications, counted in each key's own record: written only on a failure.
#[async_trait]
pub trait FailureLog: Send + Sync {
    /// Reserves one failed authentication of key `id` at `now` within `limit`, before the
    /// caller is answered: one conditional write, so that concurrent failures are counted
    /// exactly and never overrun the limit. A key that does not exist counts nothing and
    /// is [`Reservation::Counted`].
    async fn reserve_failure(
        &self,
        id: &KeyId,
        now: u64,
        limit: FailureLimit,
    ) -> Result<Reservation, StoreError>;
}

/// Failed authentications by source address (the caller's IP as API Gateway saw it): kept
/// beside the issued tokens, each counter expiring with its window.
#[async_trait]
pub trait SourceFailureLog: Send + Sync {
    /// Reserves one failed authentication from `source` at `now` within `limit`, as
    /// [`FailureLog::reserve_failure`] does for a key.
    async fn reserve_source_failure(
        &self,
        source: &str,
        now: u64,
        limit: FailureLimit,
    ) -> Result<Reservation, StoreError>;
}

/// What issuing and introspection need of the keys: one read, and a write on a failure.
pub trait IssuerKeys: KeyReader + FailureLog {}

impl<T: KeyReader + FailureLog + ?Sized> IssuerKeys for T {}

/// What issuing needs of the tokens: the token store, and the failure counters by source.
pub trait IssuerTokens: TokenStore + SourceFailureLog {}

impl<T: TokenStore + SourceFailureLog + ?Sized> IssuerTokens for T {}

/// Client keys, managed: what `tokengate keys` and the local server's demo key need. Every
/// managed store serves issuing too.
#[async_trait]
pub trait KeyAdmin: IssuerKeys {
    /// Stores a new key; [`StoreError::AlreadyExists`] if the id is taken.
    async fn create(&self, key: &ClientKey) -> Result<(), StoreError>;

    /// Every key, oldest first.
    async fn list(&self) -> Result<Vec<ClientKey>, StoreError>;

    /// Sets a key's status and returns the key as it now is.
    async fn set_status(
        &self,
        id: &KeyId,
        status: KeyStatus,
        now: u64,
    ) -> Result<ClientKey, StoreError>;

    /// Replaces a key's secret hash (rotation) and returns the key as it now is.
    async fn set_secret(
        &self,
        id: &KeyId,
        secret_hash: &SecretHash,
        now: u64,
    ) -> Result<ClientKey, StoreError>;

    /// Revokes every token the key was issued until `now` (one write to the key's own
    /// record: no token is read or deleted) and returns the key as it now is.
    async fn revoke_tokens(&self, id: &KeyId, now: u64) -> Result<ClientKey, StoreError>;

    /// Replaces what a key may be granted (its scopes, audiences and token lifetime) and
    /// returns the key as it now is. Tokens already issued keep what they were granted.
    async fn set_grants(
        &self,
        id: &KeyId,
        grants: &Grants,
        now: u64,
    ) -> Result<ClientKey, StoreError>;

    /// Deletes a key; [`StoreError::NotFound`] if there is none.
    async fn delete(&self, id: &KeyId) -> Result<(), StoreError>;
}

/// Issued tokens, by the hash of their text.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a freshly issued token. One write.
    async fn put(&self, record: &TokenRecord) -> Result<(), StoreError>;

    /// The token with this hash, if stored (expired ones included until deleted). One read.
    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError>;

    /// Deletes the token with this hash if it was issued to `owner` (RFC 7009). One
    /// conditional write.
    async fn revoke(&self, hash: &TokenHash, owner: &KeyId) -> Result<Revocation, StoreError>;
}

/// What a revocation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The token was the caller's, and is gone.
    Revoked,
    /// No such token (never issued, expired and deleted, or revoked already).
    NotFound,
    /// The token belongs to another key, and was left alone.
    NotOwner,
}

/// The key reader of a function whose configuration reads no key: no store is built, so
/// none of the SDK's work runs at cold start. A read says so, and never finds a key.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKeyStore;

#[async_trait]
impl KeyReader for NoKeyStore {
    async fn get(&self, _id: &KeyId) -> Result<Option<ClientKey>, StoreError> {
        Err(StoreError::Backend {
            detail: "no key store: the configuration reads no client key".to_owned(),
        })
    }
}

/// A token and the keys it is judged with, read together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenAndKeys {
    /// The token, if stored.
    pub token: Option<TokenRecord>,
    /// Those of the asked-for keys that exist, in no particular order.
    pub keys: Vec<ClientKey>,
}

impl TokenAndKeys {
    /// The key with this id, if it was read and exists.
    pub fn key(&self, id: &KeyId) -> Option<&ClientKey> {
        self.keys.iter().find(|k| &k.id == id)
    }
}

/// A token and some keys in one read: the authorizer's `tokengate` style.
#[async_trait]
pub trait TokenLookup: Send + Sync {
    /// The token with this hash and the keys with these ids, in one round trip to the
    /// store, strongly consistent unless built otherwise.
    async fn token_and_keys(
        &self,
        token: &TokenHash,
        keys: &[KeyId],
    ) -> Result<TokenAndKeys, StoreError>;
}

/// [`TokenLookup`] over two stores, one read each: for the in-memory stores, where a read
/// is not a round trip.
pub struct ReadEach {
    /// The keys.
    pub keys: std::sync::Arc<dyn KeyReader>,
    /// The tokens.
    pub tokens: std::sync::Arc<dyn TokenStore>,
}

impl std::fmt::Debug for ReadEach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadEach").finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenLookup for ReadEach {
    async fn token_and_keys(
        &self,
        token: &TokenHash,
        keys: &[KeyId],
    ) -> Result<TokenAndKeys, StoreError> {
        let mut found = TokenAndKeys {
            token: self.tokens.get(token).await?,
            keys: Vec::with_capacity(keys.len()),
        };
        for (i, id) in keys.iter().enumerate() {
            if keys[..i].contains(id) {
                continue;
            }
            if let Some(key) = self.keys.get(id).await? {
                found.keys.push(key);
            }
        }
        Ok(found)
    }
}

pub(crate) fn key_not_found(id: &KeyId) -> StoreError {
    StoreError::NotFound {
        what: "key",
        id: id.to_string(),
    }
}

/// Oldest first, ties by id: the order [`KeyAdmin::list`] promises.
pub(crate) fn in_listing_order(mut keys: Vec<ClientKey>) -> Vec<ClientKey> {
    keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    keys
}
