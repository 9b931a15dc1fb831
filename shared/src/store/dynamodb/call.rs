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
