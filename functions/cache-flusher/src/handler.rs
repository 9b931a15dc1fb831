//! One batch of stream records: when any of them changes a decision, every named stage's
//! authorizer cache is flushed once; else nothing is called. A failed flush fails the
//! batch, which Lambda retries (the flush is idempotent) and at last sends to the
//! dead-letter queue.

use aws_lambda_events::event::dynamodb::Event;
use serde::Serialize;

use crate::changes::change_of;
use crate::error::FlusherError;
use crate::flusher::StageFlusher;
use crate::stages::Stage;

/// What a batch came to: the function's answer, and its log line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Records in the batch.
    pub records: usize,
    /// Keys deleted.
    pub keys_deleted: usize,
    /// Keys whose decision attributes changed.
    pub keys_changed: usize,
    /// Tokens revoked.
    pub tokens_revoked: usize,
    /// Stages flushed.
    pub flushed: Vec<String>,
}

/// Handles one batch.
pub async fn handle(
    flusher: &dyn StageFlusher,
    stages: &[Stage],
    event: &Event,
) -> Result<Outcome, FlusherError> {
    let mut outcome = Outcome {
        records: event.records.len(),
        ..Outcome::default()
    };
    for change in event.records.iter().filter_map(change_of) {
        let count = match change.name() {
            "key_deleted" => &mut outcome.keys_deleted,
            "key_changed" => &mut outcome.keys_changed,
            _ => &mut outcome.tokens_revoked,
        };
        *count += 1;
    }
    if outcome.keys_deleted + outcome.keys_changed + outcome.tokens_revoked == 0 {
        return Ok(outcome);
    }
    for stage in stages {
        if let Err(e) = flusher.flush(stage).await {
            metrics::counter!("AuthorizerCacheFlushFailures").increment(1);
            tracing::error!(reason = "flush_failed", detail = %e);
            return Err(e);
        }
        metrics::counter!("AuthorizerCacheFlushes").increment(1);
        outcome.flushed.push(stage.to_string());
    }
    tracing::info!(
        records = outcome.records,
        keys_deleted = outcome.keys_deleted,
        keys_changed = outcome.keys_changed,
        tokens_revoked = outcome.tokens_revoked,
        flushed = outcome.flushed.len(),
        "authorizer caches flushed"
    );
    Ok(outcome)
}
