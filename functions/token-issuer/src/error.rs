//! Every way the token endpoint can answer other than success, mapped to a status and a
//! body in exactly one place.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::json;
use tokengate_shared::StoreError;
use tokengate_shared::signing::SigningError;

use crate::routes::Contract;

/// Why credentials were refused. Only logged: every case answers the same 401 body. Key
/// ids are identifiers, not secrets (like user names): the secret is what authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// The key id is not one the store could hold, or no key has it.
    UnknownKey,
    /// The key exists, but the secret is not its secret.
    WrongSecret,
    /// The key exists and the secret matches, but the key is disabled.
    DisabledKey,
    /// The key is not valid for the request's `X-From-Code`.
    CodeNotAllowed,
    /// At INN-Reach's path: the key does not hold `innreach_tp` (its scopes are others).
    ScopeNotHeld,
}

impl AuthFailure {
    /// The failure's name in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownKey => "unknown_key",
            Self::WrongSecret => "wrong_secret",
            Self::DisabledKey => "disabled_key",
            Self::CodeNotAllowed => "code_not_allowed",
            Self::ScopeNotHeld => "scope_not_held",
        }
    }
}

/// The token endpoint's errors.
#[derive(Debug, thiserror::Error)]
pub enum TokenEndpointError {
    /// A required header or parameter is missing or malformed: 400 `invalid_request`,
    /// with a description naming the part. Descriptions never echo what the client sent.
    #[error("{0}")]
    InvalidRequest(String),
    /// No client credentials where a client must authenticate (introspection): 401
    /// `invalid_client` with `WWW-Authenticate`, as RFC 7662 §2.1 and RFC 6749 §5.2 say.
    #[error("client authentication required")]
    ClientAuthenticationRequired,
    /// Credentials were refused at INN-Reach's path: 401 `invalid_token`, as INN-Reach
    /// specifies.
    #[error("token authentication failed ({})", .0.as_str())]
    AuthenticationFailed(AuthFailure),
    /// Credentials were refused at a standard route: 401 `invalid_client` with
    /// `WWW-Authenticate`, as RFC 6749 §5.2 says and OAuth client libraries expect.
    #[error("client authentication failed ({})", .0.as_str())]
    ClientAuthenticationFailed(AuthFailure),
    /// A `grant_type` other than `client_credentials` at `/oauth2/token`: 400
    /// `unsupported_grant_type`.
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// A `scope` that is malformed, or that the client does not hold: 400 `invalid_scope`,
    /// the description naming it.
    #[error("invalid scope")]
    InvalidScope(String),
    /// A `resource` or `audience` that is malformed, or not one of the client's audiences:
    /// 400 `invalid_target` (RFC 8707 §2), the description naming it.
    #[error("invalid target")]
    InvalidTarget(String),
    /// An authenticated client asked for what it may not have: 400
    /// `unauthorized_client` (a token for a code its key is not valid for, or the
    /// revocation of another client's token, RFC 7009 §2.1).
    #[error("unauthorized client: {0}")]
    UnauthorizedClient(&'static str),
    /// No such route: 404.
    #[error("no such route")]
    NotFound,
    /// The route exists but takes only the method given: 405.
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    /// A failed authentication past the limit of its key or its source address: 429 with
    /// `Retry-After`. Only failures are throttled: a right secret is never refused.
    #[error("throttled for {retry_after} s")]
    Throttled {
        /// Seconds until the window closes.
        retry_after: u64,
        /// The key id as sent (an identifier, never a secret), for the log.
        key: String,
    },
    /// The client's plan allows no more tokens now (`plans create --tokens`): 429 with
    /// `Retry-After`, the description naming the limit.
    #[error("token limit {policy} reached for {retry_after} s")]
    TokenLimitExceeded {
        /// Seconds until the window ends.
        retry_after: u64,
        /// The limit, `1000/hour`.
        policy: String,
        /// The description: the limit and the wait.
        description: String,
    },
    /// No `ISSUER_URL`, and no domain in the request context to derive the metadata's
    /// issuer from: 500, naming the setting.
    #[error("issuer unknown")]
    IssuerUnknown,
    /// A store failed: 503, with detail in the log only.
    #[error("store unavailable: {0}")]
    Unavailable(#[from] StoreError),
    /// A JWT could not be signed, or the keys published: 503 when KMS or the signing keys
    /// table failed, 500 when there is no usable key. Detail in the log only.
    #[error("signing: {0}")]
    Signing(#[from] SigningError),
}

impl TokenEndpointError {
    /// An `invalid_request` with the given description.
    pub fn invalid(description: impl Into<String>) -> Self {
        Self::InvalidRequest(description.into())
    }

    /// The same error as the standard routes give it: refused credentials are
    /// `invalid_client`, and a key not valid for the `X-From-Code` is `unauthorized_client`
    /// (the client did authenticate).
    pub fn under(self, contract: Contract) -> Self {
        match (contract, self) {
            (Contract::Standard, Self::AuthenticationFailed(AuthFailure::CodeNotAllowed)) => {
                Self::UnauthorizedClient("The client key is not valid for the X-From-Code system.")
            }
            (Contract::Standard, Self::AuthenticationFailed(failure)) => {
                Self::ClientAuthenticationFailed(failure)
            }
            (_, other) => other,
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_)
            | Self::UnsupportedGrantType
            | Self::InvalidScope(_)
            | Self::InvalidTarget(_)
            | Self::UnauthorizedClient(_) => StatusCode::BAD_REQUEST,
            Self::AuthenticationFailed(_)
            | Self::ClientAuthenticationFailed(_)
            | Self::ClientAuthenticationRequired => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Throttled { .. } | Self::TokenLimitExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Unavailable(_) | Self::Signing(SigningError::Kms(_) | SigningError::Store(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::IssuerUnknown | Self::Signing(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The OAuth 2.0 error code and the description the body carries.
    pub fn code_and_description(&self) -> (&'static str, &str) {
        match self {
            Self::InvalidRequest(description) => ("invalid_request", description.as_str()),
            Self::AuthenticationFailed(_) => ("invalid_token", "Token authentication failed"),
            Self::ClientAuthenticationFailed(_) => {
                ("invalid_client", "Client authentication failed.")
            }
            Self::ClientAuthenticationRequired => (
                "invalid_client",
                "Client authentication is required: HTTP Basic credentials of a client key, or client_id and client_secret in the form body.",
            ),
            Self::UnsupportedGrantType => (
                "unsupported_grant_type",
                "The grant_type parameter must be client_credentials.",
            ),
            Self::InvalidScope(description) => ("invalid_scope", description.as_str()),
            Self::InvalidTarget(description) => ("invalid_target", description.as_str()),
            Self::UnauthorizedClient(description) => ("unauthorized_client", description),
            Self::NotFound => (
                "not_found",
                "No such route. The routes are POST /innreach/v2/oauth2/token, POST /oauth2/token, POST /oauth2/introspect, POST /oauth2/revoke, GET /.well-known/oauth-authorization-server and GET /.well-known/jwks.json.",
            ),
            Self::MethodNotAllowed("GET") => ("method_not_allowed", "This route accepts only GET."),
            Self::MethodNotAllowed(_) => ("method_not_allowed", "This route accepts only POST."),
            Self::Throttled { .. } => (
                "temporarily_unavailable",
                "Too many failed authentications for this client key or from this address. Retry after the time Retry-After gives.",
            ),
            Self::TokenLimitExceeded { description, .. } => {
                ("temporarily_unavailable", description.as_str())
            }
            Self::IssuerUnknown => (
                "server_error",
                "The issuer is unknown: set ISSUER_URL, or call through API Gateway, whose request context names the domain.",
            ),
            Self::Unavailable(_) => (
                "temporarily_unavailable",
                "The token service cannot reach its store. Retry shortly.",
            ),
            Self::Signing(SigningError::Kms(_) | SigningError::Store(_)) => (
                "temporarily_unavailable",
                "The token service cannot reach its signing keys. Retry shortly.",
            ),
            Self::Signing(_) => (
                "server_error",
                "The token service has no signing key it can use.",
            ),
        }
    }

    /// The response: status, JSON body and headers. Logging is the handler's.
    pub fn into_response(self) -> Response<Body> {
        let (code, description) = self.code_and_description();
        let mut response = json_response(
            self.status(),
            &json!({"error": code, "error_description": description}),
        );
        self.add_headers(response.headers_mut());
        response
    }

    /// The headers this error's answer carries beside the body: `WWW-Authenticate`,
    /// `Allow` or `Retry-After`.
    fn add_headers(&self, headers: &mut lambda_http::http::HeaderMap) {
        match self {
            Self::AuthenticationFailed(_)
            | Self::ClientAuthenticationFailed(_)
            | Self::ClientAuthenticationRequired => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"tokengate\", charset=\"UTF-8\""),
                );
            }
            Self::MethodNotAllowed(allow) => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Self::Throttled { retry_after, .. } | Self::TokenLimitExceeded { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
    }
}

/// A JSON response that no cache may keep, as every token endpoint answer must be
/// (RFC 6749 §5.1).
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    // Answers are strings, numbers and maps with string keys: none fails to serialize.
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
