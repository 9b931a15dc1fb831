//! DynamoDB stores, and the table layout that `tokengate tables create` and `template.yaml`
//! both declare.
//!
//! Reads are strongly consistent: a token introspected right after it is issued, or a key
//! used right after it is disabled or rotated, must see the write.

mod bounds;
pub(crate) mod call;
pub(crate) mod client;
mod counters;
pub(crate) mod item;
mod keys;
mod limits;
pub(crate) mod tables;
mod tokens;

pub use client::{
    client_from_env, endpoint_description, endpoint_override, lambda_client, lambda_client_with,
    lambda_region, sdk_http_client,
};
pub use counters::SOURCE_PREFIX;
pub use item::{EXPIRES_AT, KEY_ID, KID, TOKEN_HASH};
pub use keys::DynamoKeyStore;
pub use limits::{InvalidStoreLimit, StoreLimits};
pub use tables::{TableOutcome, create_signing_keys_table, create_tables};
pub use tokens::{DynamoTokenLookup, DynamoTokenStore};
