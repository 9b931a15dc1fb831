//! Why a request is denied: the named errors callers see, the finer reasons operators
//! search the logs for, and the one mapping between them.

/// The named error of a denial, as the caller sees it. Every one answers 401 through the
/// gateway responses, with a JSON body of `{"error": name, "error_description": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deny {
    /// No API key in the configured header or query parameter.
    ApiKeyNotPresentInRequest,
    /// More than one API key: two values, two spellings, or a header and a query
    /// parameter that differ.
    MultipleApiKeysInRequest,
    /// The API key is not one tokengate knows.
    ApiKeyNotValid,
    /// The API key exists but is disabled.
    ApiKeyDisabled,
    /// The key store could not be asked (fails closed).
    ApiKeyCheckUnavailable,
    /// A TOKEN authorizer event, which carries no API key, while tokengate checks keys.
    UnsupportedAuthorizerType,
    /// `Authorization` absent or empty.
    AuthorizationHeaderNotPresentInRequest,
    /// More than one `Authorization` value.
    MultipleAuthorizationHeadersInRequest,
    /// More than one value of the region code header: two values or two spellings.
    MultipleRegionHeadersInRequest,
    /// `token_validation_uri` missing or not in the required JSON form.
    InvalidPreInputConfigurationForTokenValidationURI,
    /// Another pre-input is wrong (the cold-start log names it).
    InvalidPreInputConfiguration,
    /// The request's region has no URI and there is no `defaultURI`.
    DefaultTokenValidationURINotPresent,
    /// No usable response from the validation endpoint.
    TargetEndpointError,
    /// The validation endpoint answered, but the token is not valid.
    TokenValidationFails,
    /// The token is valid, but lacks the scopes the route needs (`routes`), or no route
    /// matches and `unmatched_routes` is `deny`. RFC 6750 §3.1's name.
    InsufficientScope,
    /// The client key's plan admits no more requests now (`rate_limits: tokengate`).
    RateLimitExceeded,
    /// The client key's plan admits no more requests this day or month.
    QuotaExceeded,
}

impl Deny {
    /// The error's name, as the caller sees it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ApiKeyNotPresentInRequest => "ApiKeyNotPresentInRequest",
            Self::MultipleApiKeysInRequest => "MultipleApiKeysInRequest",
            Self::ApiKeyNotValid => "ApiKeyNotValid",
            Self::ApiKeyDisabled => "ApiKeyDisabled",
            Self::ApiKeyCheckUnavailable => "ApiKeyCheckUnavailable",
            Self::UnsupportedAuthorizerType => "UnsupportedAuthorizerType",
            Self::AuthorizationHeaderNotPresentInRequest => {
                "AuthorizationHeaderNotPresentInRequest"
            }
            Self::MultipleAuthorizationHeadersInRequest => "MultipleAuthorizationHeadersInRequest",
            Self::MultipleRegionHeadersInRequest => "MultipleRegionHeadersInRequest",
            Self::InvalidPreInputConfigurationForTokenValidationURI => {
                "InvalidPreInputConfigurationForTokenValidationURI"
            }
            Self::InvalidPreInputConfiguration => "InvalidPreInputConfiguration",
            Self::DefaultTokenValidationURINotPresent => "DefaultTokenValidationURINotPresent",
            Self::TargetEndpointError => "TargetEndpointError",
            Self::TokenValidationFails => "TokenValidationFails",
            Self::InsufficientScope => "insufficient_scope",
            Self::RateLimitExceeded => "RateLimitExceeded",
            Self::QuotaExceeded => "QuotaExceeded",
        }
    }
}

