//! One invocation: event in, decision, one log line, answer out.

use lambda_runtime::LambdaEvent;
use serde_json::value::RawValue;
use tracing::{info, warn};

use crate::apigw::{AuthorizerAnswer, AuthorizerEvent, UnsupportedEvent};
use crate::decision::{Authorizer, Decision};
use crate::moment::Moment;

/// Handles one authorizer event. Only an event that is not an authorizer event at all
/// (a deployment mistake, not anything a caller sent) is an error to the runtime.
pub async fn handle(
    authorizer: &Authorizer,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<AuthorizerAnswer, UnsupportedEvent> {
    let event = AuthorizerEvent::from_slice(event.payload.get().as_bytes())?;
    Ok(decide(authorizer, &event, Moment::now()).await.1)
}

/// Decides a typed event at `now` and logs the decision once: the functions' path, shared
/// with `tokengate serve`.
pub async fn decide(
    authorizer: &Authorizer,
    event: &AuthorizerEvent,
    now: Moment,
) -> (Decision, AuthorizerAnswer) {
    let decision = authorizer.decide(&event.request(), now).await;
    log(&decision);
    let answer = event.answer(&decision, authorizer.context_keys());
    (decision, answer)
}

/// The decision's one log line: reason id, error name, API key id, whether the cache
/// decided, and detail for the operator (never a token or a credential).
fn log(decision: &Decision) {
    match decision {
        Decision::Allow {
            principal_id,
            headers,
            dropped,
            cached,
            ..
        } => info!(
            reason = "allowed",
            principal_id = %principal_id,
            injected = headers.len(),
            dropped = %dropped.join(","),
            cached,
        ),
        Decision::Deny {
            principal_id,
            denial,
            ..
        } => warn!(
            reason = denial.reason.id(),
            error = denial.reason.error().name(),
            principal_id = principal_id.as_deref().unwrap_or(""),
            cached = denial.cached,
            detail = denial.detail.as_deref().unwrap_or(""),
        ),
    }
}
