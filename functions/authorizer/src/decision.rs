//! The decision, in Mashery's order: API key, `Authorization` header, validation
//! endpoint by region, the validation call, the check, header injection. Plumbing-free:
//! [`crate::apigw`] turns events into an [`AuthRequest`] and a [`Decision`] into an answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use moka::Expiry;
use moka::sync::Cache;
use reqwest::Url;
use sha2::{Digest, Sha256};
use tokengate_shared::{
    ClientKey, KeyId, KeyReader, KeyStatus, TokenAndKeys, TokenHash, TokenLookup, clock,
};

use crate::check::{self, Claims};
use crate::endpoint::{ValidationCall, ValidationEndpoint, loggable};
use crate::error::{Denial, Reason};
use crate::injection::{InjectedHeader, ResponseBody};
use crate::jwt::JwtVerifier;
use crate::pre_inputs::{ApiKeySource, ConfigError, KeyChecker, PreInputs, ValidationStyle};

/// What the authorizer sees of a request, whatever the event's type or payload version.
#[derive(Clone, Default)]
pub struct AuthRequest {
    /// Every value of every header; any spelling of a name is the same name.
    pub headers: HeaderMap,
    /// Every value of every query string parameter.
    pub query: BTreeMap<String, Vec<String>>,
    /// A TOKEN authorizer event: it carries only the token, no headers or query.
    pub token_event: bool,
    /// The id of the API key API Gateway itself checked, when the event says.
    pub gateway_api_key_id: Option<String>,
    /// What makes the event itself unusable (no `methodArn`): denied before anything else.
    pub malformed: Option<Reason>,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: values carry credentials.
        f.debug_struct("AuthRequest")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("query", &self.query.keys().collect::<Vec<_>>())
            .field("token_event", &self.token_event)
            .finish_non_exhaustive()
    }
}

/// The one value of a credential, or why there is not exactly one.
enum Single<'a> {
    None,
    One(&'a str),
    Several,
}

impl AuthRequest {
    /// Every non-empty value of a header, each trimmed. A comma inside a value counts as
    /// two values: payload 2.0 joins repeated headers with commas, and no bearer token,
    /// Basic credential or API key holds one.
    fn credential_values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .get_all(name)
            .into_iter()
            .flat_map(|v| {
                std::str::from_utf8(v.as_bytes())
                    .unwrap_or("\u{fffd}")
                    .split(',')
            })
            .map(str::trim)
    }

    fn single_header(&self, name: &str) -> Single<'_> {
        let mut values = self.credential_values(name);
        match (values.next(), values.next()) {
            (None, _) => Single::None,
            (Some(""), None) => Single::None,
            (Some(one), None) => Single::One(one),
            (Some(_), Some(_)) => Single::Several,
        }
    }
}

/// The answer, before it is shaped for API Gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the request through, with headers to inject.
    Allow {
        /// Who the token authenticates: the key it was issued to (`tokengate` style), or
        /// its `sub` (else `client_id`); the API key's id where the answer names no one.
        /// Never a secret.
        principal_id: String,
        /// Headers for the backend.
        headers: Vec<InjectedHeader>,
        /// Headers not injected because their value was unsafe (for the log).
        dropped: Vec<String>,
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
        denial: Denial,
    },
}

impl Decision {
    /// Whether the request may go on.
    pub fn is_allow(&self) -> bool {
        matches!(self, Self::Allow { .. })
    }

    /// The reason of a denial, `None` for an Allow.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::Allow { .. } => None,
            Self::Deny { denial, .. } => Some(denial.reason),
        }
    }

    /// Whether a cached validation result decided it.
    pub fn cached(&self) -> bool {
        match self {
            Self::Allow { cached, .. } => *cached,
            Self::Deny { denial, .. } => denial.cached,
        }
    }
}

