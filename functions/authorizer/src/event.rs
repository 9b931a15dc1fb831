//! API Gateway's authorizer events in, and its answers out: the plumbing around
//! [`crate::decision`].
//!
//! - REST APIs (payload 1.0, `type: REQUEST`, `methodArn`) get an IAM policy.
//! - HTTP APIs (payload 2.0, `routeArn`) get the simple response.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::decision::{AuthRequest, Decision};

/// Which answer API Gateway expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A REST API REQUEST authorizer; the IAM policy covers this method ARN's stage.
    RestApi {
        /// The `methodArn` of the request.
        method_arn: String,
    },
    /// An HTTP API authorizer with simple responses.
    HttpApi,
}

/// An event that is not an API Gateway REQUEST authorizer event.
#[derive(Debug, Clone, thiserror::Error)]
#[error("not an API Gateway REQUEST authorizer event: {0}")]
pub struct UnsupportedEvent(String);

impl From<UnsupportedEvent> for lambda_runtime::Diagnostic {
    fn from(err: UnsupportedEvent) -> Self {
        Self {
            error_type: "UnsupportedEvent".into(),
            error_message: err.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    version: Option<String>,
    method_arn: Option<String>,
    route_arn: Option<String>,
    #[serde(default)]
    headers: Option<HashMap<String, Option<String>>>,
    #[serde(default)]
    multi_value_headers: Option<HashMap<String, Option<Vec<String>>>>,
    #[serde(default)]
    query_string_parameters: Option<HashMap<String, Option<String>>>,
}

/// Reads an authorizer event of either payload version.
pub fn parse(event: Value) -> Result<(EventKind, AuthRequest), UnsupportedEvent> {
    let raw: RawEvent =
        serde_json::from_value(event).map_err(|e| UnsupportedEvent(e.to_string()))?;
    let kind = match (raw.version.as_deref(), raw.method_arn, raw.route_arn) {
        (Some("2.0"), _, Some(_)) => EventKind::HttpApi,
        (_, Some(method_arn), _) => EventKind::RestApi { method_arn },
        _ => {
            return Err(UnsupportedEvent(
                "it has neither a methodArn nor a routeArn".into(),
            ));
        }
    };
    let mut headers: HashMap<String, String> = HashMap::new();
    for (name, values) in raw.multi_value_headers.unwrap_or_default() {
        if let Some(value) = values.and_then(|v| v.into_iter().last()) {
            headers.insert(name.to_ascii_lowercase(), value);
        }
    }
    for (name, value) in raw.headers.unwrap_or_default() {
        if let Some(value) = value {
            headers.insert(name.to_ascii_lowercase(), value);
        }
    }
    let query = raw
        .query_string_parameters
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    Ok((kind, AuthRequest { headers, query }))
}

/// The policy resource for a method ARN: the whole stage
/// (`arn:aws:execute-api:region:account:api/stage/*`), so API Gateway's authorizer cache,
/// which is keyed by identity and not by route, never denies a route it did not decide.
pub fn stage_resource(method_arn: &str) -> String {
    let mut parts = method_arn.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(api), Some(stage)) if !api.is_empty() && !stage.is_empty() => {
            format!("{api}/{stage}/*")
        }
        _ => method_arn.to_owned(),
    }
}

/// The `context` API Gateway passes on: only strings, numbers and booleans. On Allow,
/// every header the pre-inputs may inject has its key (`all_keys`), empty when nothing
/// was injected, so a gateway mapping always finds it and always overwrites what the
/// client sent.
pub fn context(decision: &Decision, all_keys: &[String]) -> Map<String, Value> {
    let mut context = Map::new();
    match decision {
        Decision::Allow {
            principal_id,
            headers,
            block_authorization_header,
            ..
        } => {
            context.insert("principal_id".into(), principal_id.clone().into());
            context.insert(
                "block_authorization_header".into(),
                (*block_authorization_header).into(),
            );
            let names: Vec<&str> = headers.iter().map(|h| h.header.as_str()).collect();
            context.insert("injected_headers".into(), names.join(",").into());
            for key in all_keys {
                context.insert(key.clone(), "".into());
            }
            for header in headers {
                context.insert(header.context_key.clone(), header.value.clone().into());
            }
        }
        Decision::Deny {
            principal_id,
            reason,
        } => {
            if let Some(principal_id) = principal_id {
                context.insert("principal_id".into(), principal_id.clone().into());
            }
            context.insert("error".into(), reason.name().into());
            context.insert("error_description".into(), reason.message().into());
        }
    }
    context
}

/// The answer API Gateway expects for this event.
pub fn respond(kind: &EventKind, decision: &Decision, all_keys: &[String]) -> Value {
    let allowed = matches!(decision, Decision::Allow { .. });
    let context = context(decision, all_keys);
    match kind {
        EventKind::HttpApi => json!({"isAuthorized": allowed, "context": context}),
        EventKind::RestApi { method_arn } => {
            let principal_id = match decision {
                Decision::Allow { principal_id, .. } => Some(principal_id.as_str()),
                Decision::Deny { principal_id, .. } => principal_id.as_deref(),
            };
            json!({
                "principalId": principal_id.unwrap_or("anonymous"),
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Action": "execute-api:Invoke",
                        "Effect": if allowed { "Allow" } else { "Deny" },
                        "Resource": stage_resource(method_arn),
                    }],
                },
                "context": context,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_covers_the_whole_stage_of_the_method_arn() {
        assert_eq!(
            stage_resource("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/1"),
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"
        );
        assert_eq!(stage_resource("garbage"), "garbage");
    }

    #[test]
    fn both_payload_versions_are_read_with_lowercase_headers() {
        let v1 = json!({"type": "REQUEST", "methodArn": "arn:x/prod/GET/a", "headers": {"X-Api-Key": "k"},
            "multiValueHeaders": {"X-Api-Key": ["k"]}, "queryStringParameters": {"api_key": "q"}});
        let (kind, request) = parse(v1).unwrap();
        assert_eq!(
            kind,
            EventKind::RestApi {
                method_arn: "arn:x/prod/GET/a".into()
            }
        );
        assert_eq!(request.headers["x-api-key"], "k");
        assert_eq!(request.query["api_key"], "q");
        let v2 = json!({"version": "2.0", "type": "REQUEST", "routeArn": "arn:x/$default/GET/a", "headers": {"x-api-key": "k"}});
        assert_eq!(parse(v2).unwrap().0, EventKind::HttpApi);
        assert!(parse(json!({"hello": "world"})).is_err());
        assert!(parse(json!([1, 2])).is_err());
    }
}
