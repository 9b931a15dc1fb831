//! The decision, in Mashery's order: API key, `Authorization` header, then the token, by
//! the configured style. Plumbing-free: [`crate::apigw`] turns events into an
//! [`AuthRequest`] and a [`Decision`] into an answer.
//!
//! One pipeline for every style. The styles differ only where a style must: how a token
//! is validated (`remote`: at the validation endpoint or against its JWKS; `own_tokens`:
//! in tokengate's token table) and what a cache entry keeps.

use std::sync::Arc;

use moka::sync::Cache;
use tokengate_shared::plan::{PlanName, usage_identifier as usage_identifier_of};
use tokengate_shared::{ClientKey, KeyId, KeyReader, KeyStatus, TokenLookup};

use crate::endpoint::ValidationEndpoint;
use crate::error::{Denial, Reason};
use crate::injection::InjectedHeader;
use crate::jwt::JwtVerifier;
use crate::metering::Metering;
use crate::moment::Moment;
use crate::pre_inputs::{
    ApiKeySource, ConfigError, JwtStyle, PreInputs, RateLimits, ValidationStyle,
};
pub use crate::request::AuthRequest;
use crate::request::{PresentedKey, RouteAt, Single, bearer_token, presented_key};
use crate::routes::{RouteGrants, RouteTable, Verdict};
use crate::validations::{Validated, Validations};

mod own_tokens;
mod recent;
mod remote;

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
        /// With `routes`: what the token may do on every route, for a REST API's policy.
        routes: Option<Box<RouteGrants>>,
        /// `rate_limits: api_gateway`: the API key value of the client key's usage plan
        /// (`usageIdentifierKey`).
        usage_identifier: Option<String>,
    },
    /// Refuse it.
    Deny {
        /// The API key's id when it was known.
        principal_id: Option<String>,
        /// Why.
        denial: Denial,
        /// With `routes`, when the token is valid but not for this route: the Allow it has
        /// on the routes it may call, which a REST API's cached policy must keep.
        elsewhere: Option<Box<Decision>>,
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

/// The authorizer: configuration, the key store, the validation endpoint and the caches.
pub struct Authorizer {
    pre_inputs: Result<PreInputs, ConfigError>,
    keys: Arc<dyn KeyReader>,
    endpoint: Arc<dyn ValidationEndpoint>,
    jwt: Option<JwtVerifier>,
    tokens: Option<Arc<dyn TokenLookup>>,
    recent: recent::RecentReads,
    validations: Validations,
    api_keys: Option<Cache<KeyId, ClientKey>>,
    context_keys: Vec<String>,
    metering: Option<Metering>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("pre_inputs", &self.pre_inputs.as_ref().map(|_| "valid"))
            .finish_non_exhaustive()
    }
}

/// What a style's validation came to, with the API key's principal once it was checked,
/// and the client key whose plan counts the request, with the plan's name.
struct Validation {
    principal_id: Option<String>,
    result: Result<(Arc<Validated>, bool), Denial>,
    metered: Option<(KeyId, PlanName)>,
}

impl Validation {
    fn denied(principal_id: Option<String>, denial: Denial) -> Self {
        Self {
            principal_id,
            result: Err(denial),
            metered: None,
        }
    }
}

/// A key's plan, with the key, when it has one.
fn metered(key: Option<&ClientKey>) -> Option<(KeyId, PlanName)> {
    let key = key?;
    Some((key.id.clone(), key.grants.plan.clone()?))
}

impl Authorizer {
    /// An authorizer over these pre-inputs (or the error they gave at cold start).
    pub fn new(
        pre_inputs: Result<PreInputs, ConfigError>,
        keys: Arc<dyn KeyReader>,
        endpoint: Arc<dyn ValidationEndpoint>,
    ) -> Self {
        let settings = pre_inputs.as_ref().ok().map(|p| p.cache);
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
        let jwt =
            pre_inputs.as_ref().ok().and_then(|p| match &p.style {
                ValidationStyle::Jwt(style) => Some(JwtVerifier::new(p, style, endpoint.clone())),
                ValidationStyle::Tokengate { .. } if p.default_uri.is_some() => Some(
                    JwtVerifier::new(p, &JwtStyle::own_tokens(), endpoint.clone()),
                ),
                _ => None,
            });
        let lag = match pre_inputs.as_ref().map(|p| &p.style) {
            Ok(ValidationStyle::Tokengate {
                revocation_lag_seconds,
                ..
            }) => revocation_lag_seconds.unwrap_or(0),
            _ => 0,
        };
        Self {
            pre_inputs,
            keys,
            endpoint,
            jwt,
            tokens: None,
            recent: recent::RecentReads::new(lag),
            validations: Validations::new(settings),
            api_keys,
            context_keys,
            metering: None,
        }
    }

