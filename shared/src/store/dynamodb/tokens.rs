//! Issued tokens in `TOKENS_TABLE`, and the authorizer's one read of a token with its keys.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnValue};
use tracing::instrument;

use crate::key::{ClientKey, FailureLimit, KeyId, Reservation};
use crate::store::{
    Revocation, SourceFailureLog, StoreError, TokenAndKeys, TokenLookup, TokenStore,
};

use super::bounds::Bounds;
use super::call::{classify, is_condition_failure, timed};
use super::counters::{self, SOURCE_PREFIX};
use super::item::{Item, KEY_ID, TOKEN_HASH, s};
use crate::token::{TokenHash, TokenRecord};

/// Issued tokens in `TOKENS_TABLE`, expiring through its TTL attribute.
#[derive(Debug, Clone)]
pub struct DynamoTokenStore {
    client: Client,
    table: String,
}

impl DynamoTokenStore {
    /// A store over `table`, sharing the given client.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl TokenStore for DynamoTokenStore {
    #[instrument(skip(self, record), fields(table = %self.table, token = ?record.hash))]
    async fn put(&self, record: &TokenRecord) -> Result<(), StoreError> {
        timed(
            "PutItem",
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(Item::from(record)))
                .condition_expression("attribute_not_exists(token_hash)")
                .send(),
        )
        .await
        .map(|_| ())
        .map_err(|e| classify(&self.table, e))
    }

    #[instrument(skip(self), fields(table = %self.table))]
    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let out = timed(
            "GetItem",
            self.client
                .get_item()
                .table_name(&self.table)
                .key(TOKEN_HASH, s(hash.to_hex()))
                .consistent_read(true)
                .send(),
        )
        .await
        .map_err(|e| classify(&self.table, e))?;
        out.item()
            .map(TokenRecord::try_from)
            .transpose()
            .map_err(|detail| StoreError::Corrupt {
                table: self.table.clone(),
                detail,
            })
    }

    #[instrument(skip(self), fields(table = %self.table, token = ?hash))]
    async fn revoke(&self, hash: &TokenHash, owner: &KeyId) -> Result<Revocation, StoreError> {
        let result = timed(
            "DeleteItem",
            self.client
                .delete_item()
                .table_name(&self.table)
                .key(TOKEN_HASH, s(hash.to_hex()))
                .condition_expression("attribute_not_exists(token_hash) OR key_id = :owner")
                .expression_attribute_values(":owner", s(owner.as_str()))
                .return_values(ReturnValue::AllOld)
                .send(),
        )
        .await;
        match result {
            Ok(out) if out.attributes().is_some_and(|a| !a.is_empty()) => Ok(Revocation::Revoked),
            Ok(_) => Ok(Revocation::NotFound),
            Err(err) if is_condition_failure(&err) => Ok(Revocation::NotOwner),
            Err(err) => Err(classify(&self.table, err)),
        }
    }
}

#[async_trait]
impl SourceFailureLog for DynamoTokenStore {
    #[instrument(skip(self), fields(table = %self.table))]
    async fn reserve_source_failure(
        &self,
        source: &str,
        now: u64,
        limit: FailureLimit,
    ) -> Result<Reservation, StoreError> {
        let counter = counters::Counter {
            table: &self.table,
            key: (TOKEN_HASH, format!("{SOURCE_PREFIX}{source}")),
            created_by_failure: true,
        };
        counters::reserve(&self.client, counter, now, limit).await
    }
}

/// A token and keys in one `BatchGetItem` across `TOKENS_TABLE` and `KEYS_TABLE`: the
/// authorizer's `tokengate` style.
#[derive(Debug, Clone)]
pub struct DynamoTokenLookup {
    client: Client,
    keys_table: String,
    tokens_table: String,
    consistent: bool,
}

impl DynamoTokenLookup {
    /// A lookup over both tables, sharing the given client.
    pub fn new(
        client: Client,
        keys_table: impl Into<String>,
        tokens_table: impl Into<String>,
    ) -> Self {
        Self {
            client,
            keys_table: keys_table.into(),
            tokens_table: tokens_table.into(),
            consistent: true,
        }
    }

    /// The same lookup reading eventually consistent, at half the read units: only where
    /// the authorizer already accepts a revocation lag.
    pub fn eventually_consistent(self, eventually: bool) -> Self {
        Self {
            consistent: !eventually,
            ..self
        }
    }

    fn corrupt(table: &str) -> impl Fn(String) -> StoreError + '_ {
        move |detail| StoreError::Corrupt {
            table: table.to_owned(),
            detail,
        }
    }
}

#[async_trait]
impl TokenLookup for DynamoTokenLookup {
    #[instrument(skip(self, keys), fields(tokens = %self.tokens_table, keys = %self.keys_table))]
    async fn token_and_keys(
        &self,
        token: &TokenHash,
        keys: &[KeyId],
    ) -> Result<TokenAndKeys, StoreError> {
        let mut ids: Vec<&KeyId> = keys.iter().collect();
        ids.sort();
        ids.dedup();
        let batch = |table: &str, items: Vec<Item>| {
            KeysAndAttributes::builder()
                .set_keys(Some(items))
                .consistent_read(self.consistent)
                .build()
                .map(|k| (table.to_owned(), k))
        };
        let token_key = Item::from([(TOKEN_HASH.to_owned(), s(token.to_hex()))]);
        let key_keys = ids
            .iter()
            .map(|id| Item::from([(KEY_ID.to_owned(), s(id.as_str()))]))
            .collect::<Vec<_>>();
        let mut requested: HashMap<String, KeysAndAttributes> =
            [batch(&self.tokens_table, vec![token_key])]
                .into_iter()
                .chain((!key_keys.is_empty()).then(|| batch(&self.keys_table, key_keys)))
                .collect::<Result<_, _>>()
                .map_err(|e| StoreError::Backend {
                    detail: e.to_string(),
                })?;
        let mut found = TokenAndKeys::default();
        let bounds = Bounds::of(&self.client);
        // DynamoDB may leave keys unprocessed under throttling: ask again for those only, a
        // few times, with jittered backoff, inside the operation timeout.
        let mut attempt = 0;
        while !requested.is_empty() {
            bounds
                .before(attempt)
                .await
                .map_err(|detail| StoreError::Unreachable {
                    detail: format!("BatchGetItem left keys unprocessed: {detail}"),
                })?;
            attempt += 1;
            let call = self
                .client
                .batch_get_item()
                .set_request_items(Some(requested))
                .send();
            let out = timed("BatchGetItem", bounds.within(call))
                .await?
                .map_err(|e| classify(&self.tokens_table, e))?;
            for (table, items) in out.responses().into_iter().flatten() {
                for item in items {
                    if table == &self.tokens_table {
                        found.token = Some(
                            TokenRecord::try_from(item)
                                .map_err(Self::corrupt(&self.tokens_table))?,
                        );
                    } else {
                        found.keys.push(
                            ClientKey::try_from(item).map_err(Self::corrupt(&self.keys_table))?,
                        );
                    }
                }
            }
            requested = out.unprocessed_keys.unwrap_or_default();
        }
        Ok(found)
    }
}
