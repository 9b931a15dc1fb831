//! API Gateway's authorizer events in, and its answers out, as `aws_lambda_events` types:
//! the plumbing around [`crate::decision`].
//!
//! - REST APIs send a REQUEST event (payload 1.0) or a TOKEN event, and get an IAM policy.
//! - HTTP APIs send a payload 2.0 REQUEST event, and get the simple response.

use std::borrow::Cow;
use std::collections::BTreeMap;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequest,
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use aws_lambda_events::query_map::QueryMap;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::decision::Decision;
use crate::error::Reason;
use crate::request::{AuthRequest, RouteAt};
use crate::route_answer::RouteAnswer;
use crate::routes::RouteGrants;

/// An API Gateway authorizer event, of any type this authorizer answers.
#[derive(Debug, Clone)]
pub enum AuthorizerEvent {
    /// REST API REQUEST authorizer, payload 1.0.
    Request(Box<ApiGatewayCustomAuthorizerRequestTypeRequest>),
    /// HTTP API REQUEST authorizer, payload 2.0.
    RequestV2(Box<ApiGatewayV2CustomAuthorizerV2Request>),
    /// REST API TOKEN authorizer: the token and the method ARN, nothing else.
    Token(ApiGatewayCustomAuthorizerRequest),
}

/// An event that is not an API Gateway authorizer event.
#[derive(Debug, Clone, thiserror::Error)]
#[error("not an API Gateway authorizer event: {0}")]
pub struct UnsupportedEvent(String);

impl From<UnsupportedEvent> for lambda_runtime::Diagnostic {
    fn from(err: UnsupportedEvent) -> Self {
        Self {
            error_type: "UnsupportedEvent".into(),
            error_message: err.to_string(),
        }
    }
}

/// The two fields that say which event this is, and how many entries `headers` has: more
/// than the typed `headers` keeps means a name spelt two ways (the typed map keeps only the
/// last), and only then are the entries read again ([`RepeatedHeaders`]).
#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(default, borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(default, rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    headers: EntryCount,
}

/// How many entries an object has, read without keeping any.
#[derive(Default)]
struct EntryCount(usize);

impl<'de> Deserialize<'de> for EntryCount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(CountVisitor)
    }
}

struct CountVisitor;

impl<'de> serde::de::Visitor<'de> for CountVisitor {
    type Value = EntryCount;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of header names to values")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(EntryCount(0))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(EntryCount(0))
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut count = 0;
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {
            count += 1;
        }
        Ok(EntryCount(count))
    }
}

/// `headers` again, every entry kept: the rare event that spells a name two ways.
#[derive(Deserialize)]
struct HeadersAgain {
    #[serde(default)]
    headers: RepeatedHeaders,
}

/// Every value of each repeated spelling in `event`'s `headers`, when the typed map kept
/// fewer names than `tag` counted entries.
fn repeated(event: &[u8], tag: &Tag<'_>, typed: &HeaderMap) -> RepeatedHeaders {
    if tag.headers.0 <= typed.keys_len() {
        return RepeatedHeaders::default();
    }
    serde_json::from_slice::<HeadersAgain>(event)
        .map(|again| again.headers)
        .unwrap_or_default()
}

/// Every value of each header name that `headers` spells more than one way.
#[derive(Default)]
struct RepeatedHeaders(Vec<(HeaderName, Vec<HeaderValue>)>);

impl<'de> Deserialize<'de> for RepeatedHeaders {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(PairsVisitor)
    }
}

struct PairsVisitor;

impl<'de> serde::de::Visitor<'de> for PairsVisitor {
    type Value = RepeatedHeaders;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of header names to values")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(RepeatedHeaders::default())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(RepeatedHeaders::default())
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pairs: Vec<(Cow<'de, str>, Option<Cow<'de, str>>)> = Vec::new();
        while let Some(pair) = map.next_entry()? {
            pairs.push(pair);
        }
        Ok(RepeatedHeaders::of(&pairs))
    }
}

