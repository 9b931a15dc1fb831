//! Routing an HTTP request to issuing, introspection, revocation or the metadata
//! document, and rendering the answer.

use std::convert::Infallible;

use lambda_http::http::header::{CACHE_CONTROL, PRAGMA};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tokengate_shared::clock;
use tracing::{error, info, warn};

use crate::error::{TokenEndpointError, json_response};
use crate::metadata;
use crate::metrics::{self, Operation};
use crate::request::{TokenOperation, TokenRequest};
use crate::routes::{
    Contract, INN_REACH_TOKEN_PATH, INTROSPECTION_PATH, JWKS_PATH, METADATA_PATH, REVOCATION_PATH,
    TOKEN_PATH,
};
use crate::service::{Introspection, TokenService};

enum Route {
    Token(Contract),
    Introspection,
    Revocation,
    Metadata,
    Jwks,
}

/// Handles one request. Never fails: every outcome, the store being down included, is an
/// HTTP response.
pub async fn handle(
    service: &TokenService,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    let (operation, outcome) = match route(&request) {
        Ok(Route::Token(contract)) => (
            Operation::Token,
            issue(service, &request, contract)
                .await
                .map_err(|e| e.under(contract)),
        ),
        Ok(Route::Introspection) => (
            Operation::Introspect,
            introspect(service, &request)
                .await
                .map_err(|e| e.under(Contract::Standard)),
        ),
        Ok(Route::Revocation) => (
            Operation::Revoke,
            revoke(service, &request)
                .await
                .map_err(|e| e.under(Contract::Standard)),
        ),
        Ok(Route::Metadata) => (Operation::Other, metadata(service, &request)),
        Ok(Route::Jwks) => (Operation::Other, jwks(service).await),
        Err(err) => (Operation::Other, Err(err)),
    };
    metrics::outcome(operation, &outcome);
    Ok(outcome.unwrap_or_else(|err| {
        log(&err);
        err.into_response()
    }))
}

/// A refusal's one log line, with its reason id: never a secret, a token or a body.
fn log(err: &TokenEndpointError) {
    use TokenEndpointError as E;
    match err {
        E::InvalidRequest(description) => {
            info!(reason = "invalid_request", description = %description)
        }
        E::AuthenticationFailed(failure) | E::ClientAuthenticationFailed(failure) => {
            warn!(reason = "authentication_failed", cause = failure.as_str());
        }
        E::ClientAuthenticationRequired => info!(reason = "client_authentication_missing"),
        E::UnsupportedGrantType => info!(reason = "unsupported_grant_type"),
        E::InvalidScope(description) => info!(reason = "invalid_scope", description = %description),
        E::InvalidTarget(description) => {
            info!(reason = "invalid_target", description = %description);
        }
        E::UnauthorizedClient(description) => warn!(reason = "unauthorized_client", description),
        E::Throttled { retry_after, key } => {
            warn!(reason = "throttled", key_id = %key, retry_after);
        }
        E::TokenLimitExceeded {
            retry_after,
            policy,
            ..
        } => warn!(reason = "token_limit_exceeded", policy = %policy, retry_after),
        E::IssuerUnknown => error!(reason = "issuer_unknown"),
        E::Signing(err) => error!(reason = "signing_failed", error = %err),
        E::Unavailable(err) => error!(reason = "store_unavailable", error = %err),
        E::NotFound | E::MethodNotAllowed(_) => {}
    }
}

/// The route as deployed: API Gateway puts the stage in the URI, the raw path is without.
fn route_path(request: &Request) -> &str {
    let raw = request.raw_http_path();
    if raw.is_empty() {
        request.uri().path()
    } else {
        raw
    }
}

fn route(request: &Request) -> Result<Route, TokenEndpointError> {
    let (route, method) = match route_path(request) {
        INN_REACH_TOKEN_PATH => (Route::Token(Contract::InnReach), Method::POST),
        TOKEN_PATH => (Route::Token(Contract::Standard), Method::POST),
        INTROSPECTION_PATH => (Route::Introspection, Method::POST),
        REVOCATION_PATH => (Route::Revocation, Method::POST),
        METADATA_PATH => (Route::Metadata, Method::GET),
        JWKS_PATH => (Route::Jwks, Method::GET),
        _ => return Err(TokenEndpointError::NotFound),
    };
    if request.method() != method {
        let allow = if method == Method::GET { "GET" } else { "POST" };
        return Err(TokenEndpointError::MethodNotAllowed(allow));
    }
    Ok(route)
}

