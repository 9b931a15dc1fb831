//! A REST API's answer when the pre-inputs have routes: the policy that answers every
//! route of the table ([`crate::routes`]), written straight to JSON. Each resource is the
//! stage's ARN and a route's pattern, formatted as it is serialized: a table of 50 routes
//! costs no allocation per resource.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use crate::routes::RouteGrants;

/// The answer: the same JSON as `ApiGatewayCustomAuthorizerResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteAnswer {
    /// `principalId`.
    pub principal_id: String,
    /// The method ARN up to and with the stage, and a `/` (`arn:…:abc123/prod/`).
    pub base: String,
    /// What the token may do on each route.
    pub grants: RouteGrants,
    /// The context API Gateway passes on.
    pub context: Map<String, Value>,
}

impl Serialize for RouteAnswer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("principalId", &self.principal_id)?;
        map.serialize_entry("policyDocument", &Policy(self))?;
        map.serialize_entry("context", &self.context)?;
        map.serialize_entry("usageIdentifierKey", &Option::<String>::None)?;
        map.end()
    }
}

struct Policy<'a>(&'a RouteAnswer);

impl Serialize for Policy<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (allow, deny) = self.0.grants.patterns();
        let statements: Vec<Statement<'_>> = [("Allow", allow), ("Deny", deny)]
            .into_iter()
            .filter(|(_, patterns)| !patterns.is_empty())
            .map(|(effect, patterns)| Statement {
                effect,
                base: &self.0.base,
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
