//! DynamoDB stores, and the table layout that `tokengate tables create` and `template.yaml`
//! both declare.
//!
//! Reads are strongly consistent: a token introspected right after it is issued, or a key
//! used right after it is disabled or rotated, must see the write.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, KeysAndAttributes,
    ReturnValue, ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use tracing::instrument;

use super::{
    FailureLog, KeyAdmin, KeyReader, Revocation, SourceFailureLog, StoreError, TokenAndKeys,
    TokenLookup, TokenStore, in_listing_order, key_not_found,
};
use crate::code::SystemCode;
use crate::key::{ClientKey, FailedAttempts, FailureLimit, KeyId, KeyStatus, Reservation};

use crate::secret::SecretHash;
use crate::token::{TokenHash, TokenRecord};

mod bounds;
mod call;
mod counters;
mod item;
mod limits;

use bounds::Bounds;
use call::{classify, is_condition_failure, timed};
pub use counters::SOURCE_PREFIX;
use item::{Attributes, FAILURES, FAILURES_SINCE, Item, TOKENS_REVOKED_AT, n, s};
pub use item::{EXPIRES_AT, KEY_ID, TOKEN_HASH};
pub use limits::{InvalidStoreLimit, StoreLimits};

/// An SDK client configured from the environment, as the AWS SDK reads it everywhere
/// (credentials, region, and `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`), with
/// tokengate's [`StoreLimits`] from theirs.
pub async fn client_from_env() -> Result<Client, InvalidStoreLimit> {
    let limits = StoreLimits::from_env()?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(sdk_http_client(&limits)?)
        .timeout_config(limits.timeout_config())
        .retry_config(limits.retry_config())
        .load()
        .await;
    Ok(Client::new(&config))
}

/// The client the Lambda functions use: what Lambda puts in the environment and nothing
/// else. Credentials are `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, the
/// region `AWS_REGION`, the endpoint override the SDK's own `AWS_ENDPOINT_URL_DYNAMODB` /
/// `AWS_ENDPOINT_URL`: no profile files, SSO, STS or instance metadata are consulted, so
/// none of their code runs at cold start. The CLI and `serve` keep the SDK's full chain
/// ([`client_from_env`]). Its bounds are `limits` ([`StoreLimits::from_env`], read once:
/// the functions act on its `warm_up` themselves).
///
/// # Errors
/// An `SSL_CERT_FILE` that is not usable, or no region.
pub fn lambda_client(limits: &StoreLimits) -> Result<Client, InvalidStoreLimit> {
    lambda_client_with(limits, |name| std::env::var(name).ok())
}

/// [`lambda_client`] through `lookup`, a stand-in for the environment (credentials aside:
/// the provider reads them from the process environment when a request is signed).
pub fn lambda_client_with(
    limits: &StoreLimits,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Client, InvalidStoreLimit> {
    let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .ok_or(InvalidStoreLimit {
            variable: "AWS_REGION",
            problem: "must be set (Lambda sets it; set it to run the function elsewhere)".into(),
        })?;
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(region))
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .http_client(sdk_http_client(limits)?)
        .timeout_config(limits.timeout_config())
        .retry_config(limits.retry_config());
    if let Some(endpoint) = var("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| var("AWS_ENDPOINT_URL")) {
        config = config.endpoint_url(endpoint);
    }
    Ok(Client::from_conf(config.build()))
}

/// The SDK's HTTP client: [`crate::transport::SdkTransport`] within these limits' connect
/// timeout, over the same TLS configuration as the authorizer's own client.
///
/// # Errors
/// An `SSL_CERT_FILE` that is not usable.
pub fn sdk_http_client(
    limits: &StoreLimits,
) -> Result<aws_sdk_dynamodb::config::SharedHttpClient, InvalidStoreLimit> {
    crate::transport::SdkTransport::new(limits.connect)
        .map(crate::transport::SdkTransport::shared)
        .map_err(|problem| InvalidStoreLimit {
            variable: "SSL_CERT_FILE",
            problem: problem.trim_start_matches("SSL_CERT_FILE ").to_owned(),
        })
}

