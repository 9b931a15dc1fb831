//! Pre-inputs: Mashery's configuration format, deserialized by serde into typed sections,
//! strict at every level, then compiled once at cold start.
//!
//! Both of Mashery's forms are accepted (`token_validation_uri` as an object, or its three
//! keys at the top level; `inject_headers` per region or flat), and so are Mashery's string
//! encodings (an object written as JSON text inside a string, `"true"`, `"3128"`).
//!
//! Every key is deserialized on its own ([`Entry`]), so one mistake never hides another:
//! [`PreInputs::parse`] reports every problem in the document, each naming its key path.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use reqwest::Url;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::Deny;
use crate::injection::{HeaderInjection, context_key, is_header_name, may_inject};
use crate::jwt::KeySet;
use crate::xpath::XPathExpr;

/// Where the API key is read, and who checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySource {
    /// Header name, lowercase (`x-api-key`).
    pub header: String,
    /// Query parameter name (`api_key`).
    pub query: String,
    /// Who checks the key: tokengate (against `KEYS_TABLE`) or API Gateway itself.
    pub checked_by: KeyChecker,
}

/// Who checks the API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyChecker {
    /// The authorizer, against `KEYS_TABLE` (the default).
    Tokengate,
    /// API Gateway's own API keys and usage plans (`apiKeyRequired` on the method); the
    /// authorizer skips the step. The only way a TOKEN authorizer, which sees no headers,
    /// can be used.
    ApiGateway,
}

impl Default for ApiKeySource {
    fn default() -> Self {
        Self {
            header: "x-api-key".into(),
            query: "api_key".into(),
            checked_by: KeyChecker::Tokengate,
        }
    }
}

/// How the validation endpoint is asked about a token.
#[derive(Clone)]
pub enum ValidationStyle {
    /// Mashery's: GET with the caller's `Authorization` header passed through; HTTP 200
    /// means valid.
    Forward,
    /// RFC 7662: POST `token=…` with the authorizer's own client credentials; the token is
    /// valid when `active` is true, `exp` is in the future, and the audience and scopes
    /// match when required.
    Rfc7662 {
        /// The authorizer's client id at the introspection endpoint.
        client_id: String,
        /// Its secret, as read at cold start.
        client_secret: String,
        /// Where the secret was read from.
        secret_source: SecretSource,
        /// An audience the token must carry (`aud`), if any.
        audience: Option<String>,
        /// Scopes the token must all carry (`scope`).
        required_scopes: Vec<String>,
    },
    /// JWT access tokens verified locally against the issuer's JWKS, which the region's
    /// validation URI serves (or, with `discovery`, names).
    Jwt(Box<JwtStyle>),
    /// tokengate's own tokens, read from `TOKENS_TABLE` with their key from `KEYS_TABLE` in
    /// one round trip: no validation URI, no HTTP hop.
    Tokengate {
        /// Scopes the token must all carry.
        required_scopes: Vec<String>,
        /// `token_bound_to_api_key` (default true): the token must have been issued to the
        /// API key the request presents.
        bound_to_api_key: bool,
        /// `revocation_lag_seconds`: how long an Allow may outlive a revocation, accepted
        /// explicitly; it bounds API Gateway's authorizer cache (`tokengate api render`).
        /// `None`: not at all, the cache must be off.
        revocation_lag_seconds: Option<u64>,
    },
}

/// The `jwt` style's settings.
#[derive(Debug, Clone)]
pub struct JwtStyle {
    /// `issuer`: the `iss` every token must carry, unless its region has its own.
    pub issuer: String,
    /// `issuer` per region code, when given as an object.
    pub region_issuers: HashMap<String, String>,
    /// The audience the token must carry (`aud`); `None` only when the pre-inputs say
    /// `"audience": "any"`, which `config check` flags.
    pub audience: Option<String>,
    /// Scopes the token must all carry (`scope` or `scp`).
    pub required_scopes: Vec<String>,
    /// `profile: "rfc9068"`: only `typ: at+jwt` access tokens, never ID tokens.
    pub rfc9068: bool,
    /// The algorithms accepted; never `none` or HS*.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway_seconds: u64,
    /// `jwks_file`: where the key set read at cold start came from.
    pub jwks_file: Option<String>,
    /// The key set of `jwks_file`, read at cold start (for the default URI).
    pub initial_keys: Option<Arc<KeySet>>,
    /// The least time between two fetches of a JWKS.
    pub jwks_refresh: Duration,
    /// Whether the validation URI is the issuer's base, whose metadata names the JWKS.
    pub discovery: bool,
}

impl JwtStyle {
    /// The issuer for a request's region code: the region's, else the default.
    pub fn issuer_for(&self, region: Option<&str>) -> &str {
        region
            .and_then(|r| self.region_issuers.get(r))
            .unwrap_or(&self.issuer)
    }
}

/// The clock skew `jwt` allows by default, in seconds.
pub const DEFAULT_JWT_LEEWAY_SECONDS: u64 = 30;

/// The least time between two JWKS fetches by default.
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(60);

/// The algorithms `jwt` accepts when `algorithms` is not given: every asymmetric one.
pub const DEFAULT_JWT_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Where the `rfc7662` client secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the pre-inputs themselves.
    Inline,
    /// `{"env": "NAME"}`: the function's environment variable `NAME`, read once at cold
    /// start (the template fills it from Secrets Manager at deploy time).
    Environment(String),
}

impl ValidationStyle {
    /// The style's name in the pre-inputs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Forward => "forward",
            Self::Rfc7662 { .. } => "rfc7662",
            Self::Jwt(_) => "jwt",
            Self::Tokengate { .. } => "tokengate",
        }
    }

    /// Whether the style injects from JSON claims only (no XPath).
    fn injects_json_only(name: Option<&StyleName>) -> bool {
        matches!(name, Some(StyleName::Jwt | StyleName::Tokengate))
    }
}