impl RepeatedHeaders {
    fn of(pairs: &[(Cow<'_, str>, Option<Cow<'_, str>>)]) -> Self {
        let mut repeated = Vec::new();
        for (i, (name, _)) in pairs.iter().enumerate() {
            let same = |(n, _): &&(Cow<'_, str>, _)| n.eq_ignore_ascii_case(name);
            let first = !pairs[..i].iter().any(|p| same(&p));
            let again = pairs[i + 1..].iter().any(|p| same(&p));
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            if first && again {
                let values = pairs[i..]
                    .iter()
                    .filter(same)
                    .filter_map(|(_, v)| HeaderValue::from_str(v.as_deref()?).ok())
                    .collect();
                repeated.push((header, values));
            }
        }
        Self(repeated)
    }

    /// Puts every value of each repeated name where the decision reads them: `multi` when
    /// it does not have the name already (API Gateway's own account wins), else nothing.
    fn restore(self, multi: &mut HeaderMap) {
        for (name, values) in self.0 {
            if !multi.contains_key(&name) {
                for value in values {
                    multi.append(name.clone(), value);
                }
            }
        }
    }
}

impl AuthorizerEvent {
    /// Reads an event from its JSON text, by its `type` and `version`, straight into its
    /// typed struct (no `serde_json::Value` in between: this is on every request's path).
    pub fn from_slice(event: &[u8]) -> Result<Self, UnsupportedEvent> {
        let unsupported = |e: serde_json::Error| UnsupportedEvent(e.to_string());
        let tag: Tag<'_> = serde_json::from_slice(event).map_err(unsupported)?;
        match (tag.version.as_deref(), tag.kind.as_deref()) {
            (Some("2.0"), _) => serde_json::from_slice(event)
                .map(|mut e: ApiGatewayV2CustomAuthorizerV2Request| {
                    for (name, values) in repeated(event, &tag, &e.headers).0 {
                        e.headers.remove(&name);
                        for value in values {
                            e.headers.append(name.clone(), value);
                        }
                    }
                    Self::RequestV2(Box::new(e))
                })
                .map_err(unsupported),
            (_, Some("TOKEN")) => serde_json::from_slice(event)
                .map(Self::Token)
                .map_err(unsupported),
            (_, Some("REQUEST")) => serde_json::from_slice(event)
                .map(|mut e: ApiGatewayCustomAuthorizerRequestTypeRequest| {
                    repeated(event, &tag, &e.headers).restore(&mut e.multi_value_headers);
                    Self::Request(Box::new(e))
                })
                .map_err(unsupported),
            _ => Err(UnsupportedEvent(
                "its type is neither REQUEST nor TOKEN".into(),
            )),
        }
    }

    /// The same from a JSON value.
    pub fn from_value(event: &Value) -> Result<Self, UnsupportedEvent> {
        let text = serde_json::to_vec(event).map_err(|e| UnsupportedEvent(e.to_string()))?;
        Self::from_slice(&text)
    }

