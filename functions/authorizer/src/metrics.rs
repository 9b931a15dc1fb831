//! The authorizer's metrics, through the `metrics` facade: in Lambda, Embedded Metric Format
//! lines in the function's log (namespace `tokengate`); in `tokengate serve`, Prometheus text
//! on its admin port. Dimensions are bounded: a result and an error name, never a key id, a
//! token or an endpoint.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

use crate::error::Reason;

/// Decisions, by `result` (`Allow`, `Deny`) and `error` (the denial's name, `None` for
/// an Allow).
pub const DECISIONS: &str = "Decisions";
/// Denials of any error: `Decisions`' Deny total, as one series to alarm on.
pub const DENIALS: &str = "Denials";
/// Validations answered from the cache.
pub const CACHE_HITS: &str = "CacheHits";
/// Validations the cache could not answer (counted only when the cache is on).
pub const CACHE_MISSES: &str = "CacheMisses";
/// Time for the validation endpoint to answer, in milliseconds.
pub const VALIDATION_LATENCY: &str = "ValidationLatency";
/// Calls to the validation endpoint that got no usable answer: refused, timed out, too big,
/// or (introspection) 429 or 5xx.
pub const VALIDATION_ENDPOINT_ERRORS: &str = "ValidationEndpointErrors";
/// JWKS fetches, by `result` (`ok`, `error`).
pub const JWKS_REFRESHES: &str = "JwksRefreshes";
/// Key store reads that failed or timed out (each also a `Decisions` denial).
pub const KEY_STORE_ERRORS: &str = "KeyStoreErrors";

/// Names the metrics and their units to the recorder, once at start.
pub fn describe() {
    describe_counter!(
        DECISIONS,
        Unit::Count,
        "Authorizer decisions, by result and error"
    );
    describe_counter!(
        CACHE_HITS,
        Unit::Count,
        "Validations answered from the cache"
    );
    describe_counter!(
        CACHE_MISSES,
        Unit::Count,
        "Validations the cache could not answer"
    );
    describe_histogram!(
        VALIDATION_LATENCY,
        Unit::Milliseconds,
        "Time for the validation endpoint to answer"
    );
    describe_counter!(
        VALIDATION_ENDPOINT_ERRORS,
        Unit::Count,
        "Validation calls with no usable answer"
    );
    describe_counter!(JWKS_REFRESHES, Unit::Count, "JWKS fetches, by result");
    describe_counter!(KEY_STORE_ERRORS, Unit::Count, "Key store reads that failed");
    describe_counter!(
        crate::metering::LIMITED,
        Unit::Count,
        "Requests refused past a plan's limit, by plan and limit"
    );
    describe_counter!(
        crate::metering::QUOTA_REFUSALS,
        Unit::Count,
        "Requests refused past a plan's quota, all plans together"
    );
    describe_counter!(
        tokengate_shared::plan::limiter::USAGE_FLUSHES,
        Unit::Count,
        "Usage counts written to USAGE_TABLE, by result"
    );
    tokengate_shared::store::describe_metrics();
}

/// One decision: denied for `reason` (`None`: allowed), answered from the cache or not.
pub(crate) fn decision(reason: Option<Reason>, cached: bool) {
    let (result, error) = match reason {
        None => ("Allow", "None"),
        Some(reason) => ("Deny", reason.error().name()),
    };
    counter!(DECISIONS, "result" => result, "error" => error).increment(1);
    if reason.is_some() {
        counter!(DENIALS).increment(1);
    }
    match reason {
        Some(Reason::KeyStoreUnavailable) => counter!(KEY_STORE_ERRORS).increment(1),
        // The call itself answered: counted here, as a call that got no usable answer.
        Some(Reason::EndpointFailed) if !cached => {
            counter!(VALIDATION_ENDPOINT_ERRORS).increment(1);
        }
        _ => {}
    }
}

pub(crate) fn cache(hit: bool) {
    counter!(if hit { CACHE_HITS } else { CACHE_MISSES }).increment(1);
}

pub(crate) fn validation_call(took: Duration, answered: bool) {
    histogram!(VALIDATION_LATENCY).record(took.as_secs_f64() * 1000.0);
    if !answered {
        counter!(VALIDATION_ENDPOINT_ERRORS).increment(1);
    }
}

pub(crate) fn jwks_refresh(ok: bool) {
    counter!(JWKS_REFRESHES, "result" => if ok { "ok" } else { "error" }).increment(1);
}