/// Why exactly a request was denied. Each reason has a stable id for the logs, a named
/// error for the caller, and a description that is true of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No API key.
    ApiKeyMissing,
    /// More than one API key.
    ApiKeyMultiple,
    /// An API key tokengate does not know (or that cannot be a key id).
    ApiKeyUnknown,
    /// A disabled API key.
    ApiKeyDisabled,
    /// The key store failed or timed out.
    KeyStoreUnavailable,
    /// A TOKEN event while tokengate checks API keys.
    AuthorizerTypeUnsupported,
    /// No `Authorization`.
    AuthorizationMissing,
    /// More than one `Authorization` value.
    AuthorizationMultiple,
    /// `Authorization` without the `Bearer` scheme, where a style takes bearer tokens only.
    AuthorizationNotBearer,
    /// More than one region code header value.
    RegionMultiple,
    /// The event names no method (`methodArn`): nothing to allow.
    MethodArnMissing,
    /// The validation endpoint answered 429 or 5xx: it failed, the token was not judged.
    EndpointFailed,
    /// `token_validation_uri` is missing or malformed.
    ConfigInvalidValidationUri,
    /// Another pre-input is wrong.
    ConfigInvalid,
    /// No URI for the region and no `defaultURI`.
    DefaultUriMissing,
    /// The endpoint could not be reached or did not answer in time or in size.
    EndpointUnreachable,
    /// The endpoint answered 200 with a body that is not what it declares (or, for
    /// `rfc7662`, not an introspection response).
    ResponseMalformed,
    /// The endpoint answered, but not 200.
    TokenRejected,
    /// The introspection answer says `active` is not true.
    TokenInactive,
    /// The token's `exp` has passed.
    TokenExpired,
    /// The token's `nbf` or `iat` is in the future.
    TokenNotYetValid,
    /// A JWT without `exp`, which RFC 9068 requires of an access token.
    TokenExpiryMissing,
    /// The token's `iss` is not the configured issuer.
    IssuerMismatch,
    /// The token does not carry the required audience.
    AudienceMismatch,
    /// The token lacks a required scope.
    ScopeMissing,
    /// Not a well-formed JWT: its parts, base64url, JSON or claim types.
    TokenMalformed,
    /// The JWT's `alg` is not allowed (`none` and HS* never are).
    AlgorithmRefused,
    /// The JWT's `typ` is neither `JWT` nor `at+jwt`.
    TokenTypeRefused,
    /// No key of the issuer's key set has the JWT's `kid` and algorithm.
    SigningKeyUnknown,
    /// The JWT's signature does not verify.
    SignatureInvalid,
    /// No key set could be had: no `jwks_file`, the JWKS endpoint down, nothing cached.
    JwksUnavailable,
    /// `tokengate` style: no such token in `TOKENS_TABLE` (never issued, revoked, or
    /// expired and deleted).
    TokenUnknown,
    /// `tokengate` style: the key the token was issued to is disabled or deleted, or has
    /// had its tokens revoked.
    TokenKeyInactive,
    /// `tokengate` style: the token was issued to another key than the API key presented.
    TokenNotForApiKey,
    /// The route needs scopes the token lacks.
    RouteScopeMissing,
    /// No route of the table matches the request, and unmatched routes are denied.
    RouteUnmatched,
    /// Past the plan's rate.
    RateLimited,
    /// Past the plan's quota.
    QuotaExhausted,
}

impl Reason {
    /// The named error the caller sees.
    pub fn error(self) -> Deny {
        match self {
            Self::ApiKeyMissing => Deny::ApiKeyNotPresentInRequest,
            Self::ApiKeyMultiple => Deny::MultipleApiKeysInRequest,
            Self::ApiKeyUnknown => Deny::ApiKeyNotValid,
            Self::ApiKeyDisabled => Deny::ApiKeyDisabled,
            Self::KeyStoreUnavailable => Deny::ApiKeyCheckUnavailable,
            Self::AuthorizerTypeUnsupported => Deny::UnsupportedAuthorizerType,
            Self::AuthorizationMissing => Deny::AuthorizationHeaderNotPresentInRequest,
            Self::AuthorizationMultiple => Deny::MultipleAuthorizationHeadersInRequest,
            Self::RegionMultiple => Deny::MultipleRegionHeadersInRequest,
            Self::ConfigInvalidValidationUri => {
                Deny::InvalidPreInputConfigurationForTokenValidationURI
            }
            Self::ConfigInvalid => Deny::InvalidPreInputConfiguration,
            Self::DefaultUriMissing => Deny::DefaultTokenValidationURINotPresent,
            Self::EndpointUnreachable
            | Self::EndpointFailed
            | Self::ResponseMalformed
            | Self::JwksUnavailable => Deny::TargetEndpointError,
            Self::MethodArnMissing => Deny::UnsupportedAuthorizerType,
            Self::AuthorizationNotBearer
            | Self::TokenRejected
            | Self::TokenInactive
            | Self::TokenExpired
            | Self::TokenNotYetValid
            | Self::TokenExpiryMissing
            | Self::IssuerMismatch
            | Self::AudienceMismatch
            | Self::ScopeMissing
            | Self::TokenMalformed
            | Self::AlgorithmRefused
            | Self::TokenTypeRefused
            | Self::SigningKeyUnknown
            | Self::SignatureInvalid
            | Self::TokenUnknown
            | Self::TokenKeyInactive
            | Self::TokenNotForApiKey => Deny::TokenValidationFails,
            Self::RouteScopeMissing | Self::RouteUnmatched => Deny::InsufficientScope,
            Self::RateLimited => Deny::RateLimitExceeded,
            Self::QuotaExhausted => Deny::QuotaExceeded,
        }
    }

