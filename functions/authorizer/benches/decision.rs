//! The decision path, from event JSON to response JSON.
//!
//! - `cache_hit`: a token validated before; no network call.
//! - `floor`: the same event deserialized into its typed struct and an Allow answer
//!   serialized, with no decision: what any authorizer on these types pays.
//! - `cache_miss`: the cache off, a validation call to a wiremock server on loopback each
//!   time, next to `direct_reqwest_call`, the same GET made with reqwest alone; the
//!   difference is the authorizer's own cost on a miss.
//! - `tokengate_*`: the `tokengate` style over the in-memory stores (`tokengate serve`'s):
//!   the token and its key read on every decision; with the cache, the token's key and the
//!   injected headers are known; without it, the headers are computed each time.
//!
//! `cargo bench --bench decision`

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;

use authorizer::apigw::AuthorizerEvent;
use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::{Authorizer, Decision, Moment, PreInputs, handler};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tokengate_shared::store::memory::MemoryTokenStore;
use tokengate_shared::{AccessToken, KeyId, ReadEach, TokenRecord, TokenStore, clock};
use tokengate_tests::fixtures::memory_keys_with;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "6f1a0c1e-1b1f-4d6b-9a57-0c8f3f1d2e3a";

fn event() -> String {
    json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/patrons/42",
        "headers": {"X-Api-Key": API_KEY, "Authorization": "Bearer 2YotnFZFEjr1zCsicMWpAA", "X-Region-Code": "FR"},
        "queryStringParameters": {},
        "requestContext": {"path": "/prod/patrons/42", "accountId": "123456789012", "resourceId": "r1", "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "identity": {"sourceIp": "203.0.113.7"},
            "resourcePath": "/patrons/{id}", "httpMethod": "GET", "apiId": "abc123"}
    })
    .to_string()
}

fn authorizer(runtime: &tokio::runtime::Runtime, idp: &str, cache_ttl: u64) -> Authorizer {
    let config = format!(
        r#"{{"token_validation_uri": {{"regionCodeHeader": "X-Region-Code", "regionCodeValue": {{"FR": "{idp}/userinfo"}}, "defaultURI": "{idp}/userinfo"}},
            "inject_headers": {{"X-User-Id": "$.sub", "X-User-Email": "$.email", "X-User-Org": "$.org"}},
            "cache": {{"ttl_seconds": {cache_ttl}}}}}"#
    );
    let pre_inputs = PreInputs::parse(&config).expect("valid pre-inputs");
    let endpoint = HttpValidationEndpoint::new(Some(&pre_inputs)).expect("a client");
    let keys = runtime.block_on(memory_keys_with(API_KEY));
    Authorizer::new(Ok(pre_inputs), keys, Arc::new(endpoint))
}

fn decide(runtime: &tokio::runtime::Runtime, authorizer: &Authorizer, event: &str) -> String {
    let event = AuthorizerEvent::from_slice(event.as_bytes()).expect("an authorizer event");
    let (_, answer) = runtime.block_on(handler::decide(authorizer, &event, Moment::now()));
    serde_json::to_string(&answer).expect("JSON")
}

/// The edge alone: event text to typed event, a ready decision to answer text.
fn floor(decision: &Decision, context_keys: &[String], event: &str) -> String {
    let event = AuthorizerEvent::from_slice(event.as_bytes()).expect("an authorizer event");
    let request = event.request();
    black_box(&request);
    serde_json::to_string(&event.answer(decision, context_keys)).expect("JSON")
}

