//! Bounds for a loop of DynamoDB calls, such as `BatchGetItem`'s retries of unprocessed
//! keys: the client's attempts and operation timeout hold for the whole loop.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

use super::limits::StoreLimits;
use crate::store::StoreError;

/// The bounds a loop of calls keeps: the client's attempts and operation timeout, for all
/// of the calls together.
pub(super) struct Bounds {
    deadline: tokio::time::Instant,
    max_attempts: u32,
}

impl Bounds {
    pub(super) fn of(client: &Client) -> Self {
        let config = client.config();
        let operation = (config.timeout_config())
            .and_then(TimeoutConfig::operation_timeout)
            .unwrap_or(StoreLimits::default().operation);
        Self {
            deadline: tokio::time::Instant::now() + operation,
            max_attempts: config.retry_config().map_or(
                StoreLimits::default().max_attempts,
                RetryConfig::max_attempts,
            ),
        }
    }

    /// Waits before attempt `attempt` (0 is the first, at once): a full-jitter backoff from
    /// 50 ms doubling, or why there is no attempt left.
    pub(super) async fn before(&self, attempt: u32) -> Result<(), String> {
        if attempt == 0 {
            return Ok(());
        }
        if attempt >= self.max_attempts {
            return Err(format!("{attempt} attempts made"));
        }
        let ceiling = 50u64 << attempt.min(6);
        let [a, b] = crate::random::bytes::<2>();
        let backoff = Duration::from_millis(u64::from(u16::from_le_bytes([a, b])) % ceiling);
        if tokio::time::Instant::now() + backoff >= self.deadline {
            return Err("the operation timeout ran out".into());
        }
        tokio::time::sleep(backoff).await;
        Ok(())
    }

    /// `call`, cut off at the deadline.
    pub(super) async fn within<T>(
        &self,
        call: impl std::future::Future<Output = T>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout_at(self.deadline, call)
            .await
            .map_err(|_| StoreError::Unreachable {
                detail: "no answer within the operation timeout".into(),
            })
    }
}
