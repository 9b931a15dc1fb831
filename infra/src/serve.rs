//! `tokengate serve`: the whole stack on one port, the way API Gateway runs it.
//!
//! Token routes go to token-issuer's handler; every other request goes through the
//! authorizer's handler first, as an API Gateway REQUEST authorizer event, and on Allow on
//! to the upstream with the injected headers (and without `Authorization` when the
//! pre-inputs block it). Both handlers are the functions' own code: this module only
//! adapts HTTP to their events and back.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use authorizer::apigw::AuthorizerEvent;
use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::{Authorizer, Decision, PreInputs};
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerRequestTypeRequestContext,
};
use aws_lambda_events::query_map::QueryMap;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use token_issuer::TokenService;
use tokengate_shared::store::dynamodb::{DynamoKeyStore, DynamoTokenLookup, DynamoTokenStore};
use tokengate_shared::store::memory::{MemoryKeyStore, MemoryTokenStore};
use tokengate_shared::{
    ClientKey, IssuerTokens, KeyAdmin, KeyReader, KeyStatus, ReadEach, Secret, SystemCode,
    TokenLookup, clock,
};
use tracing::info;

use crate::CliError;
use crate::answer::json_answer;

mod banner;
mod bare_errors;
mod upstream;

use banner::{print_walkthrough, print_without_demo_key};
use upstream::UpstreamFailure;

/// Where `serve` keeps keys and tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// In this process, gone when it stops.
    Memory,
    /// DynamoDB through the SDK's environment (`AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB
    /// Local or moto), in `KEYS_TABLE` and `TOKENS_TABLE`.
    Dynamodb,
}

/// `tokengate serve`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeOptions {
    /// The port to listen on, on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Pre-inputs for the authorizer (JSON). By default, the tokengate style: this server's
    /// own tokens, read from its store.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where keys and tokens live.
    #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
    pub store: StoreKind,
    /// The backend to forward authorized requests to (an http or https URL); by default a
    /// built-in echo that answers with the method, path and headers it received.
    #[arg(long, value_parser = upstream_url)]
    pub upstream: Option<reqwest::Url>,
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open (slowloris protection).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: std::time::Duration,
    /// How long the upstream may take to answer; then 504, as API Gateway's 29 s
    /// integration timeout answers.
    #[arg(long, default_value = "29s", value_parser = humantime::parse_duration)]
    pub upstream_timeout: std::time::Duration,
    /// The admin port on 127.0.0.1: `GET /health` and `GET /metrics` (Prometheus text);
    /// 0 picks a free one.
    #[arg(long, default_value_t = 3001)]
    pub admin_port: u16,
    /// Create a demo key for the walkthrough in a DynamoDB store, disabled again when the
    /// server stops. The memory store always has one: it goes with the process.
    #[arg(long)]
    pub demo_key: bool,
}

/// `--upstream`: an absolute http or https URL with a host. `localhost:8080` parses as a URL
/// of scheme `localhost`, and would make every allowed request a 502: refused at start.
fn upstream_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "must be an http or https URL with a host, such as http://{text}"
        ));
    }
    Ok(url)
}

/// The largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// The most headers a request may carry, as API Gateway allows; more is a JSON 431.
const MAX_HEADERS: usize = 100;

/// What hyper itself parses before the handler sees the count, well above [`MAX_HEADERS`];
/// past it hyper answers 431 itself, rewritten as JSON by [`bare_errors`].
const PARSED_HEADERS: usize = 1_000;

struct App {
    tokens: TokenService,
    authorizer: Authorizer,
    /// Every header the pre-inputs may inject: a client may not send these, in any
    /// spelling.
    injectable: Vec<String>,
    upstream: Option<reqwest::Url>,
    client: reqwest::Client,
}

/// The built-in pre-inputs: the `tokengate` style, which reads this server's own tokens
/// from its store, with no HTTP hop.
pub fn default_pre_inputs() -> Value {
    json!({
        "validation": {
            "style": "tokengate",
            "required_scopes": ["innreach_tp"]
        },
        "inject_headers": {
            "X-Client-Id": "$.client_id",
            "X-From-Code": "$.from_code",
            "X-To-Code": "$.to_code",
            "X-Token-Expires": "$.exp"
        },
        "block_authorization_header": true
    })
}

