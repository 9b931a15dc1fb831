//! The cache-flusher's one error type: what stops it starting, and a flush that failed.

/// Why the function cannot start, or why a batch must be retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlusherError {
    /// `FLUSH_STAGES` is unset, empty or malformed.
    #[error("FLUSH_STAGES {0}")]
    Stages(String),
    /// A setting the SDK client needs.
    #[error("{0}")]
    Client(String),
    /// API Gateway refused or did not answer a flush: the batch is retried, and after its
    /// retries goes to the dead-letter queue.
    #[error("flushing the authorizer cache of {stage} failed: {detail}")]
    Flush {
        /// `restApiId/stageName`.
        stage: String,
        /// The SDK's explanation (no record content).
        detail: String,
    },
}
