//! The decision, in Mashery's order: API key, `Authorization` header, validation
//! endpoint by region, the validation call, header injection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use moka::Expiry;
use moka::sync::Cache;
use reqwest::Url;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokengate_shared::{ClientKey, KeyId, KeyStatus, KeyStore, clock};
use tracing::{error, warn};

use crate::config::{ApiKeySource, ConfigError, PreInputs, ValidationStyle};
use crate::endpoint::{ContentKind, ValidationCall, ValidationEndpoint};
use crate::error::Deny;
use crate::injection::{InjectedHeader, ResponseBody};

/// What the authorizer sees of a request, whatever the event's payload version.
#[derive(Debug, Clone, Default)]
pub struct AuthRequest {
    /// Headers by lowercase name.
    pub headers: HashMap<String, String>,
    /// Query string parameters.
    pub query: HashMap<String, String>,
}

impl AuthRequest {
    fn header(&self, lowercase_name: &str) -> Option<&str> {
        self.headers
            .get(lowercase_name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// The answer, before it is shaped for API Gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the request through, with headers to inject.
    Allow {
        /// The API key's id: who the caller is (never a secret).
        principal_id: String,
        /// Headers for the backend.
        headers: Vec<InjectedHeader>,
        /// Whether `Authorization` must be dropped before the backend.
        block_authorization_header: bool,
        /// Whether the validation result came from the cache.
        cached: bool,
    },
    /// Refuse it.
    Deny {
        /// The API key's id when it was known.
        principal_id: Option<String>,
        /// Why.
        reason: Deny,
    },
}

/// What the cache keeps for a validated token: the injected headers and the claims to
/// re-check on every hit.
#[derive(Debug, Clone)]
struct Validated {
    headers: Vec<InjectedHeader>,
    claims: Claims,
    ttl: Duration,
}

/// The parts of an introspection answer that are checked on every request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Claims {
    exp: Option<u64>,
    audiences: Vec<String>,
    scopes: Vec<String>,
}

impl Claims {
    fn from_json(json: &Value) -> Self {
        let audiences = match json.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let scopes = json
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        Self {
            exp: json.get("exp").and_then(Value::as_u64),
            audiences,
            scopes,
        }
    }

    /// Whether a token with these claims is acceptable now. In `forward` style the HTTP
    /// 200 alone decides (Mashery's rule); `exp` there only bounds the cache.
    fn acceptable(&self, style: &ValidationStyle, now: u64) -> bool {
        match style {
            ValidationStyle::Forward => true,
            ValidationStyle::Rfc7662 {
                audience,
                required_scopes,
                ..
            } => {
                self.exp.is_none_or(|exp| exp > now)
                    && audience.as_ref().is_none_or(|a| self.audiences.contains(a))
                    && required_scopes.iter().all(|s| self.scopes.contains(s))
            }
        }
    }
}

struct PerEntryTtl;

impl Expiry<[u8; 32], Arc<Validated>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Validated>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The authorizer: configuration, the key store, the validation endpoint and the caches.
pub struct Authorizer {
    pre_inputs: Result<PreInputs, ConfigError>,
    keys: Arc<dyn KeyStore>,
    endpoint: Arc<dyn ValidationEndpoint>,
    validations: Option<Cache<[u8; 32], Arc<Validated>>>,
    api_keys: Option<Cache<KeyId, ClientKey>>,
    context_keys: Vec<String>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("pre_inputs", &self.pre_inputs.as_ref().map(|_| "valid"))
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// An authorizer over these pre-inputs (or the error they gave at cold start).
    pub fn new(
        pre_inputs: Result<PreInputs, ConfigError>,
        keys: Arc<dyn KeyStore>,
        endpoint: Arc<dyn ValidationEndpoint>,
    ) -> Self {
        let settings = pre_inputs.as_ref().ok().map(|p| p.cache);
        let validations = settings.filter(|c| !c.ttl.is_zero()).map(|c| {
            Cache::builder()
                .max_capacity(c.max_entries)
                .expire_after(PerEntryTtl)
                .build()
        });
        let api_keys = settings.filter(|c| !c.key_ttl.is_zero()).map(|c| {
            Cache::builder()
                .max_capacity(c.max_entries)
                .time_to_live(c.key_ttl)
                .build()
        });
        let context_keys = pre_inputs
            .as_ref()
            .map(|p| p.all_injected_headers().into_values().collect())
            .unwrap_or_default();
        Self {
            pre_inputs,
            keys,
            endpoint,
            validations,
            api_keys,
            context_keys,
        }
    }

    /// The `context` key of every header any region may inject.
    pub fn context_keys(&self) -> &[String] {
        &self.context_keys
    }