    /// The same authorizer holding keys to their plans (`rate_limits: tokengate`).
    pub fn with_metering(self, metering: Metering) -> Self {
        Self {
            metering: Some(metering),
            ..self
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

    /// The `context` key of every header any region may inject.
    pub fn context_keys(&self) -> &[String] {
        &self.context_keys
    }

    /// The pre-inputs, when they are valid.
    pub fn pre_inputs(&self) -> Option<&PreInputs> {
        self.pre_inputs.as_ref().ok()
    }

    /// Decides one request at `now`. Never fails: every problem is a [`Decision::Deny`].
    pub async fn decide(&self, request: &AuthRequest, now: Moment) -> Decision {
        let decision = self.decide_uncounted(request, now).await;
        crate::metrics::decision(decision.reason(), decision.cached());
        decision
    }

    async fn decide_uncounted(&self, request: &AuthRequest, now: Moment) -> Decision {
        let validation = self.validation(request, now).await;
        match validation.result {
            Ok((validated, cached)) => {
                let routes = self.pre_inputs().and_then(|p| p.routes.clone());
                let allow = self.allow(validation.principal_id, &validated, cached);
                let decision = match routes {
                    Some(table) => on_route(request, table, &validated, allow),
                    None => allow,
                };
                match validation.metered {
                    Some((key, plan)) if decision.is_allow() => {
                        self.held_to_plan(decision, &key, &plan, now).await
                    }
                    _ => decision,
                }
            }
            Err(denial) => Decision::Deny {
                principal_id: validation.principal_id,
                denial,
                elsewhere: None,
            },
        }
    }

    fn allow(&self, principal_id: Option<String>, validated: &Validated, cached: bool) -> Decision {
        Decision::Allow {
            // Who the token authenticates: its key, else its claims; the API key only
            // identifies.
            principal_id: validated
                .owner
                .as_ref()
                .map(ToString::to_string)
                .or_else(|| validated.claims.principal().map(str::to_owned))
                .or(principal_id)
                .unwrap_or_default(),
            headers: validated.headers.clone(),
            dropped: validated.dropped.clone(),
            block_authorization_header: self
                .pre_inputs()
                .is_some_and(|p| p.block_authorization_header),
            cached,
            routes: None,
            usage_identifier: None,
        }
    }

    /// An Allow of a key with a plan, as `rate_limits` says: named to API Gateway's usage
    /// plan, or counted here and denied past a limit.
    async fn held_to_plan(
        &self,
        mut allow: Decision,
        key: &KeyId,
        plan: &PlanName,
        now: Moment,
    ) -> Decision {
        match self.pre_inputs().and_then(|p| p.rate_limits) {
            Some(RateLimits::ApiGateway) => {
                if let Decision::Allow {
                    usage_identifier, ..
                } = &mut allow
                {
                    *usage_identifier = Some(usage_identifier_of(key));
                }
                allow
            }
            Some(RateLimits::Tokengate) => {
                let Some(metering) = &self.metering else {
                    return allow;
                };
                match metering.admit(key, plan, now).await {
                    Ok(()) => allow,
                    Err(denial) => Decision::Deny {
                        principal_id: Some(key.to_string()),
                        denial,
                        elsewhere: None,
                    },
                }
            }
            None => allow,
        }
    }

    /// Mashery's order: the event, the API key as presented, a usable `Authorization`
    /// (else the API key's own problem first), then the style's validation.
    async fn validation(&self, request: &AuthRequest, now: Moment) -> Validation {
        if let Some(reason) = request.malformed {
            return Validation::denied(None, reason.into());
        }
        let presented = match self.pre_inputs() {
            Some(pre_inputs) => presented_key(request, &pre_inputs.api_key),
            // Invalid pre-inputs: the API key is still read where it usually is, so that
            // its own problems keep their names.
            None => presented_key(request, &ApiKeySource::default()),
        };
        let presented = match presented {
            Ok(presented) => presented,
            Err(denial) => return Validation::denied(None, denial),
        };
        let style = self.pre_inputs().map(|p| &p.style);
        let authorization = match usable_authorization(request, style) {
            Ok(authorization) => authorization,
            Err(reason) => {
                return match self.api_key(&presented).await {
                    Ok(principal_id) => Validation::denied(Some(principal_id), reason.into()),
                    Err(denial) => Validation::denied(None, denial),
                };
            }
        };
        match self.pre_inputs() {
            Some(pre_inputs) if matches!(pre_inputs.style, ValidationStyle::Tokengate { .. }) => {
                self.own_token(presented, authorization, pre_inputs, now)
                    .await
            }
            _ => self.remote(request, &presented, authorization, now).await,
        }
    }

    /// The API key step on its own: the caller's principal id, or why not.
    async fn api_key(&self, presented: &PresentedKey) -> Result<String, Denial> {
        self.api_key_and_plan(presented).await.map(|(id, _)| id)
    }

    /// The same, with the key's plan.
    async fn api_key_and_plan(
        &self,
        presented: &PresentedKey,
    ) -> Result<(String, Option<(KeyId, PlanName)>), Denial> {
        let id = match presented {
            PresentedKey::CheckedByGateway(principal_id) => {
                return Ok((principal_id.clone(), None));
            }
            PresentedKey::Key(id) => id,
        };
        if let Some(key) = self.api_keys.as_ref().and_then(|c| c.get(id)) {
            return api_key_rule(Some(&key)).map(|p| (p, metered(Some(&key))));
        }
        let key = self
            .keys
            .get(id)
            .await
            .map_err(|e| Denial::with_detail(Reason::KeyStoreUnavailable, e.to_string()))?;
        if let (Some(cache), Some(key)) = (&self.api_keys, &key) {
            cache.insert(id.clone(), key.clone());
        }
        api_key_rule(key.as_ref()).map(|p| (p, metered(key.as_ref())))
    }
}

/// A valid token's decision on the request's own route, with what it may do on every
/// route: allowed when every route matching the request is satisfied.
fn on_route(
    request: &AuthRequest,
    table: Arc<RouteTable>,
    validated: &Validated,
    mut allow: Decision,
) -> Decision {
    let satisfied = table.satisfied(&|scope| validated.claims.holds(scope));
    let verdict = match &request.route {
        RouteAt::MethodArn(arn) => table.verdict_for_arn(arn, &satisfied),
        RouteAt::RouteKey(key) => table.verdict_for_route_key(key, &satisfied),
        RouteAt::Unknown => Verdict::Unmatched,
    };
    if let Decision::Allow { routes, .. } = &mut allow {
        *routes = Some(Box::new(RouteGrants { table, satisfied }));
    }
    let denial = match verdict {
        Verdict::Allowed => return allow,
        Verdict::Unmatched => Denial::of(Reason::RouteUnmatched),
        Verdict::Missing(need) => Denial::with_detail(Reason::RouteScopeMissing, need),
    };
    let principal_id = match &allow {
        Decision::Allow { principal_id, .. } => Some(principal_id.clone()),
        Decision::Deny { .. } => None,
    };
    Decision::Deny {
        principal_id,
        denial,
        elsewhere: Some(Box::new(allow)),
    }
}

/// The one rule for an API key, however it was read: it exists, and it is active.
fn api_key_rule(key: Option<&ClientKey>) -> Result<String, Denial> {
    match key {
        None => Err(Reason::ApiKeyUnknown.into()),
        Some(key) if key.status != KeyStatus::Active => Err(Reason::ApiKeyDisabled.into()),
        Some(key) => Ok(key.id.to_string()),
    }
}

/// The one `Authorization` value, when the style can use it: `jwt` and `tokengate` take
/// only a `Bearer` token; `forward` and `rfc7662` take the value as it is.
fn usable_authorization<'a>(
    request: &'a AuthRequest,
    style: Option<&ValidationStyle>,
) -> Result<&'a str, Reason> {
    let bearer_only = matches!(
        style,
        Some(ValidationStyle::Jwt(_) | ValidationStyle::Tokengate { .. })
    );
    match request.single_header("authorization") {
        Single::None => Err(Reason::AuthorizationMissing),
        Single::Several => Err(Reason::AuthorizationMultiple),
        Single::One(value) if bearer_only && bearer_token(value).is_none() => {
            Err(Reason::AuthorizationNotBearer)
        }
        Single::One(value) => Ok(value),
    }
}
