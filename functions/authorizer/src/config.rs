//! Pre-inputs: Mashery's configuration format, parsed once at cold start into typed,
//! compiled configuration.
//!
//! Both of Mashery's forms are accepted (`token_validation_uri` as an object, or its three
//! keys at the top level; `inject_headers` per region or flat), and so are Mashery's string
//! encodings (a pre-input whose value is JSON text, `"true"`, `"3128"`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use jsonpath_rust::parser::model::JpQuery;
use reqwest::Url;
use serde_json::{Map, Value};

use crate::xpath::XPathExpr;

/// Where the API key is read: a header first, then a query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySource {
    /// Header name, lowercase (`x-api-key`).
    pub header: String,
    /// Query parameter name (`api_key`).
    pub query: String,
}

impl Default for ApiKeySource {
    fn default() -> Self {
        Self {
            header: "x-api-key".into(),
            query: "api_key".into(),
        }
    }
}

/// How the validation endpoint is asked about a token.
#[derive(Clone, PartialEq, Eq)]
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
        /// Its secret.
        client_secret: String,
        /// An audience the token must carry (`aud`), if any.
        audience: Option<String>,
        /// Scopes the token must all carry (`scope`).
        required_scopes: Vec<String>,
    },
}

impl fmt::Debug for ValidationStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forward => f.write_str("Forward"),
            Self::Rfc7662 {
                client_id,
                audience,
                required_scopes,
                ..
            } => f
                .debug_struct("Rfc7662")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .field("audience", audience)
                .field("required_scopes", required_scopes)
                .finish(),
        }
    }
}

/// A path into the validation response.
#[derive(Debug, Clone)]
pub enum ResponsePath {
    /// RFC 9535 JSONPath, for JSON responses (written with a leading `$`).
    Json {
        /// The compiled query.
        query: JpQuery,
        /// The query as written.
        source: String,
    },
    /// XPath 1.0, for XML responses (anything not starting with `$`).
    Xml(XPathExpr),
}

impl ResponsePath {
    /// Compiles a path: JSONPath when it starts with `$`, XPath otherwise (Mashery's rule).
    pub fn compile(source: &str) -> Result<Self, String> {
        if source.starts_with('$') {
            jsonpath_rust::parser::parse_json_path(source)
                .map(|query| Self::Json {
                    query,
                    source: source.to_owned(),
                })
                .map_err(|e| format!("not a JSONPath (RFC 9535): {e}"))
        } else {
            XPathExpr::compile(source)
                .map(Self::Xml)
                .map_err(|e| format!("not an XPath 1.0 expression: {e}"))
        }
    }
}

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

/// Bounds on the validation call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To establish the connection.
    pub connect: Duration,
    /// For the whole call, body included.
    pub total: Duration,
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
}

/// Why the pre-inputs cannot be used. Each names the key at fault; the authorizer then
/// denies every request with the matching error, as Mashery does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `token_validation_uri` is missing or not in the required JSON form.
    #[error("token_validation_uri: {0}")]
    ValidationUri(String),
    /// Any other pre-input is wrong.
    #[error("{key}: {problem}")]
    Invalid {
        /// The pre-input at fault (`inject_headers.FR.X-User-Id`).
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

/// Headers that only mean something between two hops (RFC 9110 §7.6.1): never injected,
/// never forwarded.
pub const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers that frame, route or authenticate the request itself: never injected.
const REQUEST_CONTROL: [&str; 4] = ["authorization", "content-length", "content-type", "host"];

fn may_inject(header: &str) -> bool {
    let lower = header.to_ascii_lowercase();
    !HOP_BY_HOP.contains(&lower.as_str()) && !REQUEST_CONTROL.contains(&lower.as_str())
}

/// The longest total time accepted: API Gateway gives an authorizer at most 10 s.
pub const MAX_TOTAL_TIMEOUT: Duration = Duration::from_millis(9_000);

impl PreInputs {
    /// Parses pre-inputs from JSON text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            ConfigError::ValidationUri(format!("the pre-inputs are not a JSON object ({e})"))
        })?;
        let Value::Object(root) = value else {
            return Err(ConfigError::ValidationUri(
                "the pre-inputs are not a JSON object".into(),
            ));
        };
        Self::from_object(&root)
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

    fn from_object(root: &Map<String, Value>) -> Result<Self, ConfigError> {
        let (region_header, region_uris, default_uri) = validation_uris(root)?;
        let (region_injections, default_injections) = injections(root.get("inject_headers"))?;
        Ok(Self {
            region_header,
            region_uris,
            default_uri,
            region_injections,
            default_injections,
            block_authorization_header: boolean(root, "block_authorization_header")?
                .unwrap_or(false),
            proxy: proxy(root)?,
            api_key: api_key(root.get("api_key"))?,
            style: style(root.get("validation"))?,
            timeouts: timeouts(root.get("timeouts"))?,
            cache: cache(root.get("cache"))?,
            max_response_bytes: max_response_bytes(root.get("max_response_bytes"))?,
            xml_namespaces: string_map(root.get("xml_namespaces"), "xml_namespaces")?
                .unwrap_or_default(),
        })
    }
}