/// Runs the server until the process is stopped.
pub async fn serve(
    options: ServeOptions,
    keys_table: String,
    tokens_table: String,
) -> Result<(), CliError> {
    init_log();
    let metrics = crate::admin::install_recorder()?;
    let (keys, tokens, lookup) = open_stores(options.store, keys_table, tokens_table).await?;
    let usage = |e: &dyn std::fmt::Display| CliError::Config(e.to_string());
    let env = |name: &str| std::env::var(name).ok();
    let ttl_seconds = token_issuer::settings::ttl_seconds(&env).map_err(|e| usage(&e))?;
    let throttle = token_issuer::settings::Throttle::from_lookup(&env).map_err(|e| usage(&e))?;
    let issuer = token_issuer::settings::issuer_url(&env).map_err(|e| usage(&e))?;
    let pre_inputs = load_pre_inputs(&options)?;
    let demo = match (options.store, options.demo_key) {
        (StoreKind::Memory, _) | (StoreKind::Dynamodb, true) => {
            Some(create_demo_key(&*keys).await?)
        }
        (StoreKind::Dynamodb, false) => None,
    };

    let (listener, address) = listen(options.port, "--port").await?;
    let (admin_listener, admin_address) = listen(options.admin_port, "--admin-port").await?;
    let admin = crate::admin::router(crate::admin::Admin {
        metrics,
        keys: keys.clone(),
        store: match options.store {
            StoreKind::Memory => "memory",
            StoreKind::Dynamodb => "dynamodb",
        },
    });
    let injectable = pre_inputs.all_injected_headers().into_keys().collect();
    let endpoint = HttpValidationEndpoint::new(Some(&pre_inputs))
        .map_err(|e| CliError::Setup(format!("cannot build the HTTP client: {e}")))?;
    let app = Arc::new(App {
        tokens: TokenService::new(keys.clone(), tokens, ttl_seconds)
            .with_throttle(throttle)
            .with_issuer(issuer.or_else(|| Some(format!("http://{address}")))),
        authorizer: Authorizer::new(Ok(pre_inputs), keys.clone(), Arc::new(endpoint))
            .with_token_lookup(lookup),
        injectable,
        upstream: options.upstream.clone(),
        client: upstream_client(options.upstream_timeout)?,
    });

    match &demo {
        Some((key, secret)) => print_walkthrough(
            address,
            admin_address,
            key,
            secret,
            options.upstream.as_ref(),
        ),
        None => print_without_demo_key(address, admin_address),
    }
    let router = axum::Router::new().fallback(route).with_state(app);
    let served = tokio::select! {
        served = accept_loop(listener, router, options.header_timeout) => served,
        served = accept_loop(admin_listener, admin, options.header_timeout) => served,
        () = stopped() => Ok(()),
    };
    // A demo key in a lasting store must not outlive the server that printed its secret.
    if let (StoreKind::Dynamodb, Some((key, _))) = (options.store, &demo) {
        keys.set_status(&key.id, KeyStatus::Disabled, clock::now_epoch_seconds())
            .await?;
        eprintln!("tokengate serve: demo key {} disabled", key.id);
    }
    served
}

type Stores = (
    Arc<dyn KeyAdmin>,
    Arc<dyn IssuerTokens>,
    Arc<dyn TokenLookup>,
);

/// The stores `kind` names; DynamoDB's keys table must answer a read first.
async fn open_stores(
    kind: StoreKind,
    keys_table: String,
    tokens_table: String,
) -> Result<Stores, CliError> {
    match kind {
        StoreKind::Memory => {
            let keys = Arc::new(MemoryKeyStore::new());
            let tokens = Arc::new(MemoryTokenStore::new());
            let lookup = Arc::new(ReadEach {
                keys: keys.clone(),
                tokens: tokens.clone(),
            });
            Ok((keys, tokens, lookup))
        }
        StoreKind::Dynamodb => {
            let client = tokengate_shared::store::dynamodb::client_from_env().await?;
            let keys = DynamoKeyStore::new(client.clone(), &keys_table);
            // The tables must answer before the server says it listens.
            let probe = tokengate_shared::KeyId::parse("tokengate-serve-probe")
                .map_err(|e| CliError::Setup(e.to_string()))?;
            keys.get(&probe).await?;
            Ok((
                Arc::new(keys),
                Arc::new(DynamoTokenStore::new(client.clone(), &tokens_table)),
                Arc::new(DynamoTokenLookup::new(client, keys_table, tokens_table)),
            ))
        }
    }
}