    /// The pre-inputs, when they are valid.
    pub fn pre_inputs(&self) -> Option<&PreInputs> {
        self.pre_inputs.as_ref().ok()
    }

    /// Decides one request. Never fails: every problem is a [`Decision::Deny`].
    pub async fn decide(&self, request: &AuthRequest) -> Decision {
        let default_source = ApiKeySource::default();
        let source = self.pre_inputs().map_or(&default_source, |p| &p.api_key);
        let key = match self.api_key(request, source).await {
            Ok(key) => key,
            Err(reason) => {
                return Decision::Deny {
                    principal_id: None,
                    reason,
                };
            }
        };
        let principal_id = key.id.to_string();
        let deny = |reason| Decision::Deny {
            principal_id: Some(principal_id.clone()),
            reason,
        };
        let Some(authorization) = request.header("authorization") else {
            return deny(Deny::AuthorizationHeaderNotPresentInRequest);
        };
        let pre_inputs = match &self.pre_inputs {
            Ok(p) => p,
            Err(ConfigError::ValidationUri(_)) => {
                return deny(Deny::InvalidPreInputConfigurationForTokenValidationURI);
            }
            Err(ConfigError::Invalid { .. }) => return deny(Deny::InvalidPreInputConfiguration),
        };
        let region = pre_inputs
            .region_header
            .as_deref()
            .and_then(|h| request.header(h));
        let Some(endpoint) = pre_inputs.endpoint_for(region) else {
            return deny(Deny::DefaultTokenValidationURINotPresent);
        };
        match self
            .validate(pre_inputs, endpoint, region, authorization)
            .await
        {
            Ok((validated, cached)) => Decision::Allow {
                principal_id,
                headers: validated.headers.clone(),
                block_authorization_header: pre_inputs.block_authorization_header,
                cached,
            },
            Err(reason) => deny(reason),
        }
    }

    async fn api_key(
        &self,
        request: &AuthRequest,
        source: &ApiKeySource,
    ) -> Result<ClientKey, Deny> {
        let presented = request
            .header(&source.header)
            .or_else(|| {
                request
                    .query
                    .get(&source.query)
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
            })
            .ok_or(Deny::ApiKeyNotPresentInRequest)?;
        let id = KeyId::parse(presented).map_err(|_| Deny::ApiKeyNotValid)?;
        let cached = self.api_keys.as_ref().and_then(|c| c.get(&id));
        let key = match cached {
            Some(key) => key,
            None => {
                let key = self
                    .keys
                    .get(&id)
                    .await
                    .map_err(|e| {
                        error!(reason = "key_store_unavailable", error = %e);
                        Deny::ApiKeyCheckUnavailable
                    })?
                    .ok_or(Deny::ApiKeyNotValid)?;
                if let Some(cache) = &self.api_keys {
                    cache.insert(id, key.clone());
                }
                key
            }
        };
        if key.status != KeyStatus::Active {
            return Err(Deny::ApiKeyDisabled);
        }
        Ok(key)
    }