/// A pre-input that Mashery may hold as JSON text: decode the text, or take the value.
fn decoded(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

fn object(value: &Value, key: &str) -> Result<Map<String, Value>, ConfigError> {
    match decoded(value) {
        Value::Object(map) => Ok(map),
        _ => Err(invalid(key, "must be a JSON object")),
    }
}

fn string_map(
    value: Option<&Value>,
    key: &str,
) -> Result<Option<BTreeMap<String, String>>, ConfigError> {
    let Some(value) = value else {
        return Ok(None);
    };
    object(value, key)?
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            _ => Err(invalid(format!("{key}.{k}"), "must be a string")),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

fn endpoint(text: &str) -> Option<Url> {
    Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

type ValidationUris = (Option<String>, HashMap<String, Url>, Option<Url>);

fn validation_uris(root: &Map<String, Value>) -> Result<ValidationUris, ConfigError> {
    let uri_error = |problem: &str| ConfigError::ValidationUri(problem.to_owned());
    let section = match root.get("token_validation_uri") {
        Some(value) => match decoded(value) {
            Value::Object(map) => map,
            _ => {
                return Err(uri_error(
                    "must be a JSON object with regionCodeHeader, regionCodeValue and defaultURI",
                ));
            }
        },
        // Mashery's other form: the three keys at the top level.
        None if ["regionCodeHeader", "regionCodeValue", "defaultURI"]
            .iter()
            .any(|k| root.contains_key(*k)) =>
        {
            root.clone()
        }
        None => return Err(uri_error("is not defined in the pre-inputs")),
    };
    let region_header = match section.get("regionCodeHeader") {
        None | Some(Value::Null) => None,
        Some(Value::String(h)) if is_token(h) => Some(h.to_ascii_lowercase()),
        Some(_) => return Err(uri_error("regionCodeHeader must be a header name")),
    };
    let mut region_uris = HashMap::new();
    match section.get("regionCodeValue").map(decoded) {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (region, uri) in map {
                let url = uri.as_str().and_then(endpoint).ok_or_else(|| {
                    ConfigError::ValidationUri(format!(
                        "regionCodeValue.{region} must be an http(s) URL"
                    ))
                })?;
                region_uris.insert(region, url);
            }
        }
        Some(_) => {
            return Err(uri_error(
                "regionCodeValue must be a JSON object of region code to URI",
            ));
        }
    }
    let default_uri = match section.get("defaultURI") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(value) => Some(
            value
                .as_str()
                .and_then(endpoint)
                .ok_or_else(|| uri_error("defaultURI must be an http(s) URL"))?,
        ),
    };
    if region_header.is_none() && !region_uris.is_empty() {
        return Err(uri_error("regionCodeValue needs a regionCodeHeader"));
    }
    Ok((region_header, region_uris, default_uri))
}

/// An HTTP header name (RFC 9110 token).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

type Injections = (HashMap<String, Vec<HeaderInjection>>, Vec<HeaderInjection>);

fn injections(value: Option<&Value>) -> Result<Injections, ConfigError> {
    let Some(value) = value else {
        return Ok((HashMap::new(), Vec::new()));
    };
    let map = object(value, "inject_headers")?;
    let nested = map.values().any(|v| matches!(decoded(v), Value::Object(_)));
    if !nested {
        // The flat form: the whole object is the default.
        return Ok((HashMap::new(), header_list(&map, "inject_headers")?));
    }
    let mut regions = HashMap::new();
    let mut default = Vec::new();
    for (region, headers) in &map {
        let key = format!("inject_headers.{region}");
        let headers = header_list(&object(headers, &key)?, &key)?;
        if region == "default" {
            default = headers;
        } else {
            regions.insert(region.clone(), headers);
        }
    }
    Ok((regions, default))
}

fn header_list(map: &Map<String, Value>, key: &str) -> Result<Vec<HeaderInjection>, ConfigError> {
    let mut list: Vec<HeaderInjection> = Vec::new();
    for (header, path) in map {
        let at = format!("{key}.{header}");
        if !is_token(header) {
            return Err(invalid(at, "is not a valid HTTP header name"));
        }
        if !may_inject(header) {
            return Err(invalid(at, "is a header the authorizer may not inject"));
        }
        let path = path
            .as_str()
            .ok_or_else(|| invalid(&at, "must be a JSONPath or XPath string"))?;
        let path = ResponsePath::compile(path).map_err(|problem| invalid(&at, problem))?;
        let context_key = context_key(header);
        if list.iter().any(|other| other.context_key == context_key) {
            return Err(invalid(at, "names the same header as another entry"));
        }
        list.push(HeaderInjection {
            header: header.clone(),
            context_key,
            path,
        });
    }
    Ok(list)
}

/// The authorizer `context` key an injected header travels under.
pub fn context_key(header: &str) -> String {
    let name: String = header
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("inject_{name}")
}

fn boolean(root: &Map<String, Value>, key: &str) -> Result<Option<bool>, ConfigError> {
    match root.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(invalid(key, "must be true or false")),
    }
}