    /// The stable id logged with the decision.
    pub fn id(self) -> &'static str {
        match self {
            Self::ApiKeyMissing => "api_key_missing",
            Self::ApiKeyMultiple => "api_key_multiple",
            Self::ApiKeyUnknown => "api_key_unknown",
            Self::ApiKeyDisabled => "api_key_disabled",
            Self::KeyStoreUnavailable => "key_store_unavailable",
            Self::AuthorizerTypeUnsupported => "authorizer_type_unsupported",
            Self::AuthorizationMissing => "authorization_header_missing",
            Self::AuthorizationMultiple => "authorization_header_multiple",
            Self::AuthorizationNotBearer => "authorization_scheme_not_bearer",
            Self::RegionMultiple => "region_header_multiple",
            Self::MethodArnMissing => "method_arn_missing",
            Self::EndpointFailed => "validation_endpoint_failed",
            Self::ConfigInvalidValidationUri => "config_invalid_validation_uri",
            Self::ConfigInvalid => "config_invalid",
            Self::DefaultUriMissing => "default_uri_missing",
            Self::EndpointUnreachable => "validation_endpoint_unreachable",
            Self::ResponseMalformed => "validation_response_malformed",
            Self::TokenRejected => "token_rejected",
            Self::TokenInactive => "token_inactive",
            Self::TokenExpired => "token_expired",
            Self::TokenNotYetValid => "token_not_yet_valid",
            Self::TokenExpiryMissing => "token_expiry_missing",
            Self::IssuerMismatch => "token_issuer_mismatch",
            Self::AudienceMismatch => "token_audience_mismatch",
            Self::ScopeMissing => "token_scope_missing",
            Self::TokenMalformed => "token_malformed",
            Self::AlgorithmRefused => "token_algorithm_refused",
            Self::TokenTypeRefused => "token_type_refused",
            Self::SigningKeyUnknown => "token_signing_key_unknown",
            Self::SignatureInvalid => "token_signature_invalid",
            Self::JwksUnavailable => "jwks_unavailable",
            Self::TokenUnknown => "token_unknown",
            Self::TokenKeyInactive => "token_key_inactive",
            Self::TokenNotForApiKey => "token_not_for_api_key",
            Self::RouteScopeMissing => "route_scope_missing",
            Self::RouteUnmatched => "route_unmatched",
            Self::RateLimited => "rate_limit_exceeded",
            Self::QuotaExhausted => "quota_exceeded",
        }
    }

    /// The human description (Mashery's causes, for Mashery's five errors).
    pub fn description(self) -> &'static str {
        match self {
            Self::ApiKeyMissing => "API key is not present in the request.",
            Self::ApiKeyMultiple => {
                "More than one API key is present in the request; send exactly one."
            }
            Self::ApiKeyUnknown => "API key is not valid.",
            Self::ApiKeyDisabled => "API key is disabled.",
            Self::KeyStoreUnavailable => "API key could not be checked. Retry shortly.",
            Self::AuthorizerTypeUnsupported => {
                "This authorizer must be attached as a REQUEST authorizer: a TOKEN authorizer \
                 receives no API key. Alternatively let API Gateway check API keys \
                 (api_key.checked_by: api_gateway)."
            }
            Self::AuthorizationMissing => {
                "Either authorization header not present in request or its value is not defined in the request."
            }
            Self::AuthorizationMultiple => {
                "More than one Authorization header is present in the request; send exactly one."
            }
            Self::AuthorizationNotBearer => {
                "The Authorization header must carry a Bearer token (RFC 6750)."
            }
            Self::RegionMultiple => {
                "More than one region code header is present in the request; send exactly one."
            }
            Self::MethodArnMissing => "The authorizer event names no method (methodArn).",
            Self::EndpointFailed => {
                "The OAuth Token Validation Endpoint failed (429 or 5xx); retry shortly."
            }
            Self::ConfigInvalidValidationUri => {
                "Either token validation URI is not defined in pre-inputs or its value is not in proper required json format."
            }
            Self::ConfigInvalid => "The authorizer's pre-input configuration is invalid.",
            Self::DefaultUriMissing => {
                "Default token validation URI not provided in pre-inputs configuration."
            }
            Self::EndpointUnreachable | Self::ResponseMalformed => {
                "Unable to retrieve response from OAuth Token Validation Endpoint."
            }
            Self::TokenRejected => {
                "Response code 200 not retrieved from OAuth Token Validation Endpoint."
            }
            Self::TokenInactive => {
                "The OAuth Token Validation Endpoint reports the token inactive."
            }
            Self::TokenExpired => "The token has expired.",
            Self::TokenNotYetValid => "The token is not valid yet (nbf or iat is in the future).",
            Self::TokenExpiryMissing => {
                "The token has no expiry (exp), which an access token must carry."
            }
            Self::IssuerMismatch => "The token was not issued by the expected issuer (iss).",
            Self::AudienceMismatch => "The token is not meant for this API (aud).",
            Self::ScopeMissing => "The token lacks a required scope.",
            Self::TokenMalformed => "The token is not a well-formed JWT.",
            Self::AlgorithmRefused => "The token's signing algorithm (alg) is not accepted.",
            Self::TokenTypeRefused => "The token's type (typ) is not a JWT access token.",
            Self::SigningKeyUnknown => "The token's signing key is not in the issuer's key set.",
            Self::SignatureInvalid => "The token's signature is not valid.",
            Self::JwksUnavailable => {
                "Unable to retrieve the signing keys (JWKS) from the OAuth Token Validation Endpoint."
            }
            Self::TokenUnknown => "The token is unknown: never issued, revoked, or expired.",
            Self::TokenKeyInactive => {
                "The client key the token was issued to is disabled or deleted, or has revoked its tokens."
            }
            Self::TokenNotForApiKey => "The token was not issued to this API key.",
            Self::RouteScopeMissing => "The token lacks the scopes this route requires.",
            Self::RouteUnmatched => {
                "No route of this API's table matches the request, and unmatched routes are denied."
            }
            Self::RateLimited => "The client's rate limit is exceeded.",
            Self::QuotaExhausted => "The client's quota is exhausted.",
        }
    }
}

