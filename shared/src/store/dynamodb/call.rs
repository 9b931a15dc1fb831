//! One DynamoDB call as the stores see it: its time recorded, its failure classified.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::store::{STORE_LATENCY, StoreError};

/// A failed call as a [`StoreError`]: unreachable, a missing table, or the service's error.
pub(crate) fn classify<E, R>(table: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let detail = describe(&err);
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            StoreError::Unreachable { detail }
        }
        SdkError::ServiceError(e) if e.err().code() == Some("ResourceNotFoundException") => {
            StoreError::TableMissing {
                table: table.to_owned(),
            }
        }
        _ => StoreError::Backend { detail },
    }
}

/// A one-line account of an SDK error: the service's code and message, or the innermost
/// cause of a transport failure ("Connection refused (os error 111)").
fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(e) = err {
        let e = e.err();
        return format!(
            "{}: {}",
            e.code().unwrap_or("unknown error"),
            e.message().unwrap_or("no message")
        );
    }
    let mut innermost: &dyn std::error::Error = err;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

/// `call`, its time recorded as [`STORE_LATENCY`] for `operation`.
pub(crate) async fn timed<T>(
    operation: &'static str,
    call: impl std::future::Future<Output = T>,
) -> T {
    let started = std::time::Instant::now();
    let answer = call.await;
    metrics::histogram!(STORE_LATENCY, "operation" => operation)
        .record(started.elapsed().as_secs_f64() * 1000.0);
    answer
}

pub(crate) fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    matches!(err, SdkError::ServiceError(e) if e.err().code() == Some("ConditionalCheckFailedException"))
}

/// Every item of `table`, read page by page, strongly consistent: the CLI's listings.
pub(crate) async fn scan_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<super::item::Item>, StoreError> {
    client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| classify(table, e))
}

/// Where one item is: its table, and its partition key's attribute and value.
pub(crate) struct ItemAt<'a> {
    pub(crate) client: &'a aws_sdk_dynamodb::Client,
    pub(crate) table: &'a str,
    pub(crate) key: (&'static str, &'a str),
}

impl ItemAt<'_> {
    /// One strongly consistent read of the item.
    pub(crate) async fn get(&self) -> Result<Option<super::item::Item>, StoreError> {
        let answer = timed(
            "GetItem",
            self.client
                .get_item()
                .table_name(self.table)
                .key(self.key.0, super::item::s(self.key.1))
                .consistent_read(true)
                .send(),
        )
        .await
        .map_err(|e| classify(self.table, e))?;
        Ok(answer.item)
    }

    /// Writes `item` where no item is yet; [`StoreError::AlreadyExists`] naming `what`.
    pub(crate) async fn create(
        &self,
        item: super::item::Item,
        what: &'static str,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", self.key.0)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::AlreadyExists {
                what,
                id: self.key.1.to_owned(),
            }),
            Err(err) => Err(classify(self.table, err)),
        }
    }

    /// Deletes the item; [`StoreError::NotFound`] naming `what` when there is none.
    pub(crate) async fn delete(&self, what: &'static str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(self.table)
            .key(self.key.0, super::item::s(self.key.1))
            .condition_expression("attribute_exists(#key)")
            .expression_attribute_names("#key", self.key.0)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::NotFound {
                what,
                id: self.key.1.to_owned(),
            }),
            Err(err) => Err(classify(self.table, err)),
        }
    }
}
