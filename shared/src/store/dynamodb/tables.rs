//! The table layout that `tokengate tables create` and `template.yaml` both declare.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification, TimeToLiveStatus,
};

use crate::store::StoreError;

use super::call::classify;
use super::item::{EXPIRES_AT, KEY_ID, TOKEN_HASH};

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

/// Makes `SIGNING_KEYS_TABLE`, on demand billing; idempotent.
pub async fn create_signing_keys_table(
    client: &Client,
    table: &str,
) -> Result<TableOutcome, StoreError> {
    create_table(client, table, super::item::KID).await
}

pub(crate) async fn create_table(
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

pub(crate) async fn enable_ttl(client: &Client, table: &str) -> Result<(), StoreError> {
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
