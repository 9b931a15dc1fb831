//! The pre-inputs document as written: every key optional, each deserialized on its own,
//! Mashery's string encodings accepted, the unknown keys kept to report.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::Deserializer;
use serde::de::DeserializeOwned;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::model::KeyChecker;
use super::problems::{Problem, Problems};
use super::routing::{RouteEntry, UnmatchedName};

/// One key's value, deserialized on its own so that a mistake in it does not hide the
/// others. An object may be written as JSON text inside a string, as Mashery stores it.
pub(super) struct Entry<T>(pub(super) Result<T, Problem>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Entry<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = match Value::deserialize(deserializer)? {
            Value::String(text) if text.trim_start().starts_with(['{', '[']) => {
                match serde_json::from_str(&text) {
                    Ok(decoded) => decoded,
                    Err(e) => {
                        return Ok(Self(Err(Problem {
                            key: String::new(),
                            problem: format!("holds JSON text that does not parse ({e})"),
                        })));
                    }
                }
            }
            other => other,
        };
        Ok(Self(serde_path_to_error::deserialize(value).map_err(|e| {
            Problem {
                key: e.path().to_string(),
                problem: without_echo(&e.into_inner().to_string()),
            }
        })))
    }
}

/// serde's "invalid type: string \"…\", expected a string" without the value, which may be a
/// secret: "must be a string".
pub(super) fn without_echo(message: &str) -> String {
    match message.split_once(", expected ") {
        Some((what, expected)) if what.starts_with("invalid ") => format!("must be {expected}"),
        _ => message.to_owned(),
    }
}

/// `true` or `false`, or Mashery's `"true"` and `"false"`.
#[derive(Deserialize)]
#[serde(try_from = "FlagText")]
pub(super) struct Flag(pub(super) bool);

#[derive(Deserialize)]
#[serde(untagged, expecting = "must be true or false")]
pub(super) enum FlagText {
    Bool(bool),
    Text(String),
}

impl TryFrom<FlagText> for Flag {
    type Error = String;
    fn try_from(value: FlagText) -> Result<Self, String> {
        match value {
            FlagText::Bool(b) => Ok(Self(b)),
            FlagText::Text(t) if t.trim().eq_ignore_ascii_case("true") => Ok(Self(true)),
            FlagText::Text(t) if t.trim().eq_ignore_ascii_case("false") => Ok(Self(false)),
            FlagText::Text(_) => Err("must be true or false".into()),
        }
    }
}

/// A whole number, or Mashery's text of one (`"3128"`).
#[derive(Deserialize)]
#[serde(try_from = "NumberText")]
pub(super) struct Number(pub(super) u64);

#[derive(Deserialize)]
#[serde(untagged, expecting = "must be a whole number")]
pub(super) enum NumberText {
    Number(u64),
    Text(String),
}

impl TryFrom<NumberText> for Number {
    type Error = String;
    fn try_from(value: NumberText) -> Result<Self, String> {
        match value {
            NumberText::Number(n) => Ok(Self(n)),
            NumberText::Text(t) => t
                .trim()
                .parse()
                .map(Self)
                .map_err(|_| "must be a whole number".into()),
        }
    }
}

impl Number {
    pub(super) fn within(self, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
        if range.contains(&self.0) {
            Ok(self.0)
        } else {
            Err(format!(
                "must be a whole number from {} to {}",
                range.start(),
                range.end()
            ))
        }
    }
}

/// The document as written: every key optional, the unknown ones kept to report.
#[derive(Deserialize)]
#[serde(expecting = "a JSON object")]
pub(super) struct Document {
    pub(super) token_validation_uri: Option<Entry<UriSection>>,
    #[serde(flatten)]
    pub(super) top_level_uri: UriKeys,
    pub(super) inject_headers: Option<Entry<BTreeMap<String, InjectValue>>>,
    pub(super) block_authorization_header: Option<Entry<Flag>>,
    pub(super) http_proxy_server: Option<Entry<String>>,
    pub(super) http_proxy_port: Option<Entry<Number>>,
    pub(super) api_key: Option<Entry<ApiKeySection>>,
    pub(super) validation: Option<Entry<ValidationSection>>,
    pub(super) timeouts: Option<Entry<TimeoutsSection>>,
    pub(super) cache: Option<Entry<CacheSection>>,
    pub(super) max_response_bytes: Option<Entry<Number>>,
    pub(super) xml_namespaces: Option<Entry<BTreeMap<String, String>>>,
    pub(super) routes: Option<Entry<Vec<Entry<RouteEntry>>>>,
    pub(super) unmatched_routes: Option<Entry<UnmatchedName>>,
    pub(super) rate_limits: Option<Entry<RateLimitsName>>,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, IgnoredAny>,
}