/// A whole number, or Mashery's string spelling of one.
fn number(
    value: &Value,
    key: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let n = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.filter(|n| range.contains(n)).ok_or_else(|| {
        invalid(
            key,
            format!(
                "must be a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )
    })
}

fn proxy(root: &Map<String, Value>) -> Result<Option<Url>, ConfigError> {
    let server = match root.get("http_proxy_server") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(_) => return Err(invalid("http_proxy_server", "must be a host name")),
    };
    let port = root
        .get("http_proxy_port")
        .filter(|v| !v.is_null())
        .map(|v| number(v, "http_proxy_port", 1..=65_535))
        .transpose()?;
    match (server, port) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(invalid(
            "http_proxy_server",
            "is required with http_proxy_port",
        )),
        (Some(server), port) => {
            let with_scheme = if server.contains("://") {
                server
            } else {
                format!("http://{server}")
            };
            let mut url = Url::parse(&with_scheme)
                .ok()
                .filter(|u| u.host().is_some())
                .ok_or_else(|| invalid("http_proxy_server", "must be a host name"))?;
            if let Some(port) = port {
                url.set_port(u16::try_from(port).ok())
                    .map_err(|()| invalid("http_proxy_port", "cannot be set on this proxy"))?;
            }
            Ok(Some(url))
        }
    }
}

fn api_key(value: Option<&Value>) -> Result<ApiKeySource, ConfigError> {
    let mut source = ApiKeySource::default();
    let Some(map) = string_map(value, "api_key")? else {
        return Ok(source);
    };
    for (name, value) in map {
        match name.as_str() {
            "header" if is_token(&value) => source.header = value.to_ascii_lowercase(),
            "query" if !value.is_empty() => source.query = value,
            "header" | "query" => return Err(invalid(format!("api_key.{name}"), "must be a name")),
            other => {
                return Err(invalid(
                    format!("api_key.{other}"),
                    "is not a known setting (header, query)",
                ));
            }
        }
    }
    Ok(source)
}

