//! The token service's metrics, through the `metrics` facade: in Lambda, Embedded Metric
//! Format lines in the function's log (namespace `tokengate`); in `tokengate serve`,
//! Prometheus text on its admin port. Dimensions are bounded: an operation name, never a key
//! id or a token.

use metrics::{Unit, counter, describe_counter};

use crate::error::TokenEndpointError;

/// Tokens issued, at either token route.
pub const TOKENS_ISSUED: &str = "TokensIssued";
/// Refused client credentials, by `operation` (`token`, `introspect`, `revoke`).
pub const AUTHENTICATION_FAILURES: &str = "AuthenticationFailures";
/// Attempts refused because the key is throttled, by `operation`.
pub const THROTTLED_ATTEMPTS: &str = "ThrottledAttempts";
/// Introspections answered, active or not.
pub const INTROSPECTIONS: &str = "Introspections";
/// Revocations answered (RFC 7009: unknown tokens included).
pub const REVOCATIONS: &str = "Revocations";
/// Requests that failed on the store, by `operation` (the latency is the store's own
/// `StoreLatency`, recorded by the DynamoDB stores).
pub const STORE_ERRORS: &str = "StoreErrors";

/// Names the metrics and their units to the recorder, once at start.
pub fn describe() {
    describe_counter!(TOKENS_ISSUED, Unit::Count, "Tokens issued");
    describe_counter!(
        AUTHENTICATION_FAILURES,
        Unit::Count,
        "Refused client credentials"
    );
    describe_counter!(
        THROTTLED_ATTEMPTS,
        Unit::Count,
        "Attempts refused as throttled"
    );
    describe_counter!(INTROSPECTIONS, Unit::Count, "Introspections answered");
    describe_counter!(REVOCATIONS, Unit::Count, "Revocations answered");
    describe_counter!(STORE_ERRORS, Unit::Count, "Requests failed on the store");
    tokengate_shared::store::describe_metrics();
}

/// The operations a request can be, as a dimension.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Operation {
    Token,
    Introspect,
    Revoke,
    Other,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Introspect => "introspect",
            Self::Revoke => "revoke",
            Self::Other => "other",
        }
    }
}

pub(crate) fn outcome<T>(operation: Operation, outcome: &Result<T, TokenEndpointError>) {
    let name = operation.name();
    match (operation, outcome) {
        (Operation::Token, Ok(_)) => counter!(TOKENS_ISSUED).increment(1),
        (Operation::Introspect, Ok(_)) => counter!(INTROSPECTIONS).increment(1),
        (Operation::Revoke, Ok(_)) => counter!(REVOCATIONS).increment(1),
        (
            _,
            Err(
                TokenEndpointError::AuthenticationFailed(_)
                | TokenEndpointError::ClientAuthenticationFailed(_),
            ),
        ) => counter!(AUTHENTICATION_FAILURES, "operation" => name).increment(1),
        (_, Err(TokenEndpointError::Throttled { .. })) => {
            counter!(THROTTLED_ATTEMPTS, "operation" => name).increment(1);
        }
        (_, Err(TokenEndpointError::Unavailable(_))) => {
            counter!(STORE_ERRORS, "operation" => name).increment(1);
        }
        _ => {}
    }
}
