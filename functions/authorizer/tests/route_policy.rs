//! Per-route rules under API Gateway's cache. For random route tables, scopes and paths,
//! the policy an answer carries, evaluated as API Gateway evaluates it (an explicit Deny
//! wins, then an Allow; `*` and `?` wildcards), says of every path what the authorizer
//! decides for that path directly: so whichever route's answer the cache reuses, no route
//! is answered wrongly. The evaluator here is the test's own (regular expressions), apart
//! from the product's matcher.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use authorizer::apigw::{AuthorizerAnswer, AuthorizerEvent};
use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::{Authorizer, Moment, PreInputs, handler};
use proptest::prelude::*;
use serde_json::{Value, json};
use tokengate_shared::store::memory::{MemoryKeyStore, MemoryTokenStore};
use tokengate_shared::{
    AccessToken, KeyAdmin, KeyId, KeyStatus, ReadEach, TokenRecord, TokenStore, clock,
};
use tokengate_tests::fixtures::client_key;

const API_KEY: &str = "6f1a0c1e-1b1f-4d6b-9a57-0c8f3f1d2e3a";
const ARN_BASE: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/";
const SCOPES: [&str; 3] = ["a", "b", "c"];

/// Whether IAM's wildcard `pattern` matches `arn`.
fn iam_match(pattern: &str, arn: &str) -> bool {
    let regex = regex::escape(pattern)
        .replace(r"\*", ".*")
        .replace(r"\?", ".");
    regex::Regex::new(&format!("^{regex}$"))
        .unwrap()
        .is_match(arn)
}

/// API Gateway's verdict for `arn` under an authorizer's answer.
fn policy_allows(answer: &AuthorizerAnswer, arn: &str) -> bool {
    let policy = serde_json::to_value(answer).unwrap()["policyDocument"].clone();
    let covers = |effect: &str| {
        policy["Statement"].as_array().unwrap().iter().any(|s| {
            s["Effect"] == effect
                && s["Resource"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| iam_match(r.as_str().unwrap(), arn))
        })
    };
    !covers("Deny") && covers("Allow")
}

#[derive(Debug, Clone)]
struct RouteSpec {
    method: &'static str,
    path: String,
    need: Value,
}

