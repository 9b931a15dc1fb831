//! A REST API's answer when the pre-inputs have routes: the policy that answers every
//! route of the table ([`crate::routes`]). Written once per stage and set of satisfied
//! routes, each resource formatted as it is serialized, and kept with the table as JSON
//! text: a cache hit copies it.

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::routes::RouteGrants;

/// The answer: the same JSON as `ApiGatewayCustomAuthorizerResponse`.
#[derive(Debug, Clone)]
pub struct RouteAnswer {
    /// `principalId`.
    pub principal_id: String,
    /// The method ARN up to and with the stage, and a `/` (`arn:…:abc123/prod/`).
    pub base: String,
    /// What the token may do on each route.
    pub grants: RouteGrants,
    /// The context API Gateway passes on.
    pub context: Map<String, Value>,
    /// The policy, as JSON text.
    pub policy: Arc<RawValue>,
    /// `usageIdentifierKey`: the client key's usage plan API key (`rate_limits:
    /// api_gateway`).
    pub usage_identifier: Option<String>,
}

impl RouteAnswer {
    /// The answer for these grants on the stage `base`, its policy written once.
    pub fn new(
        principal_id: String,
        base: String,
        grants: RouteGrants,
        context: Map<String, Value>,
    ) -> Self {
        let policy = grants
            .table
            .written
            .get_or_write(&base, &grants.satisfied, || {
                let text = serde_json::to_string(&Policy {
                    base: &base,
                    grants: &grants,
                })
                .unwrap_or_default();
                // Deny everything, should the policy not serialize (it always does).
                RawValue::from_string(text)
                    .unwrap_or_else(|_| deny_all())
                    .into()
            });
        Self {
            principal_id,
            base,
            grants,
            context,
            policy,
            usage_identifier: None,
        }
    }
}

impl PartialEq for RouteAnswer {
    fn eq(&self, other: &Self) -> bool {
        self.principal_id == other.principal_id
            && self.base == other.base
            && self.grants == other.grants
            && self.context == other.context
            && self.policy.get() == other.policy.get()
            && self.usage_identifier == other.usage_identifier
    }
}

fn deny_all() -> Box<RawValue> {
    RawValue::from_string(
        r#"{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Deny","Resource":["*"]}]}"#
            .to_owned(),
    )
    .unwrap_or_default()
}

impl Serialize for RouteAnswer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("principalId", &self.principal_id)?;
        map.serialize_entry("policyDocument", &*self.policy)?;
        map.serialize_entry("context", &self.context)?;
        map.serialize_entry("usageIdentifierKey", &self.usage_identifier)?;
        map.end()
    }
}

struct Policy<'a> {
    base: &'a str,
    grants: &'a RouteGrants,
}

impl Serialize for Policy<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (allow, deny) = self.grants.patterns();
        let statements: Vec<Statement<'_>> = [("Allow", allow), ("Deny", deny)]
            .into_iter()
            .filter(|(_, patterns)| !patterns.is_empty())
            .map(|(effect, patterns)| Statement {
                effect,
                base: self.base,
                patterns,
            })
            .collect();
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("Version", "2012-10-17")?;
        map.serialize_entry("Statement", &statements)?;
        map.end()
    }
}

struct Statement<'a> {
    effect: &'static str,
    base: &'a str,
    patterns: Vec<&'a str>,
}

impl Serialize for Statement<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("Action", &["execute-api:Invoke"])?;
        map.serialize_entry("Effect", self.effect)?;
        map.serialize_entry("Resource", &Resources(self))?;
        map.end()
    }
}

struct Resources<'a>(&'a Statement<'a>);

impl Serialize for Resources<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.patterns.len()))?;
        for pattern in &self.0.patterns {
            seq.serialize_element(&Joined(self.0.base, pattern))?;
        }
        seq.end()
    }
}

struct Joined<'a>(&'a str, &'a str);

impl Serialize for Joined<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{}{}", self.0, self.1))
    }
}