impl fmt::Debug for ValidationStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forward => f.write_str("Forward"),
            Self::Rfc7662 {
                client_id,
                secret_source,
                audience,
                required_scopes,
                ..
            } => f
                .debug_struct("Rfc7662")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .field("secret_source", secret_source)
                .field("audience", audience)
                .field("required_scopes", required_scopes)
                .finish(),
            Self::Jwt(jwt) => f.debug_tuple("Jwt").field(jwt).finish(),
            Self::Tokengate {
                required_scopes,
                bound_to_api_key,
                revocation_lag_seconds,
            } => f
                .debug_struct("Tokengate")
                .field("required_scopes", required_scopes)
                .field("bound_to_api_key", bound_to_api_key)
                .field("revocation_lag_seconds", revocation_lag_seconds)
                .finish(),
        }
    }
}

/// A path into the validation response.
#[derive(Debug, Clone)]
pub enum ResponsePath {
    /// RFC 9535 JSONPath, for JSON responses (written with a leading `$`).
    Json(crate::jsonpath::JsonPath),
    /// XPath 1.0, for XML responses (anything not starting with `$`).
    Xml(XPathExpr),
}

impl ResponsePath {
    /// Compiles a path: JSONPath when it starts with `$`, XPath otherwise (Mashery's rule).
    pub fn compile(source: &str) -> Result<Self, String> {
        if source.starts_with('$') {
            let path = crate::jsonpath::JsonPath::parse(source)
                .map_err(|e| format!("not a JSONPath (RFC 9535): {e}"))?;
            crate::jsonpath::check_patterns(source)?;
            Ok(Self::Json(path))
        } else {
            XPathExpr::compile(source)
                .map(Self::Xml)
                .map_err(|e| format!("not an XPath 1.0 expression: {e}"))
        }
    }
}

/// Bounds on the validation call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To establish the connection.
    pub connect: Duration,
    /// For the whole call, body included.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_millis(2_000),
            total: Duration::from_millis(5_000),
        }
    }
}

/// The result caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// How long a positive validation result is kept (0 disables the cache); never beyond
    /// the token's `exp`.
    pub ttl: Duration,
    /// The most validation results kept.
    pub max_entries: u64,
    /// How long an API key record is kept (0 disables).
    pub key_ttl: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            max_entries: 10_000,
            key_ttl: Duration::from_secs(30),
        }
    }
}

/// The largest validation response read by default, in bytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The longest total time accepted: API Gateway gives an authorizer at most 10 s.
pub const MAX_TOTAL_TIMEOUT: Duration = Duration::from_millis(9_000);

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct PreInputs {
    /// `regionCodeHeader`, lowercase.
    pub region_header: Option<String>,
    /// `regionCodeValue`: region code → validation endpoint.
    pub region_uris: HashMap<String, Url>,
    /// `defaultURI`.
    pub default_uri: Option<Url>,
    /// `inject_headers` per region code.
    pub region_injections: HashMap<String, Vec<HeaderInjection>>,
    /// `inject_headers.default` (or the flat form).
    pub default_injections: Vec<HeaderInjection>,
    /// `block_authorization_header`.
    pub block_authorization_header: bool,
    /// `http_proxy_server`:`http_proxy_port`, as a proxy URL.
    pub proxy: Option<Url>,
    /// Addition: where the API key is read.
    pub api_key: ApiKeySource,
    /// Addition: `forward` (default) or `rfc7662`.
    pub style: ValidationStyle,
    /// Addition: connect and total timeouts.
    pub timeouts: Timeouts,
    /// Addition: the result caches.
    pub cache: CacheSettings,
    /// Addition: the largest validation response read, in bytes.
    pub max_response_bytes: usize,
    /// Addition: XML namespace prefixes for XPath (`{"u": "urn:example:user"}`).
    pub xml_namespaces: BTreeMap<String, String>,
    /// What is valid but weakens the checks, opted into explicitly (`"audience": "any"`,
    /// `allow_insecure_http`): `config check` and the cold-start log say so.
    pub warnings: Vec<String>,
}

/// One thing wrong in the pre-inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path at fault (`inject_headers.FR.X-User-Id`); empty for the whole document.
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.key, self.problem)
        }
    }
}

/// Why the pre-inputs cannot be used: every problem found, in document order of sections.
/// The authorizer then denies every request with [`ConfigError::deny`], as Mashery does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// At least one.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.problems.iter().map(Problem::to_string).collect();
        f.write_str(&lines.join("; "))
    }
}

impl std::error::Error for ConfigError {}

/// The keys of Mashery's `token_validation_uri`, which may also stand at the top level.
const URI_KEYS: [&str; 3] = ["regionCodeHeader", "regionCodeValue", "defaultURI"];

impl ConfigError {
    /// A problem with the whole document (no pre-inputs, not JSON): Mashery counts it as
    /// a `token_validation_uri` that is not defined.
    pub fn document(problem: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                key: String::new(),
                problem: problem.into(),
            }],
        }
    }

    /// Whether the validation URI itself is at fault (missing, not in the required JSON
    /// form), which Mashery names separately.
    pub fn is_about_validation_uri(&self) -> bool {
        self.problems.iter().any(|p| {
            let first = p.key.split('.').next().unwrap_or_default();
            first.is_empty() || first == "token_validation_uri" || URI_KEYS.contains(&first)
        })
    }

    /// The named error every request is denied with.
    pub fn deny(&self) -> Deny {
        if self.is_about_validation_uri() {
            Deny::InvalidPreInputConfigurationForTokenValidationURI
        } else {
            Deny::InvalidPreInputConfiguration
        }
    }
}