fn path(segments: Vec<&'static str>) -> String {
    let last = segments.len().saturating_sub(1);
    let segments: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if *s == "{proxy+}" && i != last {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    format!("/{}", segments.join("/"))
}

fn route() -> impl Strategy<Value = RouteSpec> {
    let segment = prop::sample::select(vec!["orders", "items", "{id}", "{proxy+}"]);
    let scopes = prop::sample::subsequence(SCOPES.to_vec(), 0..=3);
    (
        prop::sample::select(vec!["GET", "POST", "*"]),
        prop::collection::vec(segment, 0..3),
        0..3u8,
        scopes,
    )
        .prop_map(|(method, segments, kind, scopes)| {
            let need = match kind {
                0 => json!({"public": true}),
                1 if !scopes.is_empty() => json!({"scopes": scopes, "match": "any"}),
                _ => json!({"scopes": scopes}),
            };
            RouteSpec {
                method,
                path: path(segments),
                need,
            }
        })
}

fn request() -> impl Strategy<Value = String> {
    let segment = prop::sample::select(vec!["orders", "items", "1"]);
    (
        prop::sample::select(vec!["GET", "POST", "DELETE"]),
        prop::collection::vec(segment, 0..4),
    )
        .prop_map(|(method, segments)| format!("{method}/{}", segments.join("/")))
}

fn pre_inputs(routes: &[RouteSpec], unmatched_allowed: bool) -> String {
    let routes: Vec<Value> = routes
        .iter()
        .map(|r| {
            let mut route = json!({"method": r.method, "path": r.path});
            route
                .as_object_mut()
                .unwrap()
                .extend(r.need.as_object().unwrap().clone());
            route
        })
        .collect();
    json!({
        "validation": {"style": "tokengate"},
        "routes": routes,
        "unmatched_routes": if unmatched_allowed { "allow" } else { "deny" },
    })
    .to_string()
}

/// An authorizer over in-memory stores, and a token of the API key's holding `held`.
async fn stack(config: &str, held: &[&str]) -> (Authorizer, String) {
    let keys = Arc::new(MemoryKeyStore::new());
    keys.create(&client_key(
        API_KEY,
        "secret",
        KeyStatus::Active,
        &["d2ir1"],
    ))
    .await
    .unwrap();
    let tokens = Arc::new(MemoryTokenStore::new());
    let token = AccessToken::mint();
    let now = clock::now_epoch_seconds();
    let scope = std::iter::once("base").chain(held.iter().copied());
    tokens
        .put(&TokenRecord {
            hash: token.hash(),
            key_id: KeyId::parse(API_KEY).unwrap(),
            from_code: None,
            to_code: None,
            scope: scope.collect::<Vec<_>>().join(" "),
            audiences: Default::default(),
            issued_at: now - 1,
            expires_at: now + 600,
        })
        .await
        .unwrap();
    let pre_inputs = PreInputs::parse(config);
    let endpoint = HttpValidationEndpoint::new(pre_inputs.as_ref().ok()).unwrap();
    let store = Arc::new(ReadEach {
        keys: keys.clone(),
        tokens,
    });
    let authorizer = Authorizer::new(pre_inputs, keys, Arc::new(endpoint)).with_token_lookup(store);
    (authorizer, token.expose().to_owned())
}

/// Each REST request's direct decision and its answer, for a token holding `held`.
async fn decide_each(
    config: &str,
    held: &[&str],
    requests: &[String],
) -> Vec<(bool, AuthorizerAnswer)> {
    let (authorizer, token) = stack(config, held).await;
    let mut answers = Vec::new();
    for request in requests {
        let event = AuthorizerEvent::from_value(&json!({
            "type": "REQUEST",
            "methodArn": format!("{ARN_BASE}{request}"),
            "headers": {"X-Api-Key": API_KEY, "Authorization": format!("Bearer {token}")},
            "requestContext": {"stage": "prod"},
        }))
        .unwrap();
        let (decision, answer) = handler::decide(&authorizer, &event, Moment::now()).await;
        answers.push((decision.is_allow(), answer));
    }
    answers
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, max_global_rejects: 4096, ..ProptestConfig::default() })]

    #[test]
    fn any_cached_policy_answers_every_path_as_a_fresh_decision_would(
        routes in prop::collection::vec(route(), 1..5),
        unmatched_allowed in any::<bool>(),
        held in prop::sample::subsequence(SCOPES.to_vec(), 0..=3),
        requests in prop::collection::vec(request(), 1..6),
    ) {
        let config = pre_inputs(&routes, unmatched_allowed);
        // Tables whose overlapping routes conflict are refused by config check.
        prop_assume!(PreInputs::parse(&config).is_ok());
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let answers = runtime.block_on(decide_each(&config, &held, &requests));
        for (_, cached) in &answers {
            for (request, (direct, _)) in requests.iter().zip(&answers) {
                let arn = format!("{ARN_BASE}{request}");
                prop_assert_eq!(policy_allows(cached, &arn), *direct, "{} under {}", request, config);
            }
        }
    }
}

const ORDERS: &str = r#"{
  "validation": {"style": "tokengate"},
  "inject_headers": {"X-Client-Id": "$.client_id"},
  "routes": [
    {"method": "GET", "path": "/orders/{id}", "scopes": ["a"]},
    {"method": "POST", "path": "/orders", "scopes": ["b", "c"], "match": "any"},
    {"method": "*", "path": "/health", "public": true}
  ]
}"#;

