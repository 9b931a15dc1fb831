//! One invocation: event in, decision, answer out, one log line.

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::{info, warn};

use crate::decision::{Authorizer, Decision};
use crate::event::{self, UnsupportedEvent};

/// Handles one authorizer event. Only an event that is not an authorizer event at all
/// (a deployment mistake, not anything a caller sent) is an error to the runtime.
pub async fn handle(
    authorizer: &Authorizer,
    event: LambdaEvent<Value>,
) -> Result<Value, UnsupportedEvent> {
    decide(authorizer, event.payload).await
}

/// The same, on the bare event JSON.
pub async fn decide(authorizer: &Authorizer, event: Value) -> Result<Value, UnsupportedEvent> {
    let (kind, request) = event::parse(event)?;
    let decision = authorizer.decide(&request).await;
    match &decision {
        Decision::Allow {
            principal_id,
            headers,
            cached,
            ..
        } => {
            info!(reason = "allowed", principal_id = %principal_id, injected = headers.len(), cached)
        }
        Decision::Deny {
            principal_id,
            reason,
        } => warn!(
            reason = reason.reason_id(),
            error = reason.name(),
            principal_id = principal_id.as_deref().unwrap_or("")
        ),
    }
    Ok(event::respond(&kind, &decision, authorizer.context_keys()))
}
