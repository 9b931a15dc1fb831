//! The cache-flusher Lambda function: DynamoDB Streams on `KEYS_TABLE` and `TOKENS_TABLE`
//! trigger it, and when a key is disabled, deleted or rotated, or a token revoked, it
//! flushes API Gateway's authorizer cache for the stages in `FLUSH_STAGES`, so that the
//! `tokengate` style may use `AuthorizerCacheTtl` above 0 and a revocation still takes
//! effect within the stream's delay.

pub mod changes;
pub mod error;
pub mod flusher;
pub mod handler;
pub mod stages;

/// Names the function's metrics for the EMF collector.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "AuthorizerCacheFlushes",
        metrics::Unit::Count,
        "FlushStageAuthorizersCache calls that succeeded, one per stage per batch with a change"
    );
    metrics::describe_counter!(
        "AuthorizerCacheFlushFailures",
        metrics::Unit::Count,
        "FlushStageAuthorizersCache calls that failed; the batch is retried"
    );
}