fn style(value: Option<&Value>) -> Result<ValidationStyle, ConfigError> {
    let Some(value) = value else {
        return Ok(ValidationStyle::Forward);
    };
    let map = object(value, "validation")?;
    let text = |key: &str| -> Result<Option<String>, ConfigError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!("validation.{key}"), "must be a string")),
        }
    };
    for key in map.keys() {
        if ![
            "style",
            "client_id",
            "client_secret",
            "audience",
            "required_scopes",
        ]
        .contains(&key.as_str())
        {
            return Err(invalid(
                format!("validation.{key}"),
                "is not a known setting (style, client_id, client_secret, audience, required_scopes)",
            ));
        }
    }
    match text("style")?.as_deref() {
        None | Some("forward") => Ok(ValidationStyle::Forward),
        Some("rfc7662") => {
            let required_scopes = match map.get("required_scopes") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|s| s.as_str().map(str::to_owned))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        invalid("validation.required_scopes", "must be a list of strings")
                    })?,
                Some(_) => {
                    return Err(invalid(
                        "validation.required_scopes",
                        "must be a list of strings",
                    ));
                }
            };
            Ok(ValidationStyle::Rfc7662 {
                client_id: text("client_id")?
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| invalid("validation.client_id", "is required for rfc7662"))?,
                client_secret: text("client_secret")?
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| {
                        invalid("validation.client_secret", "is required for rfc7662")
                    })?,
                audience: text("audience")?,
                required_scopes,
            })
        }
        Some(_) => Err(invalid("validation.style", "must be forward or rfc7662")),
    }
}

fn timeouts(value: Option<&Value>) -> Result<Timeouts, ConfigError> {
    let mut timeouts = Timeouts {
        connect: Duration::from_millis(2_000),
        total: Duration::from_millis(5_000),
    };
    let Some(value) = value else {
        return Ok(timeouts);
    };
    let max = MAX_TOTAL_TIMEOUT.as_millis() as u64;
    for (key, v) in object(value, "timeouts")? {
        let at = format!("timeouts.{key}");
        match key.as_str() {
            "connect_ms" => timeouts.connect = Duration::from_millis(number(&v, &at, 1..=max)?),
            "total_ms" => timeouts.total = Duration::from_millis(number(&v, &at, 1..=max)?),
            _ => return Err(invalid(at, "is not a known setting (connect_ms, total_ms)")),
        }
    }
    if timeouts.connect > timeouts.total {
        return Err(invalid(
            "timeouts.connect_ms",
            "must not exceed timeouts.total_ms",
        ));
    }
    Ok(timeouts)
}

fn cache(value: Option<&Value>) -> Result<CacheSettings, ConfigError> {
    let mut cache = CacheSettings {
        ttl: Duration::from_secs(60),
        max_entries: 10_000,
        key_ttl: Duration::from_secs(30),
    };
    let Some(value) = value else {
        return Ok(cache);
    };
    for (key, v) in object(value, "cache")? {
        let at = format!("cache.{key}");
        match key.as_str() {
            "ttl_seconds" => cache.ttl = Duration::from_secs(number(&v, &at, 0..=3_600)?),
            "max_entries" => cache.max_entries = number(&v, &at, 1..=1_000_000)?,
            "key_ttl_seconds" => cache.key_ttl = Duration::from_secs(number(&v, &at, 0..=3_600)?),
            _ => {
                return Err(invalid(
                    at,
                    "is not a known setting (ttl_seconds, max_entries, key_ttl_seconds)",
                ));
            }
        }
    }
    Ok(cache)
}

fn max_response_bytes(value: Option<&Value>) -> Result<usize, ConfigError> {
    match value {
        None | Some(Value::Null) => Ok(64 * 1024),
        Some(v) => number(v, "max_response_bytes", 1_024..=1_048_576).map(|n| n as usize),
    }
}