fn decision(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let idp = runtime.block_on(async {
        let server = MockServer::start().await;
        let body = json!({"sub": "u-42", "email": "claes@example.org", "org": {"id": 7, "name": "Example U"}});
        Mock::given(path("/userinfo"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json"))
            .mount(&server)
            .await;
        server
    });
    let event = event();

    let cached = authorizer(&runtime, &idp.uri(), 300);
    let warm = decide(&runtime, &cached, &event);
    assert!(warm.contains("\"Allow\""), "{warm}");
    c.bench_function("authorizer/cache_hit_event_to_response", |b| {
        b.iter(|| black_box(decide(&runtime, &cached, black_box(&event))))
    });

    let typed = AuthorizerEvent::from_slice(event.as_bytes()).expect("an authorizer event");
    let allow = runtime.block_on(cached.decide(&typed.request(), Moment::now()));
    assert!(allow.is_allow(), "{allow:?}");
    let context_keys = cached.context_keys().to_vec();
    assert_eq!(floor(&allow, &context_keys, &event), warm);
    c.bench_function("authorizer/floor_event_to_response", |b| {
        b.iter(|| black_box(floor(&allow, &context_keys, black_box(&event))))
    });

    let uncached = authorizer(&runtime, &idp.uri(), 0);
    c.bench_function("authorizer/cache_miss_event_to_response", |b| {
        b.iter(|| black_box(decide(&runtime, &uncached, black_box(&event))))
    });

    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client");
    let url = format!("{}/userinfo", idp.uri());
    c.bench_function("authorizer/direct_reqwest_call", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = client
                    .get(&url)
                    .header("authorization", "Bearer 2YotnFZFEjr1zCsicMWpAA")
                    .send()
                    .await
                    .expect("an answer");
                black_box(response.bytes().await.expect("a body"))
            })
        })
    });
}

/// A `tokengate`-style authorizer over in-memory stores holding one token of the API key,
/// and an event that presents it.
fn tokengate(
    runtime: &tokio::runtime::Runtime,
    cache_ttl: u64,
    routes: &str,
) -> (Authorizer, String) {
    let config = format!(
        r#"{{"validation": {{"style": "tokengate", "required_scopes": ["innreach_tp"]}},
            "inject_headers": {{"X-Client-Id": "$.client_id", "X-From-Code": "$.from_code", "X-Token-Expires": "$.exp"}},
            "cache": {{"ttl_seconds": {cache_ttl}}}{routes}}}"#
    );
    let pre_inputs = PreInputs::parse(&config).expect("valid pre-inputs");
    let endpoint = HttpValidationEndpoint::new(Some(&pre_inputs)).expect("a client");
    let keys = runtime.block_on(memory_keys_with(API_KEY));
    let tokens = Arc::new(MemoryTokenStore::new());
    let token = AccessToken::mint();
    let now = clock::now_epoch_seconds();
    let record = TokenRecord {
        hash: token.hash(),
        key_id: KeyId::parse(API_KEY).expect("a key id"),
        from_code: tokengate_shared::SystemCode::parse("d2ir1").ok(),
        to_code: None,
        scope: "innreach_tp".into(),
        audiences: Default::default(),
        issued_at: now,
        expires_at: now + 3_600,
    };
    runtime
        .block_on(tokens.put(&record))
        .expect("the token is stored");
    let lookup = Arc::new(ReadEach {
        keys: keys.clone(),
        tokens,
    });
    let authorizer =
        Authorizer::new(Ok(pre_inputs), keys, Arc::new(endpoint)).with_token_lookup(lookup);
    let event = event().replace("2YotnFZFEjr1zCsicMWpAA", token.expose());
    (authorizer, event)
}

fn tokengate_style(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let routes = fifty_routes();
    for (name, ttl, routes) in [
        (
            "authorizer/tokengate_memory_store_event_to_response",
            300,
            "",
        ),
        (
            "authorizer/tokengate_memory_store_no_cache_event_to_response",
            0,
            "",
        ),
        (
            "authorizer/tokengate_50_routes_event_to_response",
            300,
            routes.as_str(),
        ),
    ] {
        let (authorizer, event) = tokengate(&runtime, ttl, routes);
        let first = decide(&runtime, &authorizer, &event);
        assert!(first.contains("\"Allow\""), "{first}");
        c.bench_function(name, |b| {
            b.iter(|| black_box(decide(&runtime, &authorizer, black_box(&event))))
        });
    }
}

/// Issue 25's table: 50 routes, half of them needing a scope the token lacks, so that the
/// policy lists 25 method ARNs to allow and 25 to deny; the event's route among them.
fn fifty_routes() -> String {
    let mut routes =
        vec![json!({"method": "GET", "path": "/patrons/{id}", "scopes": ["innreach_tp"]})];
    for i in 1..50 {
        let (method, scope) = if i % 2 == 0 {
            ("GET", "innreach_tp")
        } else {
            ("POST", "admin")
        };
        routes.push(
            json!({"method": method, "path": format!("/resource{i}/{{id}}"), "scopes": [scope]}),
        );
    }
    format!(r#", "routes": {}"#, serde_json::Value::from(routes))
}

criterion_group!(benches, decision, tokengate_style);
criterion_main!(benches);