/// The DynamoDB endpoint the SDK will use, for messages: the override if one is set.
pub fn endpoint_description() -> String {
    ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "the AWS DynamoDB endpoint of the configured region".to_owned())
}

impl TryFrom<&Item> for ClientKey {
    type Error = String;

    fn try_from(item: &Item) -> Result<Self, Self::Error> {
        let a = Attributes(item);
        let id = KeyId::parse(a.string(KEY_ID)?).map_err(|e| e.to_string())?;
        let codes = a
            .string_set("codes")?
            .iter()
            .map(|c| SystemCode::parse(c).map_err(|e| format!("attribute 'codes': {e}")))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(Self {
            secret_hash: SecretHash::parse(a.string("secret_hash")?)
                .map_err(|e| format!("key {id}: {e}"))?,
            status: KeyStatus::parse(a.string("status")?)
                .ok_or_else(|| format!("key {id}: attribute 'status' is not active or disabled"))?,
            created_at: a.number("created_at")?,
            updated_at: a.number("updated_at")?,
            description: a.optional_string("description")?.map(str::to_owned),
            failures: FailedAttempts {
                count: a.optional_number(FAILURES)?,
                since: a.optional_number(FAILURES_SINCE)?,
            },
            tokens_revoked_at: a.optional_number(TOKENS_REVOKED_AT)?,
            codes,
            id,
        })
    }
}

impl From<&ClientKey> for Item {
    fn from(key: &ClientKey) -> Self {
        let mut item = Item::from([
            (KEY_ID.to_owned(), s(key.id.as_str())),
            ("secret_hash".to_owned(), s(key.secret_hash.encode())),
            ("status".to_owned(), s(key.status.as_str())),
            ("created_at".to_owned(), n(key.created_at)),
            ("updated_at".to_owned(), n(key.updated_at)),
        ]);
        // DynamoDB has no empty sets: a key with no codes simply has no attribute.
        if !key.codes.is_empty() {
            let codes = key.codes.iter().map(|c| c.to_string()).collect();
            item.insert("codes".to_owned(), AttributeValue::Ss(codes));
        }
        if let Some(description) = &key.description {
            item.insert("description".to_owned(), s(description));
        }
        if key.failures != FailedAttempts::default() {
            item.insert(FAILURES.to_owned(), n(key.failures.count));
            item.insert(FAILURES_SINCE.to_owned(), n(key.failures.since));
        }
        if key.tokens_revoked_at != 0 {
            item.insert(TOKENS_REVOKED_AT.to_owned(), n(key.tokens_revoked_at));
        }
        item
    }
}

impl TryFrom<&Item> for TokenRecord {
    type Error = String;

    fn try_from(item: &Item) -> Result<Self, Self::Error> {
        let a = Attributes(item);
        Ok(Self {
            hash: TokenHash::from_hex(a.string(TOKEN_HASH)?)
                .ok_or_else(|| format!("attribute '{TOKEN_HASH}' is not a SHA-256 in hex"))?,
            key_id: KeyId::parse(a.string(KEY_ID)?).map_err(|e| e.to_string())?,
            from_code: a.optional_code("from_code")?,
            to_code: a.optional_code("to_code")?,
            scope: a.string("scope")?.to_owned(),
            issued_at: a.number("issued_at")?,
            expires_at: a.number(EXPIRES_AT)?,
        })
    }
}

