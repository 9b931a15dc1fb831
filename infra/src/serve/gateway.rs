//! API Gateway, emulated: a token route goes to token-issuer's handler as a REST API proxy
//! request; every other request becomes the REST REQUEST authorizer event the deployed API
//! would send, and on Allow goes on to the upstream with the injected headers.

use std::sync::Arc;

use std::collections::BTreeMap;

use authorizer::apigw::{AuthorizerAnswer, AuthorizerEvent};
use authorizer::injection::InjectedHeader;
use authorizer::{Authorizer, Reason};
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerRequestTypeRequestContext,
};
use aws_lambda_events::query_map::QueryMap;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, Request, Response, StatusCode};
use serde_json::json;
use token_issuer::TokenService;
use tracing::info;

use super::authorizer_cache::AuthorizerCache;
use super::listeners::Peer;
use super::upstream::{self, UpstreamFailure};
use crate::answer::json_answer;

/// The method ARN of this server's API and stage, to which a method and path are added.
const ARN_BASE: &str = "arn:aws:execute-api:local:000000000000:tokengate/local/";

/// The largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// The most headers a request may carry, as API Gateway allows; more is a JSON 431.
const MAX_HEADERS: usize = 100;

/// What the gateway routes to: the two functions' handlers and the upstream.
pub(super) struct App {
    pub(super) tokens: TokenService,
    pub(super) authorizer: Authorizer,
    /// Every header the pre-inputs may inject: a client may not send these, in any
    /// spelling.
    pub(super) injectable: Vec<String>,
    /// Each injectable header's `context` key, by name.
    pub(super) context_keys: BTreeMap<String, String>,
    /// `--authorizer-cache-ttl`: API Gateway's authorizer cache, emulated.
    pub(super) cache: Option<AuthorizerCache>,
    pub(super) upstream: Option<reqwest::Url>,
    pub(super) client: reqwest::Client,
}

/// Every request: a token route, or the authorizer then the upstream.
pub(super) async fn route(State(app): State<Arc<App>>, request: Request<Body>) -> Response<Body> {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    if parts.headers.len() > MAX_HEADERS {
        return json_answer(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            &json!({"error": "request_header_fields_too_large",
                "error_description": format!("The request has more than {MAX_HEADERS} headers.")}),
        );
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return json_answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"error": "request_too_large", "error_description": "The request body is over 1 MiB."}),
        );
    };
    let path = parts.uri.path().to_owned();
    if upstream::has_dot_segment(&path) {
        return json_answer(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request",
                "error_description": "The request path has a dot segment (. or ..), raw or percent-encoded."}),
        );
    }
    let is_token_route = token_issuer::routes::ROUTES.contains(&path.as_str());
    let (response, method, outcome) = if is_token_route {
        token_route(&app, parts, body).await
    } else {
        api_route(&app, parts, body).await
    };
    let upstream_failure = response
        .extensions()
        .get::<UpstreamFailure>()
        .map_or("", |f| f.0.as_str());
    info!(
        reason = "request",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
        decision = %outcome.decision,
        decision_reason = outcome.reason,
        upstream_failure,
    );
    response
}

/// What a request's log line says of how it was decided.
struct Outcome {
    /// `allow`, `deny:<error name>`, or `token_endpoint`.
    decision: String,
    /// The authorizer's finer reason id, empty for the token endpoint.
    reason: &'static str,
}

