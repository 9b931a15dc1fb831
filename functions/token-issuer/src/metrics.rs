//! The token service's metrics, through the `metrics` facade: in Lambda, Embedded Metric
//! Format lines in the function's log (namespace `tokengate`); in `tokengate serve`,
//! Prometheus text on its admin port. No dimension but the function's name, so that each
//! metric is one series to alarm on: never a key id or a token.

use metrics::{Unit, counter, describe_counter};

use crate::error::TokenEndpointError;

/// Tokens issued, at either token route.
pub const TOKENS_ISSUED: &str = "TokensIssued";
/// Refused client credentials, at any route.
pub const AUTHENTICATION_FAILURES: &str = "AuthenticationFailures";
/// Attempts refused because the key is throttled, at any route.
pub const THROTTLED_ATTEMPTS: &str = "ThrottledAttempts";
/// Token requests refused past their plan's token limit (`plans create --tokens`).
pub const TOKENS_LIMITED: &str = "TokensLimited";
/// Introspections answered, active or not.
pub const INTROSPECTIONS: &str = "Introspections";
/// Revocations answered (RFC 7009: unknown tokens included).
pub const REVOCATIONS: &str = "Revocations";
/// Requests that failed on the store (its latency is `StoreLatency`, recorded by the
/// DynamoDB stores).
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
    describe_counter!(
        TOKENS_LIMITED,
        Unit::Count,
        "Token requests refused past their plan's token limit"
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

pub(crate) fn outcome<T>(operation: Operation, outcome: &Result<T, TokenEndpointError>) {
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
        ) => counter!(AUTHENTICATION_FAILURES).increment(1),
        (_, Err(TokenEndpointError::Throttled { .. })) => counter!(THROTTLED_ATTEMPTS).increment(1),
        (_, Err(TokenEndpointError::TokenLimitExceeded { .. })) => {
            counter!(TOKENS_LIMITED).increment(1);
        }
        (_, Err(TokenEndpointError::Unavailable(_))) => counter!(STORE_ERRORS).increment(1),
        _ => {}
    }
}