    async fn validate(
        &self,
        pre_inputs: &PreInputs,
        endpoint: &Url,
        region: Option<&str>,
        authorization: &str,
    ) -> Result<(Arc<Validated>, bool), Deny> {
        let now = clock::now_epoch_seconds();
        // Regions that share an endpoint may inject different headers: the cache entry
        // belongs to the injection set too.
        let injection_set = region
            .filter(|r| pre_inputs.region_injections.contains_key(*r))
            .unwrap_or("\0default");
        let cache_key = cache_key(authorization, endpoint, injection_set);
        if let Some(hit) = self.validations.as_ref().and_then(|c| c.get(&cache_key)) {
            if hit.claims.acceptable(&pre_inputs.style, now) {
                return Ok((hit, true));
            }
            if let Some(cache) = &self.validations {
                cache.invalidate(&cache_key);
            }
            return Err(Deny::TokenValidationFails);
        }

        let call = match &pre_inputs.style {
            ValidationStyle::Forward => ValidationCall::Forward { authorization },
            ValidationStyle::Rfc7662 {
                client_id,
                client_secret,
                ..
            } => ValidationCall::Introspect {
                token: bearer_token(authorization),
                client_id,
                client_secret,
            },
        };
        let response = self.endpoint.call(endpoint, call).await.map_err(|e| {
            warn!(reason = "validation_endpoint_unreachable", endpoint = %loggable(endpoint), error = %e);
            Deny::TargetEndpointError
        })?;
        if response.status != 200 {
            warn!(reason = "token_validation_failed", endpoint = %loggable(endpoint), status = response.status);
            return Err(Deny::TokenValidationFails);
        }
        let introspection = matches!(pre_inputs.style, ValidationStyle::Rfc7662 { .. });
        if introspection && response.content != ContentKind::Json {
            warn!(reason = "validation_endpoint_unreachable", endpoint = %loggable(endpoint), error = "introspection answered without JSON");
            return Err(Deny::TargetEndpointError);
        }
        let body = ResponseBody::parse(response.content, &response.body).map_err(|e| {
            warn!(reason = "validation_endpoint_unreachable", endpoint = %loggable(endpoint), error = %e);
            Deny::TargetEndpointError
        })?;
        let claims = match &body {
            ResponseBody::Json(json) => {
                if introspection && json.get("active") != Some(&Value::Bool(true)) {
                    warn!(reason = "token_validation_failed", endpoint = %loggable(endpoint), active = false);
                    return Err(Deny::TokenValidationFails);
                }
                Claims::from_json(json)
            }
            _ => Claims::default(),
        };
        if !claims.acceptable(&pre_inputs.style, now) {
            warn!(reason = "token_validation_failed", endpoint = %loggable(endpoint), claims = "expired, audience or scope");
            return Err(Deny::TokenValidationFails);
        }
        let headers = body.inject(
            pre_inputs.injections_for(region),
            &pre_inputs.xml_namespaces,
        );
        let ttl = claims.exp.map_or(pre_inputs.cache.ttl, |exp| {
            pre_inputs
                .cache
                .ttl
                .min(Duration::from_secs(exp.saturating_sub(now)))
        });
        let validated = Arc::new(Validated {
            headers,
            claims,
            ttl,
        });
        if let Some(cache) = self.validations.as_ref().filter(|_| !ttl.is_zero()) {
            cache.insert(cache_key, validated.clone());
        }
        Ok((validated, false))
    }
}

/// An endpoint as it may be logged: scheme, host, port and path, never user info or a
/// query string, which could carry credentials.
fn loggable(endpoint: &Url) -> String {
    format!(
        "{}{}",
        endpoint.origin().ascii_serialization(),
        endpoint.path()
    )
}

/// The token of a `Bearer` header, or the whole value for any other scheme.
fn bearer_token(authorization: &str) -> &str {
    match authorization.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => authorization,
    }
}

/// A hash of the token and where it was validated: the raw token is never a cache key.
fn cache_key(authorization: &str, endpoint: &Url, injection_set: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [authorization, endpoint.as_str(), injection_set] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_endpoint_never_shows_credentials_or_a_query() {
        let url = Url::parse("https://user:s3cret@idp.example:8443/introspect?key=k").unwrap();
        assert_eq!(loggable(&url), "https://idp.example:8443/introspect");
    }

    #[test]
    fn a_bearer_token_is_taken_from_its_scheme() {
        assert_eq!(bearer_token("Bearer abc"), "abc");
        assert_eq!(bearer_token("bearer  abc "), "abc");
        assert_eq!(bearer_token("abc"), "abc");
        assert_eq!(bearer_token("Basic abc"), "Basic abc");
    }

    #[test]
    fn cache_keys_differ_by_token_endpoint_and_injection_set_and_hide_the_token() {
        let a = Url::parse("https://a.example/introspect").unwrap();
        let b = Url::parse("https://b.example/introspect").unwrap();
        let key = cache_key("Bearer t1", &a, "default");
        assert_ne!(key, cache_key("Bearer t2", &a, "default"));
        assert_ne!(key, cache_key("Bearer t1", &b, "default"));
        assert_ne!(key, cache_key("Bearer t1", &a, "FR"));
        assert_eq!(key, cache_key("Bearer t1", &a, "default"));
    }

    #[test]
    fn claims_are_checked_for_expiry_audience_and_scopes() {
        let style = ValidationStyle::Rfc7662 {
            client_id: "c".into(),
            client_secret: "s".into(),
            audience: Some("api".into()),
            required_scopes: vec!["read".into()],
        };
        let claims = Claims::from_json(
            &serde_json::json!({"exp": 100, "aud": ["x", "api"], "scope": "read write"}),
        );
        assert!(claims.acceptable(&style, 99));
        assert!(!claims.acceptable(&style, 100));
        let wrong_audience =
            Claims::from_json(&serde_json::json!({"aud": "other", "scope": "read"}));
        assert!(!wrong_audience.acceptable(&style, 0));
        let missing_scope = Claims::from_json(&serde_json::json!({"aud": "api", "scope": "write"}));
        assert!(!missing_scope.acceptable(&style, 0));
        assert!(missing_scope.acceptable(&ValidationStyle::Forward, 0));
        let stale = Claims::from_json(&serde_json::json!({"exp": 5}));
        assert!(
            stale.acceptable(&ValidationStyle::Forward, 10),
            "forward: the 200 decides"
        );
    }
}