/// Problems found so far, each under its key path.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: impl Into<String>, problem: impl Into<String>) {
        // One problem, one line: parser messages (JSONPath's among them) span several.
        let problem = problem
            .into()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        self.0.push(Problem {
            key: key.into(),
            problem,
        });
    }

    /// The value of an entry, or its problem recorded under `key`.
    fn take<T>(&mut self, key: &str, entry: Option<Entry<T>>) -> Option<T> {
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

    /// Every unknown key of a section, with the nearest known name when there is one.
    fn unknown(&mut self, section: &str, unknown: &BTreeMap<String, IgnoredAny>, known: &[&str]) {
        for key in unknown.keys() {
            let at = if section.is_empty() {
                key.clone()
            } else {
                format!("{section}.{key}")
            };
            let problem = match nearest(key, known) {
                Some(near) => format!("unknown key (did you mean {near}?)"),
                None => format!("unknown key (known: {})", known.join(", ")),
            };
            self.add(at, problem);
        }
    }
}

/// The known name a typo most likely meant: a case-insensitive match, or one within a
/// small edit distance.
fn nearest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (strsim::levenshtein(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(distance, k)| *distance <= (k.len() / 4).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// One key's value, deserialized on its own so that a mistake in it does not hide the
/// others. An object may be written as JSON text inside a string, as Mashery stores it.
struct Entry<T>(Result<T, Problem>);

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
fn without_echo(message: &str) -> String {
    match message.split_once(", expected ") {
        Some((what, expected)) if what.starts_with("invalid ") => format!("must be {expected}"),
        _ => message.to_owned(),
    }
}

/// `true` or `false`, or Mashery's `"true"` and `"false"`.
#[derive(Deserialize)]
#[serde(try_from = "FlagText")]
struct Flag(bool);

#[derive(Deserialize)]
#[serde(untagged, expecting = "must be true or false")]
enum FlagText {
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
struct Number(u64);

#[derive(Deserialize)]
#[serde(untagged, expecting = "must be a whole number")]
enum NumberText {
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
    fn within(self, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
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
struct Document {
    token_validation_uri: Option<Entry<UriSection>>,
    #[serde(flatten)]
    top_level_uri: UriKeys,
    inject_headers: Option<Entry<BTreeMap<String, InjectValue>>>,
    block_authorization_header: Option<Entry<Flag>>,
    http_proxy_server: Option<Entry<String>>,
    http_proxy_port: Option<Entry<Number>>,
    api_key: Option<Entry<ApiKeySection>>,
    validation: Option<Entry<ValidationSection>>,
    timeouts: Option<Entry<TimeoutsSection>>,
    cache: Option<Entry<CacheSection>>,
    max_response_bytes: Option<Entry<Number>>,
    xml_namespaces: Option<Entry<BTreeMap<String, String>>>,
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

const DOCUMENT_KEYS: [&str; 14] = [
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
];

/// Mashery's three validation URI keys, in `token_validation_uri` or at the top level.
#[derive(Deserialize)]
struct UriKeys {
    #[serde(rename = "regionCodeHeader")]
    region_code_header: Option<Entry<String>>,
    #[serde(rename = "regionCodeValue")]
    region_code_value: Option<Entry<BTreeMap<String, String>>>,
    #[serde(rename = "defaultURI")]
    default_uri: Option<Entry<String>>,
}

impl UriKeys {
    fn any(&self) -> bool {
        self.region_code_header.is_some()
            || self.region_code_value.is_some()
            || self.default_uri.is_some()
    }
}

#[derive(Deserialize)]
#[serde(expecting = "an object")]
struct UriSection {
    #[serde(flatten)]
    keys: UriKeys,
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

/// An `inject_headers` value: a path (the flat form), or a region's headers.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "must be a JSONPath or XPath string, or an object of header to path"
)]
enum InjectValue {
    Path(String),
    Region(BTreeMap<String, Entry<String>>),
}

#[derive(Deserialize)]
#[serde(expecting = "an object")]
struct ApiKeySection {
    header: Option<Entry<String>>,
    query: Option<Entry<String>>,
    checked_by: Option<Entry<KeyChecker>>,
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

const API_KEY_KEYS: [&str; 3] = ["header", "query", "checked_by"];

#[derive(Deserialize)]
#[serde(
    rename_all = "snake_case",
    expecting = "forward, rfc7662, jwt or tokengate"
)]
enum StyleName {
    Forward,
    Rfc7662,
    Jwt,
    Tokengate,
}

#[derive(Deserialize)]
#[serde(expecting = "an object")]
struct ValidationSection {
    style: Option<Entry<StyleName>>,
    client_id: Option<Entry<String>>,
    client_secret: Option<Entry<SecretValue>>,
    audience: Option<Entry<String>>,
    required_scopes: Option<Entry<Vec<String>>>,
    issuer: Option<Entry<IssuerValue>>,
    algorithms: Option<Entry<Vec<String>>>,
    leeway_seconds: Option<Entry<Number>>,
    jwks_file: Option<Entry<String>>,
    jwks_refresh_seconds: Option<Entry<Number>>,
    discovery: Option<Entry<Flag>>,
    profile: Option<Entry<ProfileName>>,
    allow_insecure_http: Option<Entry<Flag>>,
    token_bound_to_api_key: Option<Entry<Flag>>,
    revocation_lag_seconds: Option<Entry<Number>>,
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

/// `validation.profile`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", expecting = "rfc9068")]
enum ProfileName {
    Rfc9068,
}

const VALIDATION_KEYS: [&str; 15] = [
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
];

/// Which styles each `validation` key applies to (`style` and `allow_insecure_http` apply
/// to all).
const STYLE_KEYS: [(&str, &[&str]); 13] = [
    ("client_id", &["rfc7662"]),
    ("client_secret", &["rfc7662"]),
    ("audience", &["rfc7662", "jwt"]),
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
];

/// `validation.issuer`: one issuer, or one per region code with a `default`.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "must be a string, or an object of region code to issuer with a default"
)]
enum IssuerValue {
    One(String),
    Regions(BTreeMap<String, String>),
}

/// `validation.client_secret`: the secret, or where to read it.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "must be a string, or {\"env\": \"VARIABLE\"} naming the environment variable that holds it"
)]
enum SecretValue {
    Inline(String),
    Reference(SecretReference),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretReference {
    env: String,
}

/// How secrets named by reference are read while parsing.
#[derive(Clone, Copy)]
enum Secrets<'a> {
    /// From this lookup (the process environment, at cold start).
    Read(&'a dyn Fn(&str) -> Option<String>),
    /// Not at all: for tools that check the document but never call the endpoint.
    Unread,
}

#[derive(Deserialize)]
#[serde(expecting = "an object")]
struct TimeoutsSection {
    connect_ms: Option<Entry<Number>>,
    total_ms: Option<Entry<Number>>,
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

const TIMEOUTS_KEYS: [&str; 2] = ["connect_ms", "total_ms"];

#[derive(Deserialize)]
#[serde(expecting = "an object")]
struct CacheSection {
    ttl_seconds: Option<Entry<Number>>,
    max_entries: Option<Entry<Number>>,
    key_ttl_seconds: Option<Entry<Number>>,
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

const CACHE_KEYS: [&str; 3] = ["ttl_seconds", "max_entries", "key_ttl_seconds"];

impl PreInputs {
    /// Parses pre-inputs from JSON text, reporting every problem in it; a secret named by
    /// reference is read from the process environment.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_with(text, &|name| std::env::var(name).ok())
    }

    /// The same, reading referenced secrets through `env`.
    pub fn parse_with(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::parse_reading(text, Secrets::Read(env))
    }

    /// The same without reading referenced secrets (they stay empty): for `config check` and
    /// `api render`, which check the document but never call the endpoint.
    pub fn parse_unresolved(text: &str) -> Result<Self, ConfigError> {
        Self::parse_reading(text, Secrets::Unread)
    }

    fn parse_reading(text: &str, secrets: Secrets<'_>) -> Result<Self, ConfigError> {
        let document: Document = match serde_json::from_str(text) {
            Ok(document) => document,
            Err(e) if e.is_data() => {
                return Err(ConfigError::document(
                    "the pre-inputs are not a JSON object",
                ));
            }
            Err(e) => {
                return Err(ConfigError::document(format!(
                    "the pre-inputs are not JSON ({e})"
                )));
            }
        };
        let mut problems = Problems::default();
        let pre_inputs = compile(document, &mut problems, secrets);
        if problems.0.is_empty() {
            Ok(pre_inputs)
        } else {
            Err(ConfigError {
                problems: problems.0,
            })
        }
    }

    /// The endpoint for a request's region code: the region's URI, else `defaultURI`.
    pub fn endpoint_for(&self, region: Option<&str>) -> Option<&Url> {
        region
            .filter(|r| !r.is_empty())
            .and_then(|r| self.region_uris.get(r))
            .or(self.default_uri.as_ref())
    }

    /// The injections for a request's region code: the region's, else `default`.
    pub fn injections_for(&self, region: Option<&str>) -> &[HeaderInjection] {
        region
            .and_then(|r| self.region_injections.get(r))
            .unwrap_or(&self.default_injections)
    }

    /// Every header any region may inject, by name, with its context key (for the
    /// template and the local server to map).
    pub fn all_injected_headers(&self) -> BTreeMap<String, String> {
        self.region_injections
            .values()
            .flatten()
            .chain(&self.default_injections)
            .map(|i| (i.header.clone(), i.context_key.clone()))
            .collect()
    }
}

/// Turns the document into configuration, recording every problem; what is returned is
/// meaningful only when none was recorded.
fn compile(mut doc: Document, problems: &mut Problems, secrets: Secrets<'_>) -> PreInputs {
    problems.unknown("", &doc.unknown, &DOCUMENT_KEYS);
    let insecure = match &mut doc.validation {
        Some(Entry(Ok(section))) => section.allow_insecure_http.take(),
        _ => None,
    };
    let allow_insecure_http = problems
        .take("validation.allow_insecure_http", insecure)
        .is_some_and(|Flag(b)| b);
    let style_name = match &doc.validation {
        Some(Entry(Ok(ValidationSection {
            style: Some(Entry(Ok(name))),
            ..
        }))) => Some(name),
        _ => None,
    };
    let json_only = ValidationStyle::injects_json_only(style_name);
    let (region_header, region_uris, default_uri) =
        if matches!(style_name, Some(StyleName::Tokengate)) {
            no_validation_uris(problems, doc.token_validation_uri, &doc.top_level_uri);
            (None, HashMap::new(), None)
        } else {
            validation_uris(problems, doc.token_validation_uri, doc.top_level_uri)
        };
    let (region_injections, default_injections) =
        injections(problems, doc.inject_headers, json_only);
    let block_authorization_header = problems
        .take("block_authorization_header", doc.block_authorization_header)
        .is_some_and(|Flag(b)| b);
    let proxy = proxy(problems, doc.http_proxy_server, doc.http_proxy_port);
    let api_key = api_key(problems, doc.api_key);
    let style = style(problems, doc.validation, secrets);
    let uris = default_uri
        .iter()
        .map(|uri| ("defaultURI".to_owned(), uri))
        .chain(
            region_uris
                .iter()
                .map(|(region, uri)| (format!("regionCodeValue.{region}"), uri)),
        );
    let warnings = weakened(problems, allow_insecure_http, uris, &style);
    let timeouts = timeouts(problems, doc.timeouts);
    let cache = cache(problems, doc.cache);
    let max_response_bytes = problems
        .take("max_response_bytes", doc.max_response_bytes)
        .and_then(|n| within(problems, "max_response_bytes", n, 1_024..=1_048_576))
        .map_or(DEFAULT_MAX_RESPONSE_BYTES, |n| n as usize);
    let xml_namespaces = problems
        .take("xml_namespaces", doc.xml_namespaces)
        .unwrap_or_default();
    PreInputs {
        region_header,
        region_uris,
        default_uri,
        region_injections,
        default_injections,
        block_authorization_header,
        proxy,
        api_key,
        style,
        timeouts,
        cache,
        max_response_bytes,
        xml_namespaces,
        warnings,
    }
}

/// What weakens the checks, opted into explicitly, as warnings; plain http to a remote host
/// that is not opted into is a problem.
fn weakened<'a>(
    problems: &mut Problems,
    allow_insecure_http: bool,
    uris: impl Iterator<Item = (String, &'a Url)>,
    style: &ValidationStyle,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for (key, uri) in uris.filter(|(_, uri)| is_plain_http_to_a_remote_host(uri)) {
        if allow_insecure_http {
            warnings.push(format!(
                "{key}: {uri} is plain http to a remote host: tokens cross the network readable (allowed by validation.allow_insecure_http)"
            ));
        } else {
            problems.add(
                key,
                "is plain http to a remote host, which exposes every token; use https, or set validation.allow_insecure_http: true",
            );
        }
    }
    if matches!(style, ValidationStyle::Jwt(jwt) if jwt.audience.is_none()) {
        warnings.push(
            "validation.audience is \"any\": tokens meant for other APIs, and ID tokens, are accepted".into(),
        );
    }
    warnings
}

/// `http:` to anything but a loopback address or `localhost`.
pub fn is_plain_http_to_a_remote_host(uri: &Url) -> bool {
    let host = uri.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let host = host.to_ascii_lowercase();
            host == "localhost" || host.ends_with(".localhost")
        }
    };
    uri.scheme() == "http" && !loopback
}

/// A number's value when in range; otherwise the problem is recorded.
fn within(
    problems: &mut Problems,
    key: &str,
    n: Number,
    range: std::ops::RangeInclusive<u64>,
) -> Option<u64> {
    n.within(range)
        .map_err(|problem| problems.add(key, problem))
        .ok()
}

fn endpoint(text: &str) -> Option<Url> {
    Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

type ValidationUris = (Option<String>, HashMap<String, Url>, Option<Url>);

/// The `tokengate` style reads tokens from DynamoDB: a validation URI would be ignored, so
/// it is refused rather than left to mislead.
fn no_validation_uris(
    problems: &mut Problems,
    section: Option<Entry<UriSection>>,
    top_level: &UriKeys,
) {
    let unused =
        "is not used by the tokengate style, which reads tokens from TOKENS_TABLE; remove it";
    if section.is_some() {
        problems.add("token_validation_uri", unused);
    }
    for (key, given) in [
        ("regionCodeHeader", top_level.region_code_header.is_some()),
        ("regionCodeValue", top_level.region_code_value.is_some()),
        ("defaultURI", top_level.default_uri.is_some()),
    ] {
        if given {
            problems.add(key, unused);
        }
    }
}

fn validation_uris(
    problems: &mut Problems,
    section: Option<Entry<UriSection>>,
    top_level: UriKeys,
) -> ValidationUris {
    let (prefix, keys) = match section {
        Some(entry) => {
            if top_level.any() {
                problems.add(
                    "token_validation_uri",
                    "is given twice: as an object and as top-level keys; keep one",
                );
            }
            let Some(section) = problems.take("token_validation_uri", Some(entry)) else {
                return (None, HashMap::new(), None);
            };
            problems.unknown("token_validation_uri", &section.unknown, &URI_KEYS);
            ("token_validation_uri.", section.keys)
        }
        // Mashery's other form: the three keys at the top level.
        None if top_level.any() => ("", top_level),
        None => {
            problems.add("token_validation_uri", "is not defined in the pre-inputs");
            return (None, HashMap::new(), None);
        }
    };
    let UriKeys {
        region_code_header: header,
        region_code_value: regions,
        default_uri: default,
    } = keys;
    let section_name = prefix;
    let header_key = format!("{section_name}regionCodeHeader");
    let region_header = match problems.take(&header_key, header) {
        Some(h) if is_header_name(&h) => Some(h.to_ascii_lowercase()),
        Some(_) => {
            problems.add(&header_key, "must be a header name");
            None
        }
        None => None,
    };
    let regions_key = format!("{section_name}regionCodeValue");
    let mut region_uris = HashMap::new();
    for (region, uri) in problems.take(&regions_key, regions).unwrap_or_default() {
        match endpoint(&uri) {
            Some(url) => {
                region_uris.insert(region, url);
            }
            None => problems.add(format!("{regions_key}.{region}"), "must be an http(s) URL"),
        }
    }
    let default_key = format!("{section_name}defaultURI");
    let default_uri = match problems.take(&default_key, default) {
        Some(uri) if uri.trim().is_empty() => None,
        Some(uri) => endpoint(&uri).or_else(|| {
            problems.add(&default_key, "must be an http(s) URL");
            None
        }),
        None => None,
    };
    if region_header.is_none() && !region_uris.is_empty() {
        problems.add(&regions_key, "needs a regionCodeHeader");
    }
    (region_header, region_uris, default_uri)
}

type Injections = (HashMap<String, Vec<HeaderInjection>>, Vec<HeaderInjection>);

/// `inject_headers`; `json_only` where the style injects from JSON claims (`jwt`).
fn injections(
    problems: &mut Problems,
    entry: Option<Entry<BTreeMap<String, InjectValue>>>,
    json_only: bool,
) -> Injections {
    let mut regions = HashMap::new();
    let mut default = Vec::new();
    let Some(map) = problems.take("inject_headers", entry) else {
        return (regions, default);
    };
    let nested = map.values().any(|v| matches!(v, InjectValue::Region(_)));
    if !nested {
        // The flat form: the whole object is the default.
        let flat = map.into_iter().filter_map(|(header, value)| match value {
            InjectValue::Path(path) => Some((header, Entry(Ok(path)))),
            InjectValue::Region(_) => None,
        });
        return (
            regions,
            header_list(problems, "inject_headers", flat, json_only),
        );
    }
    for (region, value) in map {
        let key = format!("inject_headers.{region}");
        let InjectValue::Region(headers) = value else {
            problems.add(
                key,
                "must be an object of header to path, like the other regions (a path here \
                 belongs in the flat form)",
            );
            continue;
        };
        let list = header_list(problems, &key, headers.into_iter(), json_only);
        if region == "default" {
            default = list;
        } else {
            regions.insert(region, list);
        }
    }
    (regions, default)
}

fn header_list(
    problems: &mut Problems,
    key: &str,
    entries: impl Iterator<Item = (String, Entry<String>)>,
    json_only: bool,
) -> Vec<HeaderInjection> {
    let mut list: Vec<HeaderInjection> = Vec::new();
    for (header, path) in entries {
        let at = format!("{key}.{header}");
        let Some(path) = problems.take(&at, Some(path)) else {
            continue;
        };
        if !is_header_name(&header) {
            problems.add(at, "is not a valid HTTP header name");
            continue;
        }
        if !may_inject(&header) {
            problems.add(at, "is a header the authorizer may not inject");
            continue;
        }
        let path = match ResponsePath::compile(&path) {
            Ok(ResponsePath::Xml(_)) if json_only => {
                problems.add(
                    at,
                    "is an XPath, which does not apply in the jwt style: the claims are JSON; \
                     use a JSONPath starting with $",
                );
                continue;
            }
            Ok(path) => path,
            Err(problem) => {
                problems.add(at, problem);
                continue;
            }
        };
        let context_key = context_key(&header);
        if list.iter().any(|other| other.context_key == context_key) {
            problems.add(at, "names the same header as another entry");
            continue;
        }
        list.push(HeaderInjection {
            header,
            context_key,
            path,
        });
    }
    list
}

fn proxy(
    problems: &mut Problems,
    server: Option<Entry<String>>,
    port: Option<Entry<Number>>,
) -> Option<Url> {
    let server = problems
        .take("http_proxy_server", server)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let port = problems
        .take("http_proxy_port", port)
        .map(|n| within(problems, "http_proxy_port", n, 1..=65_535));
    match (server, port) {
        (None, None) => None,
        (None, Some(_)) => {
            problems.add("http_proxy_server", "is required with http_proxy_port");
            None
        }
        (Some(server), port) => {
            let with_scheme = if server.contains("://") {
                server
            } else {
                format!("http://{server}")
            };
            let Some(mut url) = Url::parse(&with_scheme).ok().filter(|u| u.host().is_some()) else {
                problems.add("http_proxy_server", "must be a host name");
                return None;
            };
            if let Some(port) = port.flatten().and_then(|p| u16::try_from(p).ok())
                && url.set_port(Some(port)).is_err()
            {
                problems.add("http_proxy_port", "cannot be set on this proxy");
            }
            Some(url)
        }
    }
}

fn api_key(problems: &mut Problems, entry: Option<Entry<ApiKeySection>>) -> ApiKeySource {
    let mut source = ApiKeySource::default();
    let Some(section) = problems.take("api_key", entry) else {
        return source;
    };
    problems.unknown("api_key", &section.unknown, &API_KEY_KEYS);
    match problems.take("api_key.header", section.header) {
        Some(h) if is_header_name(&h) => source.header = h.to_ascii_lowercase(),
        Some(_) => problems.add("api_key.header", "must be a header name"),
        None => {}
    }
    match problems.take("api_key.query", section.query) {
        Some(q) if !q.is_empty() => source.query = q,
        Some(_) => problems.add("api_key.query", "must be a name"),
        None => {}
    }
    if let Some(checked_by) = problems.take("api_key.checked_by", section.checked_by) {
        source.checked_by = checked_by;
    }
    source
}

fn style(
    problems: &mut Problems,
    entry: Option<Entry<ValidationSection>>,
    secrets: Secrets<'_>,
) -> ValidationStyle {
    let Some(mut section) = problems.take("validation", entry) else {
        return ValidationStyle::Forward;
    };
    problems.unknown("validation", &section.unknown, &VALIDATION_KEYS);
    let name = problems.take("validation.style", section.style.take());
    let style_name = match name {
        None | Some(StyleName::Forward) => "forward",
        Some(StyleName::Rfc7662) => "rfc7662",
        Some(StyleName::Jwt) => "jwt",
        Some(StyleName::Tokengate) => "tokengate",
    };
    section.refuse_keys_of_other_styles(problems, style_name);
    match name {
        None | Some(StyleName::Forward) => ValidationStyle::Forward,
        Some(StyleName::Rfc7662) => rfc7662(problems, section, secrets),
        Some(StyleName::Jwt) => ValidationStyle::Jwt(Box::new(jwt(problems, section, secrets))),
        Some(StyleName::Tokengate) => ValidationStyle::Tokengate {
            required_scopes: problems
                .take("validation.required_scopes", section.required_scopes)
                .unwrap_or_default(),
            bound_to_api_key: problems
                .take(
                    "validation.token_bound_to_api_key",
                    section.token_bound_to_api_key,
                )
                .is_none_or(|Flag(b)| b),
            revocation_lag_seconds: problems
                .take(
                    "validation.revocation_lag_seconds",
                    section.revocation_lag_seconds,
                )
                .and_then(|n| within(problems, "validation.revocation_lag_seconds", n, 0..=3_600)),
        },
    }
}

impl ValidationSection {
    /// Records a problem for each key given that the chosen style does not use, and drops
    /// it so that its value is not checked too.
    fn refuse_keys_of_other_styles(&mut self, problems: &mut Problems, style: &str) {
        for (key, styles) in STYLE_KEYS {
            if styles.contains(&style) || !self.drop_key(key) {
                continue;
            }
            problems.add(
                format!("validation.{key}"),
                format!(
                    "applies only to the {} style; set validation.style",
                    styles.join(" or ")
                ),
            );
        }
    }

    /// Drops a key's value; whether it was given.
    fn drop_key(&mut self, key: &str) -> bool {
        match key {
            "client_id" => self.client_id.take().is_some(),
            "client_secret" => self.client_secret.take().is_some(),
            "audience" => self.audience.take().is_some(),
            "required_scopes" => self.required_scopes.take().is_some(),
            "issuer" => self.issuer.take().is_some(),
            "algorithms" => self.algorithms.take().is_some(),
            "leeway_seconds" => self.leeway_seconds.take().is_some(),
            "jwks_file" => self.jwks_file.take().is_some(),
            "jwks_refresh_seconds" => self.jwks_refresh_seconds.take().is_some(),
            "discovery" => self.discovery.take().is_some(),
            "profile" => self.profile.take().is_some(),
            "token_bound_to_api_key" => self.token_bound_to_api_key.take().is_some(),
            "revocation_lag_seconds" => self.revocation_lag_seconds.take().is_some(),
            _ => false,
        }
    }
}

fn rfc7662(
    problems: &mut Problems,
    section: ValidationSection,
    secrets: Secrets<'_>,
) -> ValidationStyle {
    let given = [section.client_id.is_some(), section.client_secret.is_some()];
    let client_id = problems.take("validation.client_id", section.client_id);
    let client_secret = problems.take("validation.client_secret", section.client_secret);
    let audience = problems.take("validation.audience", section.audience);
    let required_scopes = problems.take("validation.required_scopes", section.required_scopes);
    let (secret, secret_source) = match client_secret {
        Some(SecretValue::Inline(secret)) => (Some(secret), SecretSource::Inline),
        Some(SecretValue::Reference(SecretReference { env })) => {
            let secret = match secrets {
                Secrets::Unread => Some(String::new()),
                Secrets::Read(lookup) => {
                    let value = lookup(&env).filter(|v| !v.is_empty());
                    if value.is_none() {
                        problems.add(
                            "validation.client_secret",
                            format!("names environment variable {env}, which is not set"),
                        );
                    }
                    value
                }
            };
            (secret, SecretSource::Environment(env))
        }
        None => (None, SecretSource::Inline),
    };
    let mut required = |key: &str, given: bool, value: Option<String>| match value {
        Some(value) if !value.is_empty() => value,
        // Given with a wrong value, it has its problem already.
        None if given => String::new(),
        _ => {
            problems.add(format!("validation.{key}"), "is required for rfc7662");
            String::new()
        }
    };
    let client_id = required("client_id", given[0], client_id);
    let client_secret = match (&secret_source, secret) {
        (SecretSource::Environment(_), secret) => secret.unwrap_or_default(),
        (SecretSource::Inline, secret) => required("client_secret", given[1], secret),
    };
    ValidationStyle::Rfc7662 {
        client_id,
        client_secret,
        secret_source,
        audience,
        required_scopes: required_scopes.unwrap_or_default(),
    }
}

fn jwt(problems: &mut Problems, section: ValidationSection, secrets: Secrets<'_>) -> JwtStyle {
    let (issuer, region_issuers) = jwt_issuers(problems, section.issuer);
    let algorithms = match problems.take("validation.algorithms", section.algorithms) {
        None => DEFAULT_JWT_ALGORITHMS.to_vec(),
        Some(names) => jwt_algorithms(problems, &names),
    };
    let leeway_seconds = problems
        .take("validation.leeway_seconds", section.leeway_seconds)
        .and_then(|n| within(problems, "validation.leeway_seconds", n, 0..=300))
        .unwrap_or(DEFAULT_JWT_LEEWAY_SECONDS);
    let jwks_refresh = problems
        .take(
            "validation.jwks_refresh_seconds",
            section.jwks_refresh_seconds,
        )
        .and_then(|n| within(problems, "validation.jwks_refresh_seconds", n, 1..=3_600))
        .map_or(DEFAULT_JWKS_REFRESH, Duration::from_secs);
    let discovery = problems
        .take("validation.discovery", section.discovery)
        .is_some_and(|Flag(b)| b);
    let jwks_file = problems.take("validation.jwks_file", section.jwks_file);
    let initial_keys = match (&jwks_file, secrets) {
        (Some(path), Secrets::Read(_)) => match std::fs::read(path) {
            Ok(bytes) => KeySet::parse(&bytes, &algorithms)
                .map(Arc::new)
                .map_err(|e| problems.add("validation.jwks_file", format!("{path}: {e}")))
                .ok(),
            Err(e) => {
                problems.add(
                    "validation.jwks_file",
                    format!("{path} cannot be read: {e}"),
                );
                None
            }
        },
        _ => None,
    };
    let audience = jwt_audience(problems, section.audience);
    JwtStyle {
        issuer,
        region_issuers,
        audience,
        required_scopes: problems
            .take("validation.required_scopes", section.required_scopes)
            .unwrap_or_default(),
        rfc9068: problems
            .take("validation.profile", section.profile)
            .is_some(),
        algorithms,
        leeway_seconds,
        jwks_file,
        initial_keys,
        jwks_refresh,
        discovery,
    }
}

/// `validation.issuer`: the default issuer and the regions' own.
fn jwt_issuers(
    problems: &mut Problems,
    entry: Option<Entry<IssuerValue>>,
) -> (String, HashMap<String, String>) {
    let issuer_given = entry.is_some();
    match problems.take("validation.issuer", entry) {
        Some(IssuerValue::One(issuer)) if !issuer.trim().is_empty() => (issuer, HashMap::new()),
        Some(IssuerValue::Regions(mut regions)) => {
            let default = regions.remove("default").filter(|d| !d.trim().is_empty());
            if default.is_none() {
                problems.add(
                    "validation.issuer.default",
                    "is required when issuers are given per region",
                );
            }
            (default.unwrap_or_default(), regions.into_iter().collect())
        }
        Some(IssuerValue::One(_)) => {
            problems.add("validation.issuer", "must not be empty");
            (String::new(), HashMap::new())
        }
        None => {
            if !issuer_given {
                problems.add(
                    "validation.issuer",
                    "is required for jwt (the iss every token must carry)",
                );
            }
            (String::new(), HashMap::new())
        }
    }
}

/// The value `"audience"` takes to accept a token meant for any audience.
pub const ANY_AUDIENCE: &str = "any";

/// `validation.audience`, required for `jwt` (RFC 9068 §4: a resource server must check
/// that it is the token's audience); `"any"` opts out, and is the only way to.
fn jwt_audience(problems: &mut Problems, entry: Option<Entry<String>>) -> Option<String> {
    let given = entry.is_some();
    match problems.take("validation.audience", entry) {
        Some(any) if any == ANY_AUDIENCE => None,
        Some(audience) if !audience.trim().is_empty() => Some(audience),
        Some(_) => {
            problems.add("validation.audience", "must not be empty");
            None
        }
        None => {
            if !given {
                problems.add(
                    "validation.audience",
                    "is required for jwt: the audience (aud) this API's tokens carry, as RFC 9068 §4 requires; write \"any\" to accept tokens meant for any audience, ID tokens included",
                );
            }
            None
        }
    }
}

/// The `algorithms` list: known asymmetric JWS algorithms only.
fn jwt_algorithms(problems: &mut Problems, names: &[String]) -> Vec<Algorithm> {
    let mut algorithms = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let key = format!("validation.algorithms[{i}]");
        match name.parse::<Algorithm>() {
            Ok(alg) if DEFAULT_JWT_ALGORITHMS.contains(&alg) => algorithms.push(alg),
            Ok(_) => problems.add(
                key,
                format!(
                    "{name} is never accepted: a shared secret cannot be verified against a \
                     public key set"
                ),
            ),
            Err(_) if name.eq_ignore_ascii_case("none") => {
                problems.add(
                    key,
                    "none is never accepted: an unsigned token proves nothing",
                );
            }
            Err(_) => problems.add(
                key,
                format!(
                    "is not an algorithm tokengate accepts (known: {})",
                    DEFAULT_JWT_ALGORITHMS.map(|a| format!("{a:?}")).join(", ")
                ),
            ),
        }
    }
    if names.is_empty() {
        problems.add("validation.algorithms", "must name at least one algorithm");
    }
    algorithms
}

fn timeouts(problems: &mut Problems, entry: Option<Entry<TimeoutsSection>>) -> Timeouts {
    let mut timeouts = Timeouts::default();
    let Some(section) = problems.take("timeouts", entry) else {
        return timeouts;
    };
    problems.unknown("timeouts", &section.unknown, &TIMEOUTS_KEYS);
    let max = MAX_TOTAL_TIMEOUT.as_millis() as u64;
    let mut millis = |key: &str, entry| {
        problems
            .take(key, entry)
            .and_then(|n| within(problems, key, n, 1..=max))
            .map(Duration::from_millis)
    };
    if let Some(connect) = millis("timeouts.connect_ms", section.connect_ms) {
        timeouts.connect = connect;
    }
    if let Some(total) = millis("timeouts.total_ms", section.total_ms) {
        timeouts.total = total;
    }
    if timeouts.connect > timeouts.total {
        problems.add("timeouts.connect_ms", "must not exceed timeouts.total_ms");
    }
    timeouts
}

fn cache(problems: &mut Problems, entry: Option<Entry<CacheSection>>) -> CacheSettings {
    let mut cache = CacheSettings::default();
    let Some(section) = problems.take("cache", entry) else {
        return cache;
    };
    problems.unknown("cache", &section.unknown, &CACHE_KEYS);
    let mut number = |key: &str, entry, range| {
        problems
            .take(key, entry)
            .and_then(|n| within(problems, key, n, range))
    };
    if let Some(ttl) = number("cache.ttl_seconds", section.ttl_seconds, 0..=3_600) {
        cache.ttl = Duration::from_secs(ttl);
    }
    if let Some(max) = number("cache.max_entries", section.max_entries, 1..=1_000_000) {
        cache.max_entries = max;
    }
    if let Some(ttl) = number("cache.key_ttl_seconds", section.key_ttl_seconds, 0..=3_600) {
        cache.key_ttl = Duration::from_secs(ttl);
    }
    cache
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_miss_names_the_key_it_most_likely_meant() {
        assert_eq!(
            nearest("block_authorisation_header", &DOCUMENT_KEYS),
            Some("block_authorization_header")
        );
        assert_eq!(nearest("defaultURl", &DOCUMENT_KEYS), Some("defaultURI"));
        assert_eq!(
            nearest("inject_header", &DOCUMENT_KEYS),
            Some("inject_headers")
        );
        assert_eq!(nearest("stlye", &VALIDATION_KEYS), Some("style"));
        assert_eq!(nearest("something_else", &DOCUMENT_KEYS), None);
    }

    #[test]
    fn serde_messages_lose_the_value_they_were_given() {
        assert_eq!(
            without_echo("invalid type: string \"hunter2\", expected a boolean"),
            "must be a boolean"
        );
        assert_eq!(without_echo("missing field"), "missing field");
    }
}