impl From<&TokenRecord> for Item {
    fn from(token: &TokenRecord) -> Self {
        let codes = [("from_code", &token.from_code), ("to_code", &token.to_code)]
            .into_iter()
            .filter_map(|(name, code)| code.as_ref().map(|c| (name.to_owned(), s(c.as_str()))));
        Item::from([
            (TOKEN_HASH.to_owned(), s(token.hash.to_hex())),
            (KEY_ID.to_owned(), s(token.key_id.as_str())),
            ("scope".to_owned(), s(&token.scope)),
            ("issued_at".to_owned(), n(token.issued_at)),
            (EXPIRES_AT.to_owned(), n(token.expires_at)),
        ])
        .into_iter()
        .chain(codes)
        .collect()
    }
}

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
        let out = timed(
            "GetItem",
            self.client
                .get_item()
                .table_name(&self.table)
                .key(KEY_ID, s(id.as_str()))
                .consistent_read(true)
                .send(),
        )
        .await
        .map_err(|e| classify(&self.table, e))?;
        out.item().map(|item| self.decode(item)).transpose()
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
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Item::from(key)))
            .condition_expression("attribute_not_exists(key_id)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::AlreadyExists {
                what: "key",
                id: key.id.to_string(),
            }),
            Err(err) => Err(classify(&self.table, err)),
        }
    }

    #[instrument(skip(self), fields(table = %self.table))]
    async fn list(&self) -> Result<Vec<ClientKey>, StoreError> {
        let items: Vec<Item> = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| classify(&self.table, e))?;
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

    #[instrument(skip(self), fields(table = %self.table))]
    async fn delete(&self, id: &KeyId) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY_ID, s(id.as_str()))
            .condition_expression("attribute_exists(key_id)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(key_not_found(id)),
            Err(err) => Err(classify(&self.table, err)),
        }
    }
}

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
                .consistent_read(true)
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

/// What `create_tables` did to one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableOutcome {
    /// The table was made.
    Created,
    /// It was there already (its settings were still checked).
    AlreadyExisted,
}

/// Makes both tables, on demand billing, with TTL on the tokens table; idempotent.
pub async fn create_tables(
    client: &Client,
    keys_table: &str,
    tokens_table: &str,
) -> Result<[TableOutcome; 2], StoreError> {
    let keys = create_table(client, keys_table, KEY_ID).await?;
    let tokens = create_table(client, tokens_table, TOKEN_HASH).await?;
    enable_ttl(client, tokens_table).await?;
    Ok([keys, tokens])
}

async fn create_table(
    client: &Client,
    table: &str,
    partition_key: &str,
) -> Result<TableOutcome, StoreError> {
    let backend = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Backend {
        detail: e.to_string(),
    };
    let result = client
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(partition_key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(backend)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(partition_key)
                .key_type(KeyType::Hash)
                .build()
                .map_err(backend)?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    let outcome = match result {
        Ok(_) => TableOutcome::Created,
        Err(SdkError::ServiceError(e)) if e.err().code() == Some("ResourceInUseException") => {
            TableOutcome::AlreadyExisted
        }
        Err(err) => return Err(classify(table, err)),
    };
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(120))
        .await
        .map_err(|e| StoreError::Backend {
            detail: format!(
                "table '{table}' did not become active: {}",
                DisplayErrorContext(&e)
            ),
        })?;
    Ok(outcome)
}