/// What the cache keeps for a validated token: the injected headers and the claims to
/// re-check on every hit.
#[derive(Debug, Clone)]
struct Validated {
    headers: Vec<InjectedHeader>,
    dropped: Vec<String>,
    claims: Claims,
    ttl: Duration,
    /// `tokengate` style: the key the token was issued to, which never changes.
    owner: Option<KeyId>,
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
    keys: Arc<dyn KeyReader>,
    endpoint: Arc<dyn ValidationEndpoint>,
    jwt: Option<JwtVerifier>,
    tokens: Option<Arc<dyn TokenLookup>>,
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
        keys: Arc<dyn KeyReader>,
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
        let jwt = pre_inputs.as_ref().ok().and_then(|p| match &p.style {
            ValidationStyle::Jwt(style) => Some(JwtVerifier::new(p, style, endpoint.clone())),
            _ => None,
        });
        Self {
            pre_inputs,
            keys,
            endpoint,
            jwt,
            tokens: None,
            validations,
            api_keys,
            context_keys,
        }
    }

    /// The same authorizer reading tokengate's own tokens through `tokens`, for the
    /// `tokengate` style.
    pub fn with_token_lookup(self, tokens: Arc<dyn TokenLookup>) -> Self {
        Self {
            tokens: Some(tokens),
            ..self
        }
    }

    /// Prepares the first request at cold start: fetches the JWKS (`jwt` style, unless
    /// `jwks_file` gave the keys), or opens a connection to the default validation URI.
    pub async fn warm_up(&self) {
        if let Some(jwt) = &self.jwt {
            jwt.warm_up().await;
        } else if let Some(default_uri) = self.pre_inputs().and_then(|p| p.default_uri.as_ref()) {
            self.endpoint.warm_up(default_uri).await;
        }
    }

    /// The cache's entry for `key`, counted as a hit or a miss when the cache is on.
    fn cached_validation(&self, key: &[u8; 32]) -> Option<Arc<Validated>> {
        let cache = self.validations.as_ref()?;
        let hit = cache.get(key);
        crate::metrics::cache(hit.is_some());
        hit
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
        let decision = self.decide_uncounted(request).await;
        crate::metrics::decision(decision.reason(), decision.cached());
        decision
    }

    async fn decide_uncounted(&self, request: &AuthRequest) -> Decision {
        if let Some(reason) = request.malformed {
            return Decision::Deny {
                principal_id: None,
                denial: reason.into(),
            };
        }
        if let Some(pre_inputs) = self.pre_inputs()
            && matches!(pre_inputs.style, ValidationStyle::Tokengate { .. })
        {
            return self.decide_tokengate(request, pre_inputs).await;
        }
        let default_source = ApiKeySource::default();
        let source = self.pre_inputs().map_or(&default_source, |p| &p.api_key);
        let principal_id = match self.api_key(request, source).await {
            Ok(principal_id) => principal_id,
            Err(denial) => {
                return Decision::Deny {
                    principal_id: None,
                    denial,
                };
            }
        };
        match self.validate_request(request).await {
            Ok(validated) => Decision::Allow {
                // Who the token authenticates; the API key only identifies.
                principal_id: validated
                    .0
                    .claims
                    .principal()
                    .map_or(principal_id, str::to_owned),
                headers: validated.0.headers.clone(),
                dropped: validated.0.dropped.clone(),
                block_authorization_header: self
                    .pre_inputs()
                    .is_some_and(|p| p.block_authorization_header),
                cached: validated.1,
            },
            Err(denial) => Decision::Deny {
                principal_id: Some(principal_id),
                denial,
            },
        }
    }

    /// The `tokengate` style: the token, its key and the API key read together, in one
    /// round trip, on every decision, so that a revoked token or a disabled key is denied
    /// on the very next request. The cache keeps only what never changes: the key a token
    /// was issued to (so that it joins the same read) and the headers injected from the
    /// token's claims.
    async fn decide_tokengate(&self, request: &AuthRequest, pre_inputs: &PreInputs) -> Decision {
        let deny = |principal_id: Option<String>, denial: Denial| Decision::Deny {
            principal_id,
            denial,
        };
        let presented = match presented_key(request, &pre_inputs.api_key) {
            Ok(presented) => presented,
            Err(denial) => return deny(None, denial),
        };
        let (authorization, token) = match request.single_header("authorization") {
            Single::One(value) if let Some(token) = bearer_token(value) => (value, token),
            unusable => {
                return self
                    .unusable_authorization(request, pre_inputs, unusable)
                    .await;
            }
        };
        let Some(lookup) = &self.tokens else {
            return deny(
                None,
                Denial::with_detail(Reason::ConfigInvalid, "TOKENS_TABLE is not set"),
            );
        };
        let cache_key = cache_key(authorization, TOKENGATE_CACHE, "\0default");
        let hit = self.cached_validation(&cache_key);
        let mut ids = Vec::with_capacity(2);
        if let PresentedKey::Key(id) = &presented {
            ids.push(id.clone());
        }
        if let Some(owner) = hit.as_ref().and_then(|h| h.owner.clone()) {
            ids.push(owner);
        }
        let hash = TokenHash::of(token);
        let found = match lookup.token_and_keys(&hash, &ids).await {
            Ok(found) => found,
            Err(e) => {
                return deny(
                    None,
                    Denial::with_detail(Reason::KeyStoreUnavailable, e.to_string()),
                );
            }
        };
        let (principal_id, api_key) = match checked_api_key(presented, &found) {
            Ok(checked) => checked,
            Err(denial) => return deny(None, denial),
        };
        let bound = match &pre_inputs.style {
            ValidationStyle::Tokengate {
                bound_to_api_key: true,
                ..
            } => api_key.as_ref(),
            _ => None,
        };
        match self
            .check_own_token(found, &ids, hit, pre_inputs, cache_key, bound)
            .await
            .inspect_err(|_| {
                // A denied token's cached headers go; a later Allow computes them again.
                if let Some(cache) = &self.validations {
                    cache.invalidate(&cache_key);
                }
            }) {
            // The principal is who the token authenticates: the key it was issued to.
            Ok(validated) => Decision::Allow {
                principal_id: validated
                    .owner
                    .as_ref()
                    .map_or(principal_id, ToString::to_string),
                headers: validated.headers.clone(),
                dropped: validated.dropped.clone(),
                block_authorization_header: pre_inputs.block_authorization_header,
                cached: false,
            },
            Err(denial) => deny(Some(principal_id), denial),
        }
    }

    /// The denial for an `Authorization` that is missing, repeated or not `Bearer`: in
    /// Mashery's order, an API key's own problem is named first.
    async fn unusable_authorization(
        &self,
        request: &AuthRequest,
        pre_inputs: &PreInputs,
        unusable: Single<'_>,
    ) -> Decision {
        match self.api_key(request, &pre_inputs.api_key).await {
            Err(denial) => Decision::Deny {
                principal_id: None,
                denial,
            },
            Ok(principal_id) => {
                let reason = match unusable {
                    Single::Several => Reason::AuthorizationMultiple,
                    Single::One(_) => Reason::AuthorizationNotBearer,
                    Single::None => Reason::AuthorizationMissing,
                };
                Decision::Deny {
                    principal_id: Some(principal_id),
                    denial: reason.into(),
                }
            }
        }
    }

    /// The token half of the `tokengate` style, after the API key passed.
    async fn check_own_token(
        &self,
        found: TokenAndKeys,
        read: &[KeyId],
        hit: Option<Arc<Validated>>,
        pre_inputs: &PreInputs,
        cache_key: [u8; 32],
        bound: Option<&KeyId>,
    ) -> Result<Arc<Validated>, Denial> {
        let Some(record) = found.token.as_ref() else {
            return Err(Reason::TokenUnknown.into());
        };
        if bound.is_some_and(|api_key| api_key != &record.key_id) {
            return Err(Reason::TokenNotForApiKey.into());
        }
        // Read above unless this is the token's first sighting and its key is not the API
        // key: then, and only then, a second read.
        let fetched;
        let owner = if read.contains(&record.key_id) {
            found.key(&record.key_id)
        } else {
            fetched = self
                .keys
                .get(&record.key_id)
                .await
                .map_err(|e| Denial::with_detail(Reason::KeyStoreUnavailable, e.to_string()))?;
            fetched.as_ref()
        };
        let now = clock::now_epoch_seconds();
        let claims = record
            .active_claims(owner, now)
            .ok_or_else(|| inactive_reason(record, owner, now))?;
        let checked = Claims {
            active: true,
            exp: Some(claims.exp),
            scopes: claims.scope.split(' ').map(str::to_owned).collect(),
            ..Claims::default()
        };
        checked.check(&pre_inputs.style, None, now)?;
        if let Some(hit) = hit {
            return Ok(hit);
        }
        let body = ResponseBody::Json(serde_json::to_value(&claims).unwrap_or_default());
        let injected = body.inject(pre_inputs.injections_for(None), &pre_inputs.xml_namespaces);
        let ttl = pre_inputs
            .cache
            .ttl
            .min(Duration::from_secs(claims.exp.saturating_sub(now)));
        let validated = Arc::new(Validated {
            headers: injected.headers,
            dropped: injected.rejected,
            claims: checked,
            ttl,
            owner: Some(record.key_id.clone()),
        });
        if let Some(cache) = self.validations.as_ref().filter(|_| !ttl.is_zero()) {
            cache.insert(cache_key, validated.clone());
        }
        Ok(validated)
    }

    /// The API key step: the caller's principal id, or why not.
    async fn api_key(
        &self,
        request: &AuthRequest,
        source: &ApiKeySource,
    ) -> Result<String, Denial> {
        let id = match presented_key(request, source)? {
            PresentedKey::CheckedByGateway(principal_id) => return Ok(principal_id),
            PresentedKey::Key(id) => id,
        };
        let key = match self.api_keys.as_ref().and_then(|c| c.get(&id)) {
            Some(key) => key,
            None => {
                let key = self
                    .keys
                    .get(&id)
                    .await
                    .map_err(|e| Denial::with_detail(Reason::KeyStoreUnavailable, e.to_string()))?
                    .ok_or(Denial::of(Reason::ApiKeyUnknown))?;
                if let Some(cache) = &self.api_keys {
                    cache.insert(id, key.clone());
                }
                key
            }
        };
        if key.status != KeyStatus::Active {
            return Err(Reason::ApiKeyDisabled.into());
        }
        Ok(key.id.to_string())
    }

    /// Every step after the API key: the token, the endpoint, the call, the check and the
    /// injection, or a cache hit re-checked.
    async fn validate_request(
        &self,
        request: &AuthRequest,
    ) -> Result<(Arc<Validated>, bool), Denial> {
        let authorization = match request.single_header("authorization") {
            Single::None => return Err(Reason::AuthorizationMissing.into()),
            Single::Several => return Err(Reason::AuthorizationMultiple.into()),
            Single::One(value) => value,
        };
        let pre_inputs = self.pre_inputs.as_ref().map_err(|e| {
            if e.is_about_validation_uri() {
                Denial::of(Reason::ConfigInvalidValidationUri)
            } else {
                Denial::of(Reason::ConfigInvalid)
            }
        })?;
        let region = match pre_inputs.region_header.as_deref() {
            Some(header) => match request.single_header(header) {
                Single::Several => return Err(Reason::RegionMultiple.into()),
                Single::One(region) => Some(region),
                Single::None => None,
            },
            None => None,
        };
        let endpoint = pre_inputs
            .endpoint_for(region)
            .ok_or(Denial::of(Reason::DefaultUriMissing))?;
        self.validate(pre_inputs, endpoint, region, authorization)
            .await
    }

    async fn validate(
        &self,
        pre_inputs: &PreInputs,
        endpoint: &Url,
        region: Option<&str>,
        authorization: &str,
    ) -> Result<(Arc<Validated>, bool), Denial> {
        let now = clock::now_epoch_seconds();
        // Regions that share an endpoint may inject different headers: the cache entry
        // belongs to the injection set too.
        let injection_set = region
            .filter(|r| pre_inputs.region_injections.contains_key(*r))
            .unwrap_or("\0default");
        let cache_key = cache_key(authorization, endpoint.as_str(), injection_set);
        let hit = self.cached_validation(&cache_key);
        if let Some(hit) = hit {
            return match hit.claims.check(&pre_inputs.style, region, now) {
                Ok(()) => Ok((hit, true)),
                Err(mut denial) => {
                    if let Some(cache) = &self.validations {
                        cache.invalidate(&cache_key);
                    }
                    denial.cached = true;
                    Err(denial)
                }
            };
        }

        let at = loggable(endpoint);
        let with_endpoint = |mut denial: Denial| {
            denial.detail = Some(match denial.detail {
                Some(detail) => format!("{at}: {detail}"),
                None => at.clone(),
            });
            denial
        };
        let call = match &pre_inputs.style {
            ValidationStyle::Forward => Some(ValidationCall::Forward { authorization }),
            ValidationStyle::Rfc7662 {
                client_id,
                client_secret,
                ..
            } => Some(ValidationCall::Introspect {
                token: bearer_token(authorization).unwrap_or(authorization),
                client_id,
                client_secret,
            }),
            ValidationStyle::Jwt(_) | ValidationStyle::Tokengate { .. } => None,
        };
        let response;
        let accepted = match (call, &self.jwt) {
            (Some(call), _) => {
                let started = std::time::Instant::now();
                let answer = self.endpoint.call(endpoint, call).await;
                crate::metrics::validation_call(started.elapsed(), answer.is_ok());
                response = answer.map_err(|e| {
                    Denial::with_detail(Reason::EndpointUnreachable, format!("{at}: {e}"))
                })?;
                check::accept(&pre_inputs.style, &response, now).map_err(with_endpoint)?
            }
            (None, Some(jwt)) => {
                let token = bearer_token(authorization)
                    .ok_or(Denial::of(Reason::AuthorizationNotBearer))?;
                let claims = jwt.verify(endpoint, token).await.map_err(with_endpoint)?;
                check::accept_jwt(&pre_inputs.style, claims, region, now)?
            }
            // Built together with the pre-inputs: never, but never a fallback either.
            (None, None) => {
                return Err(Denial::with_detail(
                    Reason::ConfigInvalid,
                    "the jwt verifier is missing",
                ));
            }
        };
        let injected = accepted.body.inject(
            pre_inputs.injections_for(region),
            &pre_inputs.xml_namespaces,
        );
        let claims = accepted.claims;
        let ttl = claims.exp.map_or(pre_inputs.cache.ttl, |exp| {
            pre_inputs
                .cache
                .ttl
                .min(Duration::from_secs(exp.saturating_sub(now)))
        });
        let validated = Arc::new(Validated {
            headers: injected.headers,
            dropped: injected.rejected,
            claims,
            ttl,
            owner: None,
        });
        if let Some(cache) = self.validations.as_ref().filter(|_| !ttl.is_zero()) {
            cache.insert(cache_key, validated.clone());
        }
        Ok((validated, false))
    }
}