#[test]
fn the_policy_allows_the_routes_the_token_may_call_and_denies_the_rest_by_name() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let requests = ["GET/orders/7".to_owned(), "POST/orders".to_owned()];
    let answers = runtime.block_on(decide_each(ORDERS, &["a"], &requests));
    assert!(answers[0].0, "GET /orders/7 needs a, which the token holds");
    assert!(!answers[1].0, "POST /orders needs b or c");
    let refused = serde_json::to_value(&answers[1].1).unwrap();
    let policy = &refused["policyDocument"];
    let resources = |i: usize| policy["Statement"][i]["Resource"].clone();
    assert_eq!(policy["Statement"][0]["Effect"], "Allow");
    assert_eq!(resources(0)[0], format!("{ARN_BASE}GET/orders/*"));
    assert_eq!(
        resources(0).as_array().unwrap().len(),
        8,
        "GET /orders/* and /health's seven methods"
    );
    assert_eq!(policy["Statement"][1]["Effect"], "Deny");
    assert_eq!(resources(1), json!([format!("{ARN_BASE}POST/orders")]));
    let context = &refused["context"];
    assert_eq!(context["error"], "insufficient_scope");
    assert_eq!(
        context["error_description"],
        "The token lacks the scopes this route requires. It needs one of b c."
    );
    assert_eq!(
        context["inject_x_client_id"], API_KEY,
        "the routes it may call keep their headers"
    );
}

#[test]
fn an_http_api_request_is_decided_on_its_route_key() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let decide = |route_key: &'static str, held: &'static [&'static str]| {
        runtime.block_on(decide_each_v2(ORDERS, held, route_key))
    };
    assert!(decide("GET /orders/{id}", &["a"]));
    assert!(!decide("GET /orders/{id}", &["b"]));
    assert!(decide("POST /orders", &["c"]));
    assert!(
        !decide("DELETE /orders/{id}", &["a", "b", "c"]),
        "unmatched routes are denied"
    );
    assert!(!decide("$default", &["a"]));
}

async fn decide_each_v2(config: &str, held: &[&str], route_key: &str) -> bool {
    let (authorizer, token) = stack(config, held).await;
    let event = AuthorizerEvent::from_value(&json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("{ARN_BASE}GET/x"),
        "routeKey": route_key,
        "rawPath": "/x",
        "headers": {"x-api-key": API_KEY, "authorization": format!("Bearer {token}")},
        "requestContext": {"http": {"method": "GET", "path": "/x"}},
    }))
    .unwrap();
    let (decision, answer) = handler::decide(&authorizer, &event, Moment::now()).await;
    assert!(
        matches!(answer, AuthorizerAnswer::Simple(ref simple) if simple.is_authorized == decision.is_allow())
    );
    decision.is_allow()
}

#[test]
fn the_largest_table_config_check_accepts_answers_within_eight_kilobytes() {
    let table = |n: usize| {
        let routes: Vec<Value> = (0..n)
            .map(|i| json!({"method": "GET", "path": format!("/catalogue-item-{i:03}/{{id}}"), "scopes": [if i % 2 == 0 { "a" } else { "b" }]}))
            .collect();
        json!({"validation": {"style": "tokengate"}, "inject_headers": {"X-Client-Id": "$.client_id"}, "routes": routes})
            .to_string()
    };
    let largest = (1..=authorizer::pre_inputs::MAX_ROUTES)
        .take_while(|n| PreInputs::parse(&table(*n)).is_ok())
        .last()
        .unwrap();
    assert!(
        (40..authorizer::pre_inputs::MAX_ROUTES).contains(&largest),
        "{largest}"
    );
    // A method ARN prefix as long as config check assumes: 96 characters to the stage's `/`.
    let stage = format!(
        "arn:aws:execute-api:ap-southeast-2:123456789012:a1b2c3d4e5/{}",
        "s".repeat(36)
    );
    assert_eq!(stage.len() + 1, 96);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let answer = runtime.block_on(async {
        let (authorizer, token) = stack(&table(largest), &["a"]).await;
        let event = AuthorizerEvent::from_value(&json!({
            "type": "REQUEST",
            "methodArn": format!("{stage}/GET/catalogue-item-000/1"),
            "headers": {"X-Api-Key": API_KEY, "Authorization": format!("Bearer {token}")},
            "requestContext": {"stage": "prod"},
        }))
        .unwrap();
        handler::decide(&authorizer, &event, Moment::now()).await.1
    });
    let text = serde_json::to_string(&answer).unwrap();
    assert!(text.len() < 8_192, "{largest} routes: {} bytes", text.len());
    assert!(text.contains("\"Allow\"") && text.contains("\"Deny\""));
}