async fn enable_ttl(client: &Client, table: &str) -> Result<(), StoreError> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| classify(table, e))?;
    let description = current.time_to_live_description();
    let status = description.and_then(|d| d.time_to_live_status());
    let attribute = description.and_then(|d| d.attribute_name());
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) && attribute == Some(EXPIRES_AT)
    {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(EXPIRES_AT)
        .build()
        .map_err(|e| StoreError::Backend {
            detail: e.to_string(),
        })?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| classify(table, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_the_round_trip_through_an_item() {
        let codes = ["d2ir1", "abcde"]
            .iter()
            .map(|c| SystemCode::parse(c).unwrap())
            .collect();
        let (key, _) = ClientKey::generate(codes, Some("ILS of Example U".into()), 1_700_000_000);
        let item = Item::from(&key);
        assert_eq!(ClientKey::try_from(&item), Ok(key));
    }

    #[test]
    fn a_key_item_missing_its_hash_is_reported_by_attribute_name() {
        let (key, _) = ClientKey::generate(BTreeSet::new(), None, 1);
        let mut item = Item::from(&key);
        item.remove("secret_hash");
        assert_eq!(
            ClientKey::try_from(&item),
            Err("attribute 'secret_hash' is missing".to_owned())
        );
    }

    #[test]
    fn a_token_record_survives_the_round_trip_through_an_item() {
        let record = TokenRecord {
            hash: TokenHash::of("t"),
            key_id: KeyId::generate(),
            from_code: SystemCode::parse("d2ir1").ok(),
            to_code: SystemCode::parse("abcde").ok(),
            scope: "innreach_tp".into(),
            issued_at: 10,
            expires_at: 609,
        };
        assert_eq!(
            TokenRecord::try_from(&Item::from(&record)),
            Ok(record.clone())
        );
        let generic = TokenRecord {
            from_code: None,
            to_code: None,
            ..record
        };
        let item = Item::from(&generic);
        assert!(!item.contains_key("from_code") && !item.contains_key("to_code"));
        assert_eq!(TokenRecord::try_from(&item), Ok(generic));
    }
}

#[cfg(test)]
mod limits_tests {
    use super::*;

    #[test]
    fn the_lambda_client_takes_its_region_from_the_environment_and_names_a_missing_one() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let limits = StoreLimits::default();
        let missing = lambda_client_with(&limits, env(&[])).unwrap_err();
        assert_eq!(missing.variable, "AWS_REGION");
        let client = lambda_client_with(
            &limits,
            env(&[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
            ]),
        )
        .unwrap();
        // The endpoint override is exercised by every test that runs a function on moto.
        let config = client.config();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
    }

    #[test]
    fn store_limits_default_to_one_second_attempts_inside_two_and_a_half_seconds() {
        let limits = StoreLimits::from_lookup(|_| None).unwrap();
        assert_eq!(limits, StoreLimits::default());
        assert_eq!(limits.attempt, Duration::from_secs(1));
        assert_eq!(limits.operation, Duration::from_millis(2_500));
    }

    #[test]
    fn store_limits_are_read_from_the_environment_and_refused_by_name_when_wrong() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let limits = StoreLimits::from_lookup(env(&[
            ("DYNAMODB_ATTEMPT_TIMEOUT_MS", "300"),
            ("DYNAMODB_OPERATION_TIMEOUT_MS", "700"),
            ("DYNAMODB_MAX_ATTEMPTS", "2"),
        ]))
        .unwrap();
        assert_eq!(limits.attempt, Duration::from_millis(300));
        assert_eq!(limits.max_attempts, 2);
        assert!(limits.warm_up, "on unless turned off");
        let off = StoreLimits::from_lookup(env(&[("DYNAMODB_WARM_UP", " FALSE ")])).unwrap();
        assert!(!off.warm_up);
        let unclear = StoreLimits::from_lookup(env(&[("DYNAMODB_WARM_UP", "no")])).unwrap_err();
        assert_eq!(
            unclear.to_string(),
            "DYNAMODB_WARM_UP must be true or false"
        );
        let wrong = StoreLimits::from_lookup(env(&[("DYNAMODB_OPERATION_TIMEOUT_MS", "soon")]));
        assert_eq!(wrong.unwrap_err().variable, "DYNAMODB_OPERATION_TIMEOUT_MS");
        let inverted = StoreLimits::from_lookup(env(&[
            ("DYNAMODB_ATTEMPT_TIMEOUT_MS", "3000"),
            ("DYNAMODB_OPERATION_TIMEOUT_MS", "2000"),
        ]));
        assert_eq!(
            inverted.unwrap_err().variable,
            "DYNAMODB_ATTEMPT_TIMEOUT_MS"
        );
    }
}