/// The API key a request presents, before any store is asked.
enum PresentedKey {
    /// API Gateway checked it: its id is the principal.
    CheckedByGateway(String),
    /// A key id for `KEYS_TABLE`.
    Key(KeyId),
}

fn presented_key(request: &AuthRequest, source: &ApiKeySource) -> Result<PresentedKey, Denial> {
    if source.checked_by == KeyChecker::ApiGateway {
        return Ok(PresentedKey::CheckedByGateway(
            request
                .gateway_api_key_id
                .clone()
                .unwrap_or_else(|| "api-gateway-key".to_owned()),
        ));
    }
    if request.token_event {
        return Err(Reason::AuthorizerTypeUnsupported.into());
    }
    let presented = presented_api_key(request, source)?;
    KeyId::parse(presented)
        .map(PresentedKey::Key)
        .map_err(|_| Denial::of(Reason::ApiKeyUnknown))
}

/// The API key as just read with the token: its principal id, and the key when it is one of
/// ours.
fn checked_api_key(
    presented: PresentedKey,
    found: &TokenAndKeys,
) -> Result<(String, Option<KeyId>), Denial> {
    match presented {
        PresentedKey::CheckedByGateway(principal_id) => Ok((principal_id, None)),
        PresentedKey::Key(id) => match found.key(&id) {
            None => Err(Reason::ApiKeyUnknown.into()),
            Some(key) if key.status != KeyStatus::Active => Err(Reason::ApiKeyDisabled.into()),
            Some(key) => Ok((key.id.to_string(), Some(id))),
        },
    }
}

