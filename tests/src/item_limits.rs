//! DynamoDB's per-item throughput, scaled down so that one machine can exceed it. DynamoDB
//! serves one item (one partition key) at most 3,000 read units and 1,000 write units a
//! second; a strongly consistent read of an item up to 4 KB costs 1 read unit, an eventually
//! consistent one 0.5, and a write up to 1 KB 1 write unit. [`ItemMeter`] counts the same
//! units per item per one-second window, from the request bodies, and refuses a request
//! that would take any of its items past its limit with
//! `ProvisionedThroughputExceededException`, as DynamoDB does.
//!
//! Stricter than DynamoDB in one way, said here: a `BatchGetItem` with one item over its
//! limit is refused whole, where DynamoDB would return that item as unprocessed. The
//! scale simulation's batches hold a token and its key, which a hot client makes hot
//! together, and then DynamoDB too refuses the whole batch.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::http::{Response, StatusCode};
use serde_json::Value;

/// Units per item per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemLimits {
    /// Read units (DynamoDB: 3,000).
    pub reads_per_second: f64,
    /// Write units (DynamoDB: 1,000).
    pub writes_per_second: f64,
}

/// What the items have taken, from the first request on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Read units per item (`table/{key JSON}`).
    pub reads: HashMap<String, f64>,
    /// Write units per item.
    pub writes: HashMap<String, f64>,
    /// The most read units one item took in one second.
    pub peak_reads_per_second: f64,
    /// The most write units one item took in one second.
    pub peak_writes_per_second: f64,
    /// Requests refused with `ProvisionedThroughputExceededException`.
    pub refused: u64,
}

#[derive(Default)]
struct Window {
    second: u64,
    reads: f64,
    writes: f64,
}

/// The meter the proxy consults before relaying a request.
pub struct ItemMeter {
    limits: ItemLimits,
    state: Mutex<(HashMap<String, Window>, Usage)>,
}

impl std::fmt::Debug for ItemMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemMeter")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// One item a request touches, and its units.
struct Touch {
    item: String,
    units: f64,
    write: bool,
}

impl ItemMeter {
    /// A meter holding each item to `limits`.
    pub fn new(limits: ItemLimits) -> Self {
        Self {
            limits,
            state: Mutex::default(),
        }
    }

    /// What the items have taken so far.
    pub fn usage(&self) -> Usage {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone()
    }

    /// `None` when the request may go on, its units counted; else DynamoDB's refusal.
    pub fn admit(&self, operation: &str, body: &Bytes) -> Option<Response<Body>> {
        self.admit_at(
            operation,
            body,
            tokengate_shared::clock::now_epoch_seconds(),
        )
    }

    /// The same, in the one-second window `second`.
    pub fn admit_at(&self, operation: &str, body: &Bytes, second: u64) -> Option<Response<Body>> {
        let request: Value = serde_json::from_slice(body).unwrap_or_default();
        let touches = touches(operation, &request);
        if touches.is_empty() {
            return None;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (windows, usage) = &mut *state;
        let over = touches.iter().any(|touch| {
            let window = windows.entry(touch.item.clone()).or_default();
            if window.second != second {
                *window = Window {
                    second,
                    ..Window::default()
                };
            }
            let (used, limit) = match touch.write {
                true => (window.writes, self.limits.writes_per_second),
                false => (window.reads, self.limits.reads_per_second),
            };
            used + touch.units > limit
        });
        if over {
            usage.refused += 1;
            return Some(refusal());
        }
        for touch in touches {
            let window = windows.entry(touch.item.clone()).or_default();
            if touch.write {
                window.writes += touch.units;
                *usage.writes.entry(touch.item).or_default() += touch.units;
                usage.peak_writes_per_second = usage.peak_writes_per_second.max(window.writes);
            } else {
                window.reads += touch.units;
                *usage.reads.entry(touch.item).or_default() += touch.units;
                usage.peak_reads_per_second = usage.peak_reads_per_second.max(window.reads);
            }
        }
        None
    }
}

/// The items an operation reads or writes, from its JSON body.
fn touches(operation: &str, request: &Value) -> Vec<Touch> {
    let table = request["TableName"].as_str().unwrap_or_default();
    let read_units = |consistent: &Value| if consistent == true { 1.0 } else { 0.5 };
    let one = |item: &Value, units: f64, write: bool| Touch {
        item: format!("{table}/{item}"),
        units,
        write,
    };
    match operation {
        "GetItem" => vec![one(
            &request["Key"],
            read_units(&request["ConsistentRead"]),
            false,
        )],
        "UpdateItem" | "DeleteItem" => vec![one(&request["Key"], 1.0, true)],
        "PutItem" => vec![one(&request["Item"], 1.0, true)],
        "BatchGetItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(table, asked)| {
                let units = read_units(&asked["ConsistentRead"]);
                asked["Keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(move |key| Touch {
                        item: format!("{table}/{key}"),
                        units,
                        write: false,
                    })
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn refusal() -> Response<Body> {
    let body = serde_json::json!({
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded."
    });
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_past_its_reads_in_one_second_is_refused_and_eventual_reads_cost_half() {
        let meter = ItemMeter::new(ItemLimits {
            reads_per_second: 2.0,
            writes_per_second: 1.0,
        });
        let strong =
            Bytes::from(r#"{"TableName": "t", "Key": {"k": {"S": "a"}}, "ConsistentRead": true}"#);
        let eventual = Bytes::from(r#"{"TableName": "t", "Key": {"k": {"S": "b"}}}"#);
        assert!(meter.admit_at("GetItem", &strong, 10).is_none());
        assert!(meter.admit_at("GetItem", &strong, 10).is_none());
        let refused = meter.admit_at("GetItem", &strong, 10).unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(
            meter.admit_at("GetItem", &strong, 11).is_none(),
            "a new second"
        );
        for _ in 0..4 {
            assert!(meter.admit_at("GetItem", &eventual, 11).is_none());
        }
        assert!(meter.admit_at("GetItem", &eventual, 11).is_some());
        let write = Bytes::from(r#"{"TableName": "u", "Key": {"k": {"S": "c"}}}"#);
        assert!(meter.admit_at("UpdateItem", &write, 11).is_none());
        assert!(meter.admit_at("UpdateItem", &write, 11).is_some());
        let usage = meter.usage();
        assert_eq!(usage.refused, 3);
        assert_eq!(usage.reads["t/{\"k\":{\"S\":\"b\"}}"], 2.0);
        assert_eq!(usage.peak_reads_per_second, 2.0);
        assert_eq!(usage.peak_writes_per_second, 1.0);
    }
}
