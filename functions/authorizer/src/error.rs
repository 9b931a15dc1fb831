//! Why a request is denied: the named errors, their messages and reason ids, in one place.

/// A denial. Every one answers 401 through the gateway responses, with a JSON body of
/// `{"error": name, "error_description": message}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deny {
    /// No API key in the configured header or query parameter.
    ApiKeyNotPresentInRequest,
    /// The API key is not one tokengate knows.
    ApiKeyNotValid,
    /// The API key exists but is disabled.
    ApiKeyDisabled,
    /// The key store could not be asked (fails closed).
    ApiKeyCheckUnavailable,
    /// `Authorization` absent or empty.
    AuthorizationHeaderNotPresentInRequest,
    /// `token_validation_uri` missing or not in the required JSON form.
    InvalidPreInputConfigurationForTokenValidationURI,
    /// Another pre-input is wrong (the log names it).
    InvalidPreInputConfiguration,
    /// The request's region has no URI and there is no `defaultURI`.
    DefaultTokenValidationURINotPresent,
    /// No usable response from the validation endpoint.
    TargetEndpointError,
    /// The validation endpoint answered, but not 200 (or, in `rfc7662`, not active).
    TokenValidationFails,
}

impl Deny {
    /// The error's name, as the caller sees it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ApiKeyNotPresentInRequest => "ApiKeyNotPresentInRequest",
            Self::ApiKeyNotValid => "ApiKeyNotValid",
            Self::ApiKeyDisabled => "ApiKeyDisabled",
            Self::ApiKeyCheckUnavailable => "ApiKeyCheckUnavailable",
            Self::AuthorizationHeaderNotPresentInRequest => {
                "AuthorizationHeaderNotPresentInRequest"
            }
            Self::InvalidPreInputConfigurationForTokenValidationURI => {
                "InvalidPreInputConfigurationForTokenValidationURI"
            }
            Self::InvalidPreInputConfiguration => "InvalidPreInputConfiguration",
            Self::DefaultTokenValidationURINotPresent => "DefaultTokenValidationURINotPresent",
            Self::TargetEndpointError => "TargetEndpointError",
            Self::TokenValidationFails => "TokenValidationFails",
        }
    }

    /// The human description (Mashery's causes, for Mashery's five).
    pub fn message(self) -> &'static str {
        match self {
            Self::ApiKeyNotPresentInRequest => "API key is not present in the request.",
            Self::ApiKeyNotValid => "API key is not valid.",
            Self::ApiKeyDisabled => "API key is disabled.",
            Self::ApiKeyCheckUnavailable => "API key could not be checked. Retry shortly.",
            Self::AuthorizationHeaderNotPresentInRequest => {
                "Either authorization header not present in request or its value is not defined in the request."
            }
            Self::InvalidPreInputConfigurationForTokenValidationURI => {
                "Either token validation URI is not defined in pre-inputs or its value is not in proper required json format."
            }
            Self::InvalidPreInputConfiguration => {
                "The authorizer's pre-input configuration is invalid."
            }
            Self::DefaultTokenValidationURINotPresent => {
                "Default token validation URI not provided in pre-inputs configuration."
            }
            Self::TargetEndpointError => {
                "Unable to retrieve response from OAuth Token Validation Endpoint."
            }
            Self::TokenValidationFails => {
                "Response code 200 not retrieved from OAuth Token Validation Endpoint."
            }
        }
    }

    /// The stable id logged with the decision.
    pub fn reason_id(self) -> &'static str {
        match self {
            Self::ApiKeyNotPresentInRequest => "api_key_missing",
            Self::ApiKeyNotValid => "api_key_unknown",
            Self::ApiKeyDisabled => "api_key_disabled",
            Self::ApiKeyCheckUnavailable => "key_store_unavailable",
            Self::AuthorizationHeaderNotPresentInRequest => "authorization_header_missing",
            Self::InvalidPreInputConfigurationForTokenValidationURI => {
                "config_invalid_validation_uri"
            }
            Self::InvalidPreInputConfiguration => "config_invalid",
            Self::DefaultTokenValidationURINotPresent => "default_uri_missing",
            Self::TargetEndpointError => "validation_endpoint_unreachable",
            Self::TokenValidationFails => "token_validation_failed",
        }
    }

    /// Every denial, for documentation and tests.
    pub const ALL: [Deny; 10] = [
        Self::ApiKeyNotPresentInRequest,
        Self::ApiKeyNotValid,
        Self::ApiKeyDisabled,
        Self::ApiKeyCheckUnavailable,
        Self::AuthorizationHeaderNotPresentInRequest,
        Self::InvalidPreInputConfigurationForTokenValidationURI,
        Self::InvalidPreInputConfiguration,
        Self::DefaultTokenValidationURINotPresent,
        Self::TargetEndpointError,
        Self::TokenValidationFails,
    ];
}