/// Why a token of ours is not active, given the key it was issued to as just read.
fn inactive_reason(
    record: &tokengate_shared::TokenRecord,
    owner: Option<&ClientKey>,
    now: u64,
) -> Denial {
    let detail = match owner {
        _ if !record.is_live_at(now) => return Reason::TokenExpired.into(),
        None => "its key was deleted",
        Some(key) if key.status != KeyStatus::Active => "its key is disabled",
        Some(_) => "its key's tokens were revoked",
    };
    Denial::with_detail(Reason::TokenKeyInactive, detail)
}

/// The cache key's stand-in for a validation URI in the `tokengate` style.
const TOKENGATE_CACHE: &str = "tokengate:";

/// The one API key of a request: from the header (any spelling, one value) or the query
/// parameter (one value); both may be sent only when they agree.
fn presented_api_key<'a>(
    request: &'a AuthRequest,
    source: &ApiKeySource,
) -> Result<&'a str, Denial> {
    let header = match request.single_header(&source.header) {
        Single::Several => return Err(Reason::ApiKeyMultiple.into()),
        Single::One(value) => Some(value),
        Single::None => None,
    };
    let query: Vec<&str> = request
        .query
        .get(&source.query)
        .into_iter()
        .flatten()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    match (header, query.as_slice()) {
        (None, []) => Err(Reason::ApiKeyMissing.into()),
        (_, [_, _, ..]) => Err(Reason::ApiKeyMultiple.into()),
        (Some(h), [q]) if h != *q => Err(Reason::ApiKeyMultiple.into()),
        (Some(h), _) => Ok(h),
        (None, [q]) => Ok(q),
    }
}