/// A denial as the decision made it: the reason, what the log should add about it (the
/// endpoint's status, the transport error; never a token), and whether the cache decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Why.
    pub reason: Reason,
    /// Detail for the log line only; never sent to the caller.
    pub detail: Option<String>,
    /// Whether a cached validation result decided it.
    pub cached: bool,
    /// Past a plan's limit: which, and the wait.
    pub limited: Option<Box<Limited>>,
}

/// The limit a request is past: the plan, its policy as a person reads it, and the seconds
/// until the window ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// The key's plan.
    pub plan: tokengate_shared::plan::PlanName,
    /// `100 per 2 s`, `100000/day`.
    pub policy: String,
    /// Seconds to wait.
    pub retry_after: u64,
}

impl Denial {
    /// A denial with nothing more to say.
    pub fn of(reason: Reason) -> Self {
        Self {
            reason,
            detail: None,
            cached: false,
            limited: None,
        }
    }

    /// A denial with detail for the log.
    pub fn with_detail(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: Some(detail.into()),
            cached: false,
            limited: None,
        }
    }

    /// A request past a plan's limit.
    pub fn limited(reason: Reason, limited: Limited) -> Self {
        Self {
            reason,
            detail: Some(format!("plan {}: {}", limited.plan, limited.policy)),
            cached: false,
            limited: Some(Box::new(limited)),
        }
    }
}

impl From<Reason> for Denial {
    fn from(reason: Reason) -> Self {
        Self::of(reason)
    }
}