    /// What the decision needs to see of it.
    pub fn request(&self) -> AuthRequest {
        match self {
            Self::Request(event) => AuthRequest {
                headers: merged_headers(&event.headers, &event.multi_value_headers),
                query: merged_query(
                    &event.query_string_parameters,
                    &event.multi_value_query_string_parameters,
                ),
                token_event: false,
                gateway_api_key_id: event
                    .request_context
                    .identity
                    .as_ref()
                    .and_then(|i| i.api_key_id.clone()),
                malformed: method_arn_missing(event.method_arn.as_deref()),
                route: route_at_arn(event.method_arn.as_deref()),
            },
            Self::RequestV2(event) => AuthRequest {
                headers: event.headers.clone(),
                // Payload 2.0 joins a repeated parameter's values with commas.
                query: event
                    .query_string_parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), v.split(',').map(str::to_owned).collect()))
                    .collect(),
                token_event: false,
                gateway_api_key_id: None,
                malformed: None,
                route: event
                    .route_key
                    .clone()
                    .map_or(RouteAt::Unknown, RouteAt::RouteKey),
            },
            Self::Token(event) => {
                let mut headers = HeaderMap::new();
                if let Some(value) = event
                    .authorization_token
                    .as_deref()
                    .and_then(|t| HeaderValue::from_str(t).ok())
                {
                    headers.insert(http::header::AUTHORIZATION, value);
                }
                AuthRequest {
                    headers,
                    token_event: true,
                    malformed: method_arn_missing(event.method_arn.as_deref()),
                    route: route_at_arn(event.method_arn.as_deref()),
                    ..AuthRequest::default()
                }
            }
        }
    }

    /// The answer API Gateway expects for this event. `all_keys` is the `context` key of
    /// every header the pre-inputs may inject.
    pub fn answer(&self, decision: &Decision, all_keys: &[String]) -> AuthorizerAnswer {
        let context = context(decision, all_keys);
        let method_arn = match self {
            Self::RequestV2(_) => {
                let mut answer = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
                answer.is_authorized = decision.is_allow();
                answer.context = context;
                return AuthorizerAnswer::Simple(answer);
            }
            Self::Request(event) => event.method_arn.as_deref(),
            Self::Token(event) => event.method_arn.as_deref(),
        };
        let method_arn = method_arn.unwrap_or("*");
        let principal_id = match decision {
            Decision::Allow { principal_id, .. } => Some(principal_id.as_str()),
            Decision::Deny { principal_id, .. } => principal_id.as_deref(),
        };
        let principal_id = principal_id.unwrap_or("anonymous").to_owned();
        let grants = route_grants(decision);
        let usage_identifier = match decision {
            Decision::Allow {
                usage_identifier, ..
            } => usage_identifier.clone(),
            Decision::Deny { .. } => None,
        };
        if let (Some(grants), Some(base)) = (grants, stage_base(method_arn)) {
            let mut answer = RouteAnswer::new(principal_id, base, grants.clone(), context);
            answer.usage_identifier = usage_identifier;
            return AuthorizerAnswer::Routes(Box::new(answer));
        }
        let effect = if decision.is_allow() && grants.is_none() {
            IamPolicyEffect::Allow
        } else {
            IamPolicyEffect::Deny
        };
        let statements = vec![statement(effect, vec![stage_resource(method_arn)])];
        let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
        policy.version = Some("2012-10-17".into());
        policy.statement = statements;
        let mut answer = ApiGatewayCustomAuthorizerResponse::default();
        answer.principal_id = Some(principal_id);
        answer.policy_document = policy;
        answer.context = context;
        answer.usage_identifier_key = usage_identifier;
        AuthorizerAnswer::Policy(answer)
    }
}

/// What the authorizer answers: an IAM policy (REST APIs) or the simple response (HTTP
/// APIs), each with the `context` of strings and booleans that API Gateway passes on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AuthorizerAnswer {
    /// For REST APIs.
    Policy(ApiGatewayCustomAuthorizerResponse<Map<String, Value>>),
    /// For HTTP APIs with simple responses.
    Simple(ApiGatewayV2CustomAuthorizerSimpleResponse<Map<String, Value>>),
    /// For REST APIs, when the pre-inputs have routes: a policy that answers every route.
    Routes(Box<RouteAnswer>),
}

/// Payload 1.0 carries each header twice: `headers` (the last value of each spelling) and
/// `multiValueHeaders` (every value). Every value is kept, so that repeats are seen;
/// `headers` fills in only names that `multiValueHeaders` lacks.
fn merged_headers(single: &HeaderMap, multi: &HeaderMap) -> HeaderMap {
    let mut headers = multi.clone();
    for name in single.keys() {
        if !multi.contains_key(name) {
            for value in single.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
    }
    headers
}

/// The same for the query string: every value of `multiValueQueryStringParameters`, and
/// `queryStringParameters` only for names it lacks.
fn merged_query(single: &QueryMap, multi: &QueryMap) -> BTreeMap<String, Vec<String>> {
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in multi.iter() {
        query
            .entry(key.to_owned())
            .or_default()
            .push(value.to_owned());
    }
    for (key, value) in single.iter() {
        if multi.first(key).is_none() {
            query
                .entry(key.to_owned())
                .or_default()
                .push(value.to_owned());
        }
    }
    query
}

/// A REST API event must name the method it asks about: without one there is nothing an
/// Allow could be scoped to, so it fails closed.
fn method_arn_missing(method_arn: Option<&str>) -> Option<Reason> {
    method_arn
        .is_none_or(|arn| arn.trim().is_empty())
        .then_some(Reason::MethodArnMissing)
}

/// A method ARN's part after the stage (`GET/orders/1`), which the route table reads.
fn route_at_arn(method_arn: Option<&str>) -> RouteAt {
    method_arn
        .and_then(|arn| arn.splitn(3, '/').nth(2))
        .map_or(RouteAt::Unknown, |rest| RouteAt::MethodArn(rest.to_owned()))
}

/// What a valid token may do on every route, when the pre-inputs have routes.
fn route_grants(decision: &Decision) -> Option<&RouteGrants> {
    match decision {
        Decision::Allow { routes, .. } => routes.as_deref(),
        Decision::Deny { elsewhere, .. } => elsewhere.as_deref().and_then(route_grants),
    }
}

/// A method ARN up to and with its stage, and a `/`; `None` when it names no stage.
fn stage_base(method_arn: &str) -> Option<String> {
    let mut parts = method_arn.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(api), Some(stage)) if !api.is_empty() && !stage.is_empty() => {
            Some(format!("{api}/{stage}/"))
        }
        _ => None,
    }
}