async fn issue(
    service: &TokenService,
    request: &Request,
    contract: Contract,
) -> Result<Response<Body>, TokenEndpointError> {
    let mut token_request = TokenRequest::parse(request, contract)?;
    let issuer = || issuer_from_context(request);
    let (issued, key_id) = service
        .issue(&mut token_request, clock::now_epoch_seconds(), &issuer)
        .await?;
    let code = |c: &Option<tokengate_shared::SystemCode>| {
        c.as_ref().map_or_else(String::new, ToString::to_string)
    };
    info!(
        reason = "token_issued",
        key_id = %key_id,
        from_code = %code(&token_request.from_code),
        to_code = %code(&token_request.to_code),
        expires_in = issued.expires_in
    );
    Ok(json_response(StatusCode::OK, &issued))
}

async fn introspect(
    service: &TokenService,
    request: &Request,
) -> Result<Response<Body>, TokenEndpointError> {
    let operation = TokenOperation::parse(request)?;
    let answer = service
        .introspect(&operation, clock::now_epoch_seconds())
        .await?;
    info!(
        reason = "token_introspected",
        caller = %operation.credentials.key,
        active = matches!(answer, Introspection::Active(_))
    );
    Ok(json_response(StatusCode::OK, &answer))
}

async fn revoke(
    service: &TokenService,
    request: &Request,
) -> Result<Response<Body>, TokenEndpointError> {
    let operation = TokenOperation::parse(request)?;
    let revocation = service
        .revoke(&operation, clock::now_epoch_seconds())
        .await?;
    info!(
        reason = "token_revoked",
        caller = %operation.credentials.key,
        found = ?revocation
    );
    // RFC 7009 §2.2: 200 whether or not the token existed; the body is ignored by clients.
    Ok(json_response(StatusCode::OK, &serde_json::json!({})))
}

/// What clients and CDNs may keep, for five minutes: the configured metadata, the JWKS.
fn public_for_five_minutes(response: &mut Response<Body>) {
    let headers = response.headers_mut();
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.remove(PRAGMA);
}

fn metadata(
    service: &TokenService,
    request: &Request,
) -> Result<Response<Body>, TokenEndpointError> {
    let document = |issuer: &str| {
        metadata::document(
            issuer,
            service.scopes_supported(),
            service.keyring().is_some(),
        )
    };
    if let Some(issuer) = service.issuer() {
        let mut response = json_response(StatusCode::OK, &document(issuer));
        // Configured, so the same for every caller.
        public_for_five_minutes(&mut response);
        return Ok(response);
    }
    // Derived from the request context: answered, but kept by no shared cache.
    let issuer = issuer_from_context(request).ok_or(TokenEndpointError::IssuerUnknown)?;
    Ok(json_response(StatusCode::OK, &document(&issuer)))
}

/// The published signing keys (RFC 7517 §5). Five minutes in a cache is far within what
/// rotation allows: a key is published a whole rotation period before it signs, and stays
/// published a day after it stops.
async fn jwks(service: &TokenService) -> Result<Response<Body>, TokenEndpointError> {
    let keys = match service.keyring() {
        Some(keyring) => keyring.jwks(clock::now_epoch_seconds()).await?,
        None => std::sync::Arc::from(r#"{"keys":[]}"#),
    };
    let mut response = Response::new(Body::Text(keys.to_string()));
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    public_for_five_minutes(&mut response);
    Ok(response)
}

/// `https://{domainName}{base}`, from the request context API Gateway wrote (never from the
/// client's `Host` or `X-Forwarded-*`), where the base is what API Gateway put before the
/// route (the stage, in a REST API's default endpoint).
fn issuer_from_context(request: &Request) -> Option<String> {
    let domain = match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(c) => c.domain_name.as_deref(),
        RequestContext::ApiGatewayV2(c) => c.domain_name.as_deref(),
        _ => None,
    }?;
    // A host name, and nothing that could carry a path or a scheme into the document.
    let is_host = !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !is_host {
        return None;
    }
    let path = request.uri().path();
    let base = path
        .strip_suffix(route_path(request))
        .unwrap_or_default()
        .trim_end_matches('/');
    Some(format!("https://{domain}{base}"))
}
