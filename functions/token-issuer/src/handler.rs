//! Routing an HTTP request to issuing or introspection, and rendering the answer.

use std::convert::Infallible;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use tokengate_shared::clock;
use tracing::info;

use crate::error::{TokenEndpointError, json_response};
use crate::request::{IntrospectionRequest, TokenRequest};
use crate::service::TokenService;

/// The token routes: INN-Reach's path and the conventional one.
pub const TOKEN_PATHS: [&str; 2] = ["/innreach/v2/oauth2/token", "/oauth2/token"];
/// The RFC 7662 introspection route.
pub const INTROSPECTION_PATH: &str = "/oauth2/introspect";

enum Route {
    Token,
    Introspection,
}

/// Handles one request. Never fails: every outcome, the store being down included, is an
/// HTTP response.
pub async fn handle(
    service: &TokenService,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    let outcome = match route(&request) {
        Ok(Route::Token) => issue(service, &request).await,
        Ok(Route::Introspection) => introspect(service, &request).await,
        Err(err) => Err(err),
    };
    Ok(outcome.unwrap_or_else(TokenEndpointError::into_response))
}

fn route(request: &Request) -> Result<Route, TokenEndpointError> {
    // API Gateway puts the stage in the URI; the raw path is the route as deployed.
    let raw = request.raw_http_path();
    let path = if raw.is_empty() {
        request.uri().path()
    } else {
        raw
    };
    let route = if TOKEN_PATHS.contains(&path) {
        Route::Token
    } else if path == INTROSPECTION_PATH {
        Route::Introspection
    } else {
        return Err(TokenEndpointError::NotFound);
    };
    if request.method() != Method::POST {
        return Err(TokenEndpointError::MethodNotAllowed);
    }
    Ok(route)
}

async fn issue(
    service: &TokenService,
    request: &Request,
) -> Result<Response<Body>, TokenEndpointError> {
    let token_request = TokenRequest::parse(request)?;
    let (issued, key_id) = service
        .issue(&token_request, clock::now_epoch_seconds())
        .await?;
    info!(
        reason = "token_issued",
        key_id = %key_id,
        from_code = %token_request.from_code,
        to_code = %token_request.to_code,
        expires_in = issued.expires_in
    );
    Ok(json_response(
        StatusCode::OK,
        &serde_json::to_value(&issued).unwrap_or_default(),
    ))
}

async fn introspect(
    service: &TokenService,
    request: &Request,
) -> Result<Response<Body>, TokenEndpointError> {
    let introspection_request = IntrospectionRequest::parse(request)?;
    let answer = service
        .introspect(&introspection_request, clock::now_epoch_seconds())
        .await?;
    info!(
        reason = "token_introspected",
        caller = %introspection_request.credentials.key,
        active = matches!(answer, crate::service::Introspection::Active { .. })
    );
    Ok(json_response(
        StatusCode::OK,
        &serde_json::to_value(&answer).unwrap_or_default(),
    ))
}
