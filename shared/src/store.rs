//! Where client keys and issued tokens live.
//!
//! Each store is a narrow trait with two real implementations side by side: DynamoDB for
//! deployments ([`dynamodb`]) and in-memory for the local server ([`memory`]).

pub mod dynamodb;
pub mod memory;

use async_trait::async_trait;

use crate::key::{ClientKey, KeyId, KeyStatus};
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
    /// Counts one failed authentication of `id` at `now`, in a window of `window` seconds
    /// opened by the first failure. A key that no longer exists counts nothing.
    async fn record_failure(&self, id: &KeyId, now: u64, window: u64) -> Result<(), StoreError>;
}

/// What issuing and introspection need of the keys: one read, and a write on a failure.
pub trait IssuerKeys: KeyReader + FailureLog {}

impl<T: KeyReader + FailureLog + ?Sized> IssuerKeys for T {}

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
