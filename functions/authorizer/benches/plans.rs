//! What a plan adds to a decision, on the cache-hit path (no network call):
//!
//! - `no_rate_limits`: the pre-inputs name no `rate_limits` (the baseline);
//! - `counted_key_without_plan`: `rate_limits: tokengate`, the API key on no plan: nothing
//!   may be added;
//! - `counted_key_with_plan`: the key on a plan it never exceeds, counted in memory and
//!   written every 10 requests or 100 ms, as in Lambda (there, each write is a DynamoDB
//!   round trip, which `plans-load` counts);
//! - `api_gateway_key_with_plan`: `rate_limits: api_gateway`, the Allow naming the key's
//!   usage plan API key.
//!
//! `cargo bench --bench plans`

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;

use authorizer::apigw::AuthorizerEvent;
use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::metering::Metering;
use authorizer::{Authorizer, Moment, PreInputs, handler};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tokengate_shared::plan::{
    FlushPolicy, MemoryPlanStore, MemoryUsageStore, Plan, PlanName, PlanStore,
};
use tokengate_shared::store::memory::MemoryKeyStore;
use tokengate_shared::{Grants, KeyAdmin, KeyStatus};
use tokengate_tests::fixtures::client_key;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "6f1a0c1e-1b1f-4d6b-9a57-0c8f3f1d2e3a";

fn event() -> String {
    json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/patrons/42",
        "headers": {"X-Api-Key": API_KEY, "Authorization": "Bearer 2YotnFZFEjr1zCsicMWpAA"},
        "queryStringParameters": {},
        "requestContext": {"path": "/prod/patrons/42", "accountId": "123456789012", "resourceId": "r1", "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "identity": {"sourceIp": "203.0.113.7"},
            "resourcePath": "/patrons/{id}", "httpMethod": "GET", "apiId": "abc123"}
    })
    .to_string()
}

/// An authorizer whose API key is on `plan` (if any), with `rate_limits` as given.
fn authorizer(
    runtime: &tokio::runtime::Runtime,
    idp: &str,
    rate_limits: Option<&str>,
    plan: Option<&str>,
) -> Authorizer {
    let limits = rate_limits.map_or(String::new(), |r| format!(r#", "rate_limits": "{r}""#));
    let config = format!(
        r#"{{"defaultURI": "{idp}/userinfo", "inject_headers": {{"X-User-Id": "$.sub"}},
            "cache": {{"ttl_seconds": 300}}{limits}}}"#
    );
    let pre_inputs = PreInputs::parse(&config).expect("valid pre-inputs");
    let endpoint = HttpValidationEndpoint::new(Some(&pre_inputs)).expect("a client");
    let keys = Arc::new(MemoryKeyStore::new());
    let plans = Arc::new(MemoryPlanStore::default());
    let mut key = client_key(API_KEY, "unused-secret", KeyStatus::Active, &[]);
    runtime.block_on(async {
        if let Some(name) = plan {
            let name = PlanName::parse(name).unwrap();
            key.grants = Grants {
                plan: Some(name.clone()),
                ..Grants::default()
            }
            .into();
            plans
                .create(&Plan {
                    name,
                    rate: 1_000_000,
                    burst: 1_000_000,
                    quota: None,
                    tokens: None,
                    api_gateway: None,
                    created_at: 0,
                })
                .await
                .unwrap();
        }
        keys.create(&key).await.unwrap();
    });
    let metering = Metering::new(
        plans,
        Arc::new(MemoryUsageStore::default()),
        FlushPolicy::default(),
    );
    Authorizer::new(Ok(pre_inputs), keys, Arc::new(endpoint)).with_metering(metering)
}

fn decide(runtime: &tokio::runtime::Runtime, authorizer: &Authorizer, event: &str) -> String {
    let event = AuthorizerEvent::from_slice(event.as_bytes()).expect("an authorizer event");
    let (_, answer) = runtime.block_on(handler::decide(authorizer, &event, Moment::now()));
    serde_json::to_string(&answer).expect("JSON")
}

fn plans(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let idp = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(path("/userinfo"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(json!({"sub": "u-42"}).to_string(), "application/json"),
            )
            .mount(&server)
            .await;
        server
    });
    let event = event();
    for (name, rate_limits, plan) in [
        ("plans/no_rate_limits", None, None),
        ("plans/counted_key_without_plan", Some("tokengate"), None),
        (
            "plans/counted_key_with_plan",
            Some("tokengate"),
            Some("gold"),
        ),
        (
            "plans/api_gateway_key_with_plan",
            Some("api_gateway"),
            Some("gold"),
        ),
    ] {
        let authorizer = authorizer(&runtime, &idp.uri(), rate_limits, plan);
        let warm = decide(&runtime, &authorizer, &event);
        assert!(warm.contains("\"Allow\""), "{name}: {warm}");
        c.bench_function(name, |b| {
            b.iter(|| black_box(decide(&runtime, &authorizer, black_box(&event))))
        });
    }
}

criterion_group!(benches, plans);
criterion_main!(benches);
