//! The compiler: the document as written, turned into [`PreInputs`], every problem
//! recorded.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use super::document::{
    API_KEY_KEYS, ApiKeySection, CACHE_KEYS, CacheSection, DOCUMENT_KEYS, Document, Entry, Flag,
    InjectValue, Number, RateLimitsName, Secrets, StyleName, TIMEOUTS_KEYS, TimeoutsSection,
    UriKeys, UriSection, ValidationSection, within,
};
use super::model::{
    ApiKeySource, CacheSettings, DEFAULT_MAX_RESPONSE_BYTES, HeaderInjection, MAX_TOTAL_TIMEOUT,
    PreInputs, RateLimits, ResponsePath, Timeouts, ValidationStyle, is_plain_http_to_a_remote_host,
};
use super::problems::{Problems, URI_KEYS};
use super::routing::routes;
use super::validation::style;
use crate::header_rules::context_key;
use crate::header_rules::is_header_name;
use crate::header_rules::may_inject;

/// Turns the document into configuration, recording every problem; what is returned is
/// meaningful only when none was recorded.
pub(super) fn compile(
    mut doc: Document,
    problems: &mut Problems,
    secrets: Secrets<'_>,
) -> PreInputs {
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
    let json_only = injects_json_only(style_name);
    let (region_header, region_uris, default_uri) =
        if matches!(style_name, Some(StyleName::Tokengate)) {
            (
                None,
                HashMap::new(),
                tokengate_jwks_uri(problems, doc.token_validation_uri, doc.top_level_uri),
            )
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
    let routes = routes(problems, doc.routes, doc.unmatched_routes, &style).map(Arc::new);
    let rate_limits = rate_limits(problems, doc.rate_limits);
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
        routes,
        rate_limits,
        warnings,
    }
}

/// `rate_limits`.
fn rate_limits(
    problems: &mut Problems,
    entry: Option<Entry<RateLimitsName>>,
) -> Option<RateLimits> {
    problems.take("rate_limits", entry).map(|name| match name {
        RateLimitsName::ApiGateway => RateLimits::ApiGateway,
        RateLimitsName::Tokengate => RateLimits::Tokengate,
    })
}

/// What weakens the checks, opted into explicitly, as warnings; plain http to a remote host
/// that is not opted into is a problem.
pub(super) fn weakened<'a>(
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

pub(super) fn endpoint(text: &str) -> Option<Url> {
    Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

pub(super) type ValidationUris = (Option<String>, HashMap<String, Url>, Option<Url>);

/// The `tokengate` style reads tokens from DynamoDB and needs no validation URI. Its
/// `defaultURI`, when given, is token-issuer's JWKS: a JWT's signature is checked against it
/// before the table is read, so that a forged one costs no read. Region routing does not
/// apply.
pub(super) fn tokengate_jwks_uri(
    problems: &mut Problems,
    section: Option<Entry<UriSection>>,
    top_level: UriKeys,
) -> Option<Url> {
    if section.is_none() && !top_level.any() {
        return None;
    }
    let key = if section.is_some() {
        "token_validation_uri"
    } else {
        "regionCodeValue"
    };
    let (header, regions, default) = validation_uris(problems, section, top_level);
    if header.is_some() || !regions.is_empty() {
        problems.add(
            key,
            "the tokengate style takes only a defaultURI: token-issuer's JWKS (…/.well-known/jwks.json), which JWTs are checked against before the table is read",
        );
    }
    default
}

pub(super) fn validation_uris(
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

pub(super) type Injections = (HashMap<String, Vec<HeaderInjection>>, Vec<HeaderInjection>);

/// `inject_headers`; `json_only` where the style injects from JSON claims (`jwt`).
pub(super) fn injections(
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

pub(super) fn header_list(
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

pub(super) fn proxy(
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

pub(super) fn api_key(
    problems: &mut Problems,
    entry: Option<Entry<ApiKeySection>>,
) -> ApiKeySource {
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

pub(super) fn timeouts(problems: &mut Problems, entry: Option<Entry<TimeoutsSection>>) -> Timeouts {
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

pub(super) fn cache(problems: &mut Problems, entry: Option<Entry<CacheSection>>) -> CacheSettings {
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

/// Whether the style injects from JSON claims only (no XPath).
fn injects_json_only(name: Option<&StyleName>) -> bool {
    matches!(name, Some(StyleName::Jwt | StyleName::Tokengate))
}
