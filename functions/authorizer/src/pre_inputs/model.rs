//! The configuration as the authorizer uses it: every value checked, every default applied.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use reqwest::Url;
use serde::Deserialize;

use crate::keyset::KeySet;
use crate::routes::RouteTable;
use crate::xpath::XPathExpr;

/// One header to inject: its name, the `context` key it travels under, and the path to
/// its value.
#[derive(Debug, Clone)]
pub struct HeaderInjection {
    /// The header's name as configured (`X-User-Id`).
    pub header: String,
    /// The authorizer `context` key: `inject_` and the lowercase name with every
    /// non-alphanumeric character as `_` (`inject_x_user_id`).
    pub context_key: String,
    /// Where its value comes from.
    pub path: ResponsePath,
}

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
        /// An audience the token must be for (the client's `--audience`), when set.
        audience: Option<String>,
        /// Scopes the token must all carry.
        required_scopes: Vec<String>,
        /// `token_bound_to_api_key` (default true): the token must have been issued to the
        /// API key the request presents.
        bound_to_api_key: bool,
        /// `revocation_lag_seconds`: how long an Allow may outlive a revocation, accepted
        /// explicitly; it bounds API Gateway's authorizer cache (`tokengate api render`).
        /// `None`: not at all, the cache must be off. Above 0, each execution environment
        /// also keeps the token and key records it read for at most that long.
        revocation_lag_seconds: Option<u64>,
        /// `eventually_consistent_reads`: half the read units, accepted only beside a lag
        /// of 1 second or more.
        eventually_consistent_reads: bool,
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
    /// The signature check the `tokengate` style makes of token-issuer's JWTs against its
    /// JWKS before reading the table: RFC 9068 tokens, in the algorithms token-issuer signs
    /// with. Their claims are the table's to judge.
    pub fn own_tokens() -> Self {
        Self {
            issuer: String::new(),
            region_issuers: HashMap::new(),
            audience: None,
            required_scopes: Vec::new(),
            rfc9068: true,
            algorithms: vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
            leeway_seconds: DEFAULT_JWT_LEEWAY_SECONDS,
            jwks_file: None,
            initial_keys: None,
            jwks_refresh: DEFAULT_JWKS_REFRESH,
            discovery: false,
        }
    }

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
                audience,
                required_scopes,
                bound_to_api_key,
                revocation_lag_seconds,
                eventually_consistent_reads,
            } => f
                .debug_struct("Tokengate")
                .field("audience", audience)
                .field("required_scopes", required_scopes)
                .field("bound_to_api_key", bound_to_api_key)
                .field("revocation_lag_seconds", revocation_lag_seconds)
                .field("eventually_consistent_reads", eventually_consistent_reads)
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

/// Who holds a key with a plan to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimits {
    /// API Gateway's usage plans: the Allow names the key's API key
    /// (`usageIdentifierKey`), and API Gateway counts and answers 429.
    ApiGateway,
    /// The authorizer counts, in `USAGE_TABLE`, and denies past a limit.
    Tokengate,
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
    /// Addition: the scopes each route needs (`routes`, `unmatched_routes`), when given.
    pub routes: Option<Arc<RouteTable>>,
    /// Addition: who holds each key to its plan (`rate_limits`); none: nobody.
    pub rate_limits: Option<RateLimits>,
    /// What is valid but weakens the checks, opted into explicitly (`"audience": "any"`,
    /// `allow_insecure_http`): `config check` and the cold-start log say so.
    pub warnings: Vec<String>,
}

impl PreInputs {
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

/// The value `"audience"` takes to accept a token meant for any audience.
pub const ANY_AUDIENCE: &str = "any";