/// `--config`, or the built-in pre-inputs. Invalid ones stop serve before it listens, each
/// problem named: a server that denies every request, under a banner that says "Try it",
/// would mislead.
fn load_pre_inputs(options: &ServeOptions) -> Result<PreInputs, CliError> {
    let Some(path) = &options.config else {
        return PreInputs::parse(&default_pre_inputs().to_string()).map_err(|e| {
            CliError::PreInputs {
                file: "the built-in pre-inputs".into(),
                problems: e.problems,
            }
        });
    };
    let text = std::fs::read_to_string(path).map_err(CliError::io("read --config", path))?;
    PreInputs::parse(&text).map_err(|e| CliError::PreInputs {
        file: path.display().to_string(),
        problems: e.problems,
    })
}

/// The client that forwards to `--upstream`: no proxy, no redirects, within `timeout`.
fn upstream_client(timeout: std::time::Duration) -> Result<reqwest::Client, CliError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tokengate_shared::tls::client_config().map_err(CliError::Setup)?)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(std::time::Duration::from_secs(5)))
        .timeout(timeout)
        .build()
        .map_err(|e| CliError::Setup(format!("cannot build the HTTP client: {e}")))
}

/// A new demo key, valid for `d2ir1`, in the store.
async fn create_demo_key(keys: &dyn KeyAdmin) -> Result<(ClientKey, Secret), CliError> {
    let codes = [SystemCode::parse("d2ir1").map_err(|e| CliError::Setup(e.to_string()))?].into();
    let (key, secret) = ClientKey::generate(
        codes,
        Some("tokengate serve demo key".into()),
        clock::now_epoch_seconds(),
    );
    keys.create(&key).await?;
    Ok((key, secret))
}

/// Ctrl-C or SIGTERM.
async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// A listener on 127.0.0.1:`port`, and its address.
async fn listen(
    port: u16,
    option: &'static str,
) -> Result<(tokio::net::TcpListener, SocketAddr), CliError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| CliError::Bind {
            address: format!("127.0.0.1:{port}"),
            option,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| CliError::Bind {
        address: format!("127.0.0.1:{port}"),
        option,
        source,
    })?;
    Ok((listener, address))
}

/// Log lines for a terminal: a timestamp each, filtered by `RUST_LOG` as the functions do
/// (`info` by default).
fn init_log() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let filter =
        tokengate_shared::startup::log_filter(None, std::env::var("RUST_LOG").ok().as_deref());
    let logs = tracing_subscriber::fmt()
        .with_target(false)
        .with_max_level(tracing::level_filters::LevelFilter::TRACE)
        .finish();
    let _ = tracing::subscriber::set_global_default(logs.with(filter));
}

/// Serves HTTP/1.1 connections with a header-read (and idle keep-alive) timeout, which
/// `axum::serve` does not offer.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    header_timeout: std::time::Duration,
) -> Result<(), CliError> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off, keep serving.
                tracing::warn!(reason = "accept_failed", error = %e);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let service =
            TowerToHyperService::new(router.clone().layer(axum::Extension(Peer(peer.ip()))));
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_headers(PARSED_HEADERS)
                .serve_connection(TokioIo::new(bare_errors::JsonErrors::new(stream)), service)
                .await;
        });
    }
}

async fn route(State(app): State<Arc<App>>, request: Request<Body>) -> Response<Body> {
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

/// The address a connection came from: the source API Gateway would name.
#[derive(Debug, Clone, Copy)]
struct Peer(std::net::IpAddr);

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
    event.method_arn = Some(format!(
        "arn:aws:execute-api:local:000000000000:tokengate/local/{}{}",
        parts.method,
        parts.uri.path()
    ));
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
    let event = authorizer_event(&parts);
    let (decision, _) =
        authorizer::handler::decide(&app.authorizer, &event, authorizer::Moment::now()).await;
    let (headers, block_authorization) = match &decision {
        Decision::Allow {
            headers,
            block_authorization_header,
            ..
        } => (headers, *block_authorization_header),
        Decision::Deny { denial, .. } => {
            // What the deployed gateway response renders for a Deny.
            let error = denial.reason.error().name();
            let body = json!({"error": error, "error_description": denial.reason.description()});
            return (
                json_answer(StatusCode::UNAUTHORIZED, &body),
                method,
                Outcome {
                    decision: format!("deny:{error}"),
                    reason: denial.reason.id(),
                },
            );
        }
    };
    let headers = upstream::backend_headers(
        &app.injectable,
        &parts.headers,
        headers,
        block_authorization,
    );
    let response = match &app.upstream {
        None => upstream::echo(&parts, &headers, body.len()),
        Some(upstream) => upstream::forward(&app.client, upstream, &parts, headers, body).await,
    };
    let outcome = Outcome {
        decision: "allow".into(),
        reason: "allowed",
    };
    (response, method, outcome)
}