fn statement(effect: IamPolicyEffect, resource: Vec<String>) -> IamPolicyStatement {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".into()];
    statement.effect = effect;
    statement.resource = resource;
    statement
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

/// The `context` API Gateway passes on: only strings and booleans. On Allow, every header
/// the pre-inputs may inject has its key (`all_keys`), empty when nothing was injected, so
/// a gateway mapping always finds it and always overwrites what the client sent.
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
            denial,
            elsewhere,
        } => {
            // A valid token refused on this route keeps the context of the routes it may
            // call: a REST API's cache hands this answer to them too.
            if let Some(allow) = elsewhere {
                context = self::context(allow, all_keys);
            }
            if let Some(principal_id) = principal_id {
                context.insert("principal_id".into(), principal_id.clone().into());
            }
            context.insert("error".into(), denial.reason.error().name().into());
            let description = match (denial.reason, &denial.detail, &denial.limited) {
                (_, _, Some(limited)) => {
                    context.insert("retry_after".into(), limited.retry_after.to_string().into());
                    context.insert("limit".into(), limited.policy.clone().into());
                    context.insert("plan".into(), limited.plan.to_string().into());
                    format!(
                        "{} Its plan allows {}; retry after {} s.",
                        denial.reason.description(),
                        limited.policy,
                        limited.retry_after
                    )
                }
                (Reason::RouteScopeMissing, Some(need), _) => {
                    format!("{} It needs {need}.", denial.reason.description())
                }
                _ => denial.reason.description().to_owned(),
            };
            context.insert("error_description".into(), description.into());
        }
    }
    context
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_policy_covers_the_whole_stage_of_the_method_arn() {
        assert_eq!(
            stage_resource("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/1"),
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"
        );
        assert_eq!(stage_resource("garbage"), "garbage");
    }

    #[test]
    fn every_value_of_every_spelling_of_a_header_is_seen() {
        let event = json!({"type": "REQUEST", "methodArn": "arn:x/prod/GET/a",
            "headers": {"X-Api-Key": "b", "x-api-key": "c"},
            "multiValueHeaders": {"X-Api-Key": ["a", "b"], "x-api-key": ["c"]},
            "queryStringParameters": {"api_key": "q2"},
            "multiValueQueryStringParameters": {"api_key": ["q1", "q2"]},
            "requestContext": {}});
        let request = AuthorizerEvent::from_value(&event).unwrap().request();
        let keys: Vec<_> = request.headers.get_all("x-api-key").iter().collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(request.query["api_key"], ["q1", "q2"]);
    }

    #[test]
    fn a_token_event_carries_its_token_as_authorization_and_nothing_else() {
        let event = json!({"type": "TOKEN", "authorizationToken": "Bearer t",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:example/prod/POST/{proxy+}"});
        let request = AuthorizerEvent::from_value(&event).unwrap().request();
        assert!(request.token_event);
        assert_eq!(request.headers["authorization"], "Bearer t");
        assert_eq!(request.headers.len(), 1);
    }

    #[test]
    fn events_of_no_known_type_are_refused() {
        for event in [
            json!({"hello": "world"}),
            json!([1, 2]),
            json!({"type": "OTHER"}),
        ] {
            assert!(AuthorizerEvent::from_value(&event).is_err());
        }
    }
}