pub(super) const DOCUMENT_KEYS: [&str; 17] = [
    "token_validation_uri",
    "regionCodeHeader",
    "regionCodeValue",
    "defaultURI",
    "inject_headers",
    "block_authorization_header",
    "http_proxy_server",
    "http_proxy_port",
    "api_key",
    "validation",
    "timeouts",
    "cache",
    "max_response_bytes",
    "xml_namespaces",
    "routes",
    "unmatched_routes",
    "rate_limits",
];

/// `rate_limits`: who holds each key to its plan.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case", expecting = "api_gateway or tokengate")]
pub(super) enum RateLimitsName {
    ApiGateway,
    Tokengate,
}

/// Mashery's three validation URI keys, in `token_validation_uri` or at the top level.
#[derive(Deserialize)]
pub(super) struct UriKeys {
    #[serde(rename = "regionCodeHeader")]
    pub(super) region_code_header: Option<Entry<String>>,
    #[serde(rename = "regionCodeValue")]
    pub(super) region_code_value: Option<Entry<BTreeMap<String, String>>>,
    #[serde(rename = "defaultURI")]
    pub(super) default_uri: Option<Entry<String>>,
}

impl UriKeys {
    pub(super) fn any(&self) -> bool {
        self.region_code_header.is_some()
            || self.region_code_value.is_some()
            || self.default_uri.is_some()
    }
}

#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct UriSection {
    #[serde(flatten)]
    pub(super) keys: UriKeys,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, IgnoredAny>,
}

/// An `inject_headers` value: a path (the flat form), or a region's headers.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "must be a JSONPath or XPath string, or an object of header to path"
)]
pub(super) enum InjectValue {
    Path(String),
    Region(BTreeMap<String, Entry<String>>),
}

#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct ApiKeySection {
    pub(super) header: Option<Entry<String>>,
    pub(super) query: Option<Entry<String>>,
    pub(super) checked_by: Option<Entry<KeyChecker>>,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, IgnoredAny>,
}

pub(super) const API_KEY_KEYS: [&str; 3] = ["header", "query", "checked_by"];

#[derive(Deserialize)]
#[serde(
    rename_all = "snake_case",
    expecting = "forward, rfc7662, jwt or tokengate"
)]
pub(super) enum StyleName {
    Forward,
    Rfc7662,
    Jwt,
    Tokengate,
}

#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct ValidationSection {
    pub(super) style: Option<Entry<StyleName>>,
    pub(super) client_id: Option<Entry<String>>,
    pub(super) client_secret: Option<Entry<SecretValue>>,
    pub(super) audience: Option<Entry<String>>,
    pub(super) required_scopes: Option<Entry<Vec<String>>>,
    pub(super) issuer: Option<Entry<IssuerValue>>,
    pub(super) algorithms: Option<Entry<Vec<String>>>,
    pub(super) leeway_seconds: Option<Entry<Number>>,
    pub(super) jwks_file: Option<Entry<String>>,
    pub(super) jwks_refresh_seconds: Option<Entry<Number>>,
    pub(super) discovery: Option<Entry<Flag>>,
    pub(super) profile: Option<Entry<ProfileName>>,
    pub(super) allow_insecure_http: Option<Entry<Flag>>,
    pub(super) token_bound_to_api_key: Option<Entry<Flag>>,
    pub(super) revocation_lag_seconds: Option<Entry<Number>>,
    pub(super) eventually_consistent_reads: Option<Entry<Flag>>,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, IgnoredAny>,
}