/// The token of a `Bearer` header (the scheme in any case, RFC 6750 §2.1), or `None` for
/// any other scheme or none.
fn bearer_token(authorization: &str) -> Option<&str> {
    match authorization.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Some(token.trim()).filter(|t| !t.is_empty())
        }
        _ => None,
    }
}

/// A hash of the token and where it was validated: the raw token is never a cache key.
fn cache_key(authorization: &str, endpoint: &str, injection_set: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [authorization, endpoint, injection_set] {
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
    fn a_bearer_token_is_taken_from_its_scheme_in_any_case_and_nothing_else_is_one() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        assert_eq!(bearer_token("abc"), None);
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    #[test]
    fn cache_keys_differ_by_token_endpoint_and_injection_set_and_hide_the_token() {
        let a = Url::parse("https://a.example/introspect").unwrap();
        let b = Url::parse("https://b.example/introspect").unwrap();
        let (a, b) = (a.as_str(), b.as_str());
        let key = cache_key("Bearer t1", a, "default");
        assert_ne!(key, cache_key("Bearer t2", a, "default"));
        assert_ne!(key, cache_key("Bearer t1", b, "default"));
        assert_ne!(key, cache_key("Bearer t1", a, "FR"));
        assert_eq!(key, cache_key("Bearer t1", a, "default"));
        assert_ne!(key, cache_key("Bearer t1", TOKENGATE_CACHE, "default"));
    }
}