async fn token_route(
    app: &App,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> (Response<Body>, Method, Outcome) {
    let method = parts.method.clone();
    let body = if body.is_empty() {
        lambda_http::Body::Empty
    } else {
        lambda_http::Body::Binary(body.to_vec())
    };
    let source = parts.extensions.get::<Peer>().map(|p| p.0.to_string());
    let request = lambda_http::Request::from_parts(parts, body);
    let request = lambda_http::RequestExt::with_request_context(request, rest_context(source));
    let Ok(response) = token_issuer::handler::handle(&app.tokens, request).await;
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    (
        Response::from_parts(parts, Body::from(bytes)),
        method,
        Outcome {
            decision: "token_endpoint".into(),
            reason: "",
        },
    )
}

/// A REST API's request context, as API Gateway gives token-issuer: the caller's address.
fn rest_context(source: Option<String>) -> lambda_http::request::RequestContext {
    let mut context = aws_lambda_events::apigw::ApiGatewayProxyRequestContext::default();
    context.identity.source_ip = source;
    lambda_http::request::RequestContext::ApiGatewayV1(context)
}

/// The REST API REQUEST event API Gateway would send the authorizer for this request:
/// each header's last value in `headers`, every value in `multiValueHeaders`, and the same
/// for the query string.
fn authorizer_event(parts: &axum::http::request::Parts) -> AuthorizerEvent {
    let mut event = ApiGatewayCustomAuthorizerRequestTypeRequest::default();
    event.type_ = Some("REQUEST".into());
    event.method_arn = Some(arn(parts));
    event.resource = Some(parts.uri.path().to_owned());
    event.path = Some(parts.uri.path().to_owned());
    event.http_method = Some(parts.method.clone());
    for (name, value) in &parts.headers {
        event.headers.insert(name.clone(), value.clone());
    }
    event.multi_value_headers = parts.headers.clone();
    let mut single = std::collections::HashMap::new();
    let mut multi: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()) {
        single.insert(key.to_string(), value.to_string());
        multi
            .entry(key.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    event.query_string_parameters = QueryMap::from(single);
    event.multi_value_query_string_parameters = QueryMap::from(multi);
    let mut context = ApiGatewayCustomAuthorizerRequestTypeRequestContext::default();
    context.stage = Some("local".into());
    context.path = Some(parts.uri.path().to_owned());
    context.http_method = Some(parts.method.clone());
    event.request_context = context;
    AuthorizerEvent::Request(Box::new(event))
}

async fn api_route(
    app: &App,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> (Response<Body>, Method, Outcome) {
    let method = parts.method.clone();
    let public = app
        .authorizer
        .pre_inputs()
        .and_then(|p| p.routes.as_ref())
        .is_some_and(|routes| routes.is_public(parts.method.as_str(), parts.uri.path()));
    if public {
        // A public route: the deployed API calls no authorizer for it.
        let headers = upstream::backend_headers(&app.injectable, &parts.headers, &[], false);
        let response = pass_on(app, &parts, headers, body).await;
        let outcome = Outcome {
            decision: "public".into(),
            reason: "public_route",
        };
        return (response, method, outcome);
    }
    let event = authorizer_event(&parts);
    let (answer, reason) = match answer(app, &parts, &event).await {
        Ok(answered) => answered,
        Err(refused) => return (refused, method, missing_identity()),
    };
    let method_arn = arn(&parts);
    let context = answer.context();
    let text = |key: &str| {
        context
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
    };
    if !answer.allows(&method_arn) {
        // What the deployed ACCESS_DENIED gateway response renders from the context.
        let error = text("error").to_owned();
        let body = json!({"error": error, "error_description": text("error_description")});
        let outcome = Outcome {
            decision: format!("deny:{error}"),
            reason,
        };
        return (
            json_answer(StatusCode::UNAUTHORIZED, &body),
            method,
            outcome,
        );
    }
    // What the deployed request parameter mappings inject from the context.
    let injected: Vec<InjectedHeader> = text("injected_headers")
        .split(',')
        .filter_map(|name| {
            let context_key = app.context_keys.get(name)?;
            Some(InjectedHeader {
                header: name.to_owned(),
                context_key: context_key.clone(),
                value: text(context_key).to_owned(),
            })
        })
        .collect();
    let block_authorization = context
        .get("block_authorization_header")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let headers = upstream::backend_headers(
        &app.injectable,
        &parts.headers,
        &injected,
        block_authorization,
    );
    let response = pass_on(app, &parts, headers, body).await;
    let outcome = Outcome {
        decision: "allow".into(),
        reason,
    };
    (response, method, outcome)
}

/// The request, passed on to the upstream (or the echo) with these headers.
async fn pass_on(
    app: &App,
    parts: &axum::http::request::Parts,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response<Body> {
    match &app.upstream {
        None => upstream::echo(parts, &headers, body.len()),
        Some(upstream) => upstream::forward(&app.client, upstream, parts, headers, body).await,
    }
}

/// The authorizer's answer for this request, from the emulated cache when it holds one
/// (the reason then is `authorizer_cache`), or the 401 API Gateway gives a request missing
/// an identity source while the cache is on.
async fn answer(
    app: &App,
    parts: &axum::http::request::Parts,
    event: &AuthorizerEvent,
) -> Result<(Arc<AuthorizerAnswer>, &'static str), Response<Body>> {
    let key = match &app.cache {
        Some(cache) => match cache.key(&parts.headers) {
            Some(key) => Some(key),
            None => {
                return Err(json_answer(
                    StatusCode::UNAUTHORIZED,
                    &json!({"error": "IdentityNotPresentInRequest",
                        "error_description": "The Authorization header or the API key is missing."}),
                ));
            }
        },
        None => None,
    };
    if let (Some(cache), Some(key)) = (&app.cache, &key)
        && let Some(answer) = cache.get(key)
    {
        return Ok((answer, "authorizer_cache"));
    }
    let (decision, answer) =
        authorizer::handler::decide(&app.authorizer, event, authorizer::Moment::now()).await;
    let answer = Arc::new(answer);
    if let (Some(cache), Some(key)) = (&app.cache, key) {
        cache.put(key, answer.clone());
    }
    Ok((answer, decision.reason().map_or("allowed", Reason::id)))
}

fn missing_identity() -> Outcome {
    Outcome {
        decision: "deny:IdentityNotPresentInRequest".into(),
        reason: "identity_source_missing",
    }
}

/// The method ARN API Gateway names this request by.
fn arn(parts: &axum::http::request::Parts) -> String {
    format!("{ARN_BASE}{}{}", parts.method, parts.uri.path())
}