/// `validation.profile`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", expecting = "rfc9068")]
pub(super) enum ProfileName {
    Rfc9068,
}

pub(super) const VALIDATION_KEYS: [&str; 16] = [
    "style",
    "client_id",
    "client_secret",
    "audience",
    "required_scopes",
    "issuer",
    "algorithms",
    "leeway_seconds",
    "jwks_file",
    "jwks_refresh_seconds",
    "discovery",
    "profile",
    "allow_insecure_http",
    "token_bound_to_api_key",
    "revocation_lag_seconds",
    "eventually_consistent_reads",
];

/// Which styles each `validation` key applies to (`style` and `allow_insecure_http` apply
/// to all).
pub(super) const STYLE_KEYS: [(&str, &[&str]); 14] = [
    ("client_id", &["rfc7662"]),
    ("client_secret", &["rfc7662"]),
    ("audience", &["rfc7662", "jwt", "tokengate"]),
    ("required_scopes", &["rfc7662", "jwt", "tokengate"]),
    ("issuer", &["jwt"]),
    ("algorithms", &["jwt"]),
    ("leeway_seconds", &["jwt"]),
    ("jwks_file", &["jwt"]),
    ("jwks_refresh_seconds", &["jwt"]),
    ("discovery", &["jwt"]),
    ("profile", &["jwt"]),
    ("token_bound_to_api_key", &["tokengate"]),
    ("revocation_lag_seconds", &["tokengate"]),
    ("eventually_consistent_reads", &["tokengate"]),
];

/// `validation.issuer`: one issuer, or one per region code with a `default`.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "must be a string, or an object of region code to issuer with a default"
)]
pub(super) enum IssuerValue {
    One(String),
    Regions(BTreeMap<String, String>),
}

/// `validation.client_secret`: the secret, or where to read it.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "must be a string, or {\"env\": \"VARIABLE\"} naming the environment variable that holds it"
)]
pub(super) enum SecretValue {
    Inline(String),
    Reference(SecretReference),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SecretReference {
    pub(super) env: String,
}

/// How secrets named by reference are read while parsing.
#[derive(Clone, Copy)]
pub(super) enum Secrets<'a> {
    /// From this lookup (the process environment, at cold start).
    Read(&'a dyn Fn(&str) -> Option<String>),
    /// Not at all: for tools that check the document but never call the endpoint.
    Unread,
}

#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct TimeoutsSection {
    pub(super) connect_ms: Option<Entry<Number>>,
    pub(super) total_ms: Option<Entry<Number>>,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, IgnoredAny>,
}

pub(super) const TIMEOUTS_KEYS: [&str; 2] = ["connect_ms", "total_ms"];

#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct CacheSection {
    pub(super) ttl_seconds: Option<Entry<Number>>,
    pub(super) max_entries: Option<Entry<Number>>,
    pub(super) key_ttl_seconds: Option<Entry<Number>>,
    #[serde(flatten)]
    pub(super) unknown: BTreeMap<String, IgnoredAny>,
}

pub(super) const CACHE_KEYS: [&str; 3] = ["ttl_seconds", "max_entries", "key_ttl_seconds"];

impl Problems {
    /// The value of an entry, or its problem recorded under `key`.
    pub(super) fn take<T>(&mut self, key: &str, entry: Option<Entry<T>>) -> Option<T> {
        match entry?.0 {
            Ok(value) => Some(value),
            Err(Problem {
                key: inner,
                problem,
            }) => {
                let at = if inner.is_empty() || inner == "." {
                    key.to_owned()
                } else {
                    format!("{key}.{inner}")
                };
                self.add(at, problem);
                None
            }
        }
    }
}

/// A number's value when in range; otherwise the problem is recorded.
pub(super) fn within(
    problems: &mut Problems,
    key: &str,
    n: Number,
    range: std::ops::RangeInclusive<u64>,
) -> Option<u64> {
    n.within(range)
        .map_err(|problem| problems.add(key, problem))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_lose_the_value_they_were_given() {
        assert_eq!(
            without_echo("invalid type: string \"hunter2\", expected a boolean"),
            "must be a boolean"
        );
        assert_eq!(without_echo("missing field"), "missing field");
    }
}
