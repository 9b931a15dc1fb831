//! Failed-authentication counters in DynamoDB: one per key, in the key's own record, and
//! one per source address, in `TOKENS_TABLE` beside the tokens, expiring with its window.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::call::{classify, timed};
use super::item::{Attributes, EXPIRES_AT, FAILURES, FAILURES_SINCE, Item, n, s};
use crate::key::{FailedAttempts, FailureLimit, Reservation};
use crate::store::StoreError;

/// The partition key prefix of a source's counter in `TOKENS_TABLE`. Token hashes are hex,
/// so no token can ever share a counter's key.
pub const SOURCE_PREFIX: &str = "source#";

/// Where one counter lives.
pub(super) struct Counter<'a> {
    /// The table.
    pub table: &'a str,
    /// Its partition key attribute and value.
    pub key: (&'static str, String),
    /// A key's counter lives in the key's record and is never created by a failure; a
    /// source's is created by its first failure and carries the TTL attribute.
    pub created_by_failure: bool,
}

/// One attempt's update and condition, and the values they use.
struct Attempt {
    update: String,
    condition: String,
    values: Vec<(&'static str, AttributeValue)>,
}

/// Reserves one failure in `counter`: one more in an open window that has room, else the
/// first of a new window. Each is a conditional write, so that concurrent failures neither
/// lose a count, overrun the limit nor reopen a window; a race between the two is settled
/// by trying the first again. When neither applies, the window is open and full.
pub(super) async fn reserve(
    client: &Client,
    counter: Counter<'_>,
    now: u64,
    limit: FailureLimit,
) -> Result<Reservation, StoreError> {
    let cutoff = now.saturating_sub(limit.window);
    let exists = if counter.created_by_failure {
        String::new()
    } else {
        format!("attribute_exists({}) AND ", counter.key.0)
    };
    let add = || Attempt {
        update: "ADD #failures :one".into(),
        condition: format!("{exists}#since > :cutoff AND #failures < :max"),
        values: vec![
            (":one", n(1)),
            (":cutoff", n(cutoff)),
            (":max", n(limit.max)),
        ],
    };
    let mut open = Attempt {
        update: "SET #failures = :one, #since = :now".into(),
        condition: format!("{exists}(attribute_not_exists(#since) OR #since <= :cutoff)"),
        values: vec![(":one", n(1)), (":cutoff", n(cutoff)), (":now", n(now))],
    };
    if counter.created_by_failure {
        open.update.push_str(&format!(", {EXPIRES_AT} = :expires"));
        open.values
            .push((":expires", n(now.saturating_add(limit.window))));
    }
    let mut last_seen = None;
    for attempt in [add(), open, add()] {
        match write(client, &counter, attempt).await {
            Ok(()) => return Ok(Reservation::Counted),
            Err(WriteFailure::Condition(item)) => last_seen = item,
            Err(WriteFailure::Store(err)) => return Err(err),
        }
    }
    // No item at all: a key that is gone, with nothing to count.
    let Some(item) = last_seen else {
        return Ok(Reservation::Counted);
    };
    let a = Attributes(&item);
    let seen = FailedAttempts {
        count: a.optional_number(FAILURES).unwrap_or(limit.max),
        since: a.optional_number(FAILURES_SINCE).unwrap_or(now),
    };
    let retry_after = seen
        .throttled_for(now, limit.max, limit.window)
        .unwrap_or(1);
    Ok(Reservation::Throttled { retry_after })
}

enum WriteFailure {
    /// The condition did not hold; the item as it was, if there is one.
    Condition(Option<Item>),
    Store(StoreError),
}

async fn write(
    client: &Client,
    counter: &Counter<'_>,
    attempt: Attempt,
) -> Result<(), WriteFailure> {
    let result = timed(
        "UpdateItem",
        client
            .update_item()
            .table_name(counter.table)
            .key(counter.key.0, s(&counter.key.1))
            .update_expression(attempt.update)
            .condition_expression(attempt.condition)
            .expression_attribute_names("#failures", FAILURES)
            .expression_attribute_names("#since", FAILURES_SINCE)
            .set_expression_attribute_values(Some(
                attempt
                    .values
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            ))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send(),
    )
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(e))
            if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
        {
            let item = match e.err() {
                UpdateItemError::ConditionalCheckFailedException(failed) => {
                    failed.item().filter(|i| !i.is_empty()).cloned()
                }
                _ => None,
            };
            Err(WriteFailure::Condition(item))
        }
        Err(err) => Err(WriteFailure::Store(classify(counter.table, err))),
    }
}
