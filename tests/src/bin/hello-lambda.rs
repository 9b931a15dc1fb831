//! The smallest `lambda_runtime` function, echoing its event: the baseline the cold-start
//! benchmark compares tokengate's functions with, built with the same profile in the same run.

#![allow(clippy::unwrap_used)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
