//! Client keys in `KEYS_TABLE`: read, administered, and their failures counted.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use tracing::instrument;

use crate::grants::Grants;
use crate::key::{ClientKey, FailureLimit, KeyId, KeyStatus, Reservation};
use crate::store::{FailureLog, KeyAdmin, KeyReader, StoreError, in_listing_order, key_not_found};

use super::call::{ItemAt, classify, is_condition_failure, scan_all};
use super::counters::{self};
use super::item::{
    AUDIENCES, Item, KEY_ID, PLAN_NAME, SCOPES, TOKEN_FORMAT, TOKEN_TTL, grant_attributes, n, s,
};
use super::limits::StoreLimits;
use crate::secret::SecretHash;

/// Client keys in `KEYS_TABLE`.
#[derive(Debug, Clone)]
pub struct DynamoKeyStore {
    client: Client,
    table: String,
}

impl DynamoKeyStore {
    /// A store over `table`, sharing the given client.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Opens the connection to DynamoDB during the cold start, so that the first request
    /// does not pay for the TCP and TLS handshakes, nor the SDK's first-request work: one
    /// eventually consistent read of a key id that cannot exist (it has a space), which the
    /// function's IAM already allows. Bounded by the connect timeout; a failure is only
    /// logged, since requests retry. The functions call it unless
    /// [`StoreLimits::warm_up`] is off.
    pub async fn warm_up(&self) {
        let within = (self.client.config().timeout_config())
            .and_then(TimeoutConfig::connect_timeout)
            .unwrap_or(StoreLimits::default().connect);
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY_ID, s("tokengate warm-up"))
            .send();
        match tokio::time::timeout(within, read).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                let problem = classify(&self.table, e);
                tracing::warn!(reason = "store_warm_up_failed", table = %self.table, detail = %problem);
            }
            Err(_) => {
                tracing::warn!(reason = "store_warm_up_failed", table = %self.table, detail = "no answer within the connect timeout");
            }
        }
    }

    fn at<'a>(&'a self, id: &'a KeyId) -> ItemAt<'a> {
        ItemAt {
            client: &self.client,
            table: &self.table,
            key: (KEY_ID, id.as_str()),
        }
    }

    fn decode(&self, item: &Item) -> Result<ClientKey, StoreError> {
        ClientKey::try_from(item).map_err(|detail| StoreError::Corrupt {
            table: self.table.clone(),
            detail,
        })
    }

    async fn update(
        &self,
        id: &KeyId,
        expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<ClientKey, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ID, s(id.as_str()))
            .update_expression(expression)
            .condition_expression("attribute_exists(key_id)")
            .expression_attribute_names("#status", "status")
            .return_values(ReturnValue::AllNew);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        if !expression.contains("#status") {
            request = request.set_expression_attribute_names(None);
        }
        match request.send().await {
            Ok(out) => self.decode(out.attributes().unwrap_or(&Item::new())),
            Err(err) if is_condition_failure(&err) => Err(key_not_found(id)),
            Err(err) => Err(classify(&self.table, err)),
        }
    }
}

#[async_trait]
impl KeyReader for DynamoKeyStore {
    #[instrument(skip(self), fields(table = %self.table))]
    async fn get(&self, id: &KeyId) -> Result<Option<ClientKey>, StoreError> {
        let item = self.at(id).get().await?;
        item.map(|item| self.decode(&item)).transpose()
    }
}

#[async_trait]
impl FailureLog for DynamoKeyStore {
    #[instrument(skip(self), fields(table = %self.table))]
    async fn reserve_failure(
        &self,
        id: &KeyId,
        now: u64,
        limit: FailureLimit,
    ) -> Result<Reservation, StoreError> {
        let counter = counters::Counter {
            table: &self.table,
            key: (KEY_ID, id.as_str().to_owned()),
            created_by_failure: false,
        };
        counters::reserve(&self.client, counter, now, limit).await
    }
}

#[async_trait]
impl KeyAdmin for DynamoKeyStore {
    #[instrument(skip(self, key), fields(table = %self.table, key_id = %key.id))]
    async fn create(&self, key: &ClientKey) -> Result<(), StoreError> {
        self.at(&key.id).create(Item::from(key), "key").await
    }

    #[instrument(skip(self), fields(table = %self.table))]
    async fn list(&self) -> Result<Vec<ClientKey>, StoreError> {
        let items = scan_all(&self.client, &self.table).await?;
        let keys = items
            .iter()
            .map(|item| self.decode(item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(in_listing_order(keys))
    }

    #[instrument(skip(self), fields(table = %self.table))]
    async fn set_status(
        &self,
        id: &KeyId,
        status: KeyStatus,
        now: u64,
    ) -> Result<ClientKey, StoreError> {
        self.update(
            id,
            "SET #status = :status, updated_at = :now",
            vec![(":status", s(status.as_str())), (":now", n(now))],
        )
        .await
    }

    #[instrument(skip(self, secret_hash), fields(table = %self.table))]
    async fn set_secret(
        &self,
        id: &KeyId,
        secret_hash: &SecretHash,
        now: u64,
    ) -> Result<ClientKey, StoreError> {
        self.update(
            id,
            "SET secret_hash = :hash, updated_at = :now",
            vec![(":hash", s(secret_hash.encode())), (":now", n(now))],
        )
        .await
    }

    #[instrument(skip(self), fields(table = %self.table))]
    async fn revoke_tokens(&self, id: &KeyId, now: u64) -> Result<ClientKey, StoreError> {
        self.update(
            id,
            "SET tokens_revoked_at = :now, updated_at = :now",
            vec![(":now", n(now))],
        )
        .await
    }

    #[instrument(skip(self, grants), fields(table = %self.table))]
    async fn set_grants(
        &self,
        id: &KeyId,
        grants: &Grants,
        now: u64,
    ) -> Result<ClientKey, StoreError> {
        // What a key does not hold has no attribute: DynamoDB has no empty sets.
        let present = grant_attributes(grants);
        let mut set = vec!["updated_at = :now".to_owned()];
        let mut values = vec![(":now".to_owned(), n(now))];
        for (name, value) in present.iter().cloned() {
            set.push(format!("{name} = :{name}"));
            values.push((format!(":{name}"), value));
        }
        let removed: Vec<&str> = [SCOPES, AUDIENCES, TOKEN_TTL, TOKEN_FORMAT, PLAN_NAME]
            .into_iter()
            .filter(|name| !present.iter().any(|(n, _)| n == name))
            .collect();
        let mut expression = format!("SET {}", set.join(", "));
        if !removed.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removed.join(", ")));
        }
        let values = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        self.update(id, &expression, values).await
    }

    #[instrument(skip(self), fields(table = %self.table))]
    async fn delete(&self, id: &KeyId) -> Result<(), StoreError> {
        self.at(id).delete("key").await
    }
}
