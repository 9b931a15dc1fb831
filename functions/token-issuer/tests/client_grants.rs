//! Clients with scopes, audiences and a token lifetime of their own, at `/oauth2/token` and
//! in introspection; keys written before grants existed hold `innreach_tp` on both paths.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use serde_json::Value;
use token_issuer::{TokenService, handler};
use tokengate_shared::store::memory::{MemoryKeyStore, MemoryTokenStore};
use tokengate_shared::{Grants, KeyAdmin, KeyStatus};
use tokengate_tests::fixtures::{
    FIXTURE_KEY, FIXTURE_SECRET, basic, client_key, grants, inn_reach_lambda_request,
};

const ORDERS: &str = "3f2b8a9e-5c1d-4e7f-8a6b-9c0d1e2f3a4b";
const ORDERS_SECRET: &str = "orders-client-secret";
const API: &str = "https://api.example.com";
const REPORTS: &str = "urn:example:reports";

/// A token service with the fixtures' key as today's code writes it (no grants), and an
/// orders client with two scopes, two audiences and a 60 s lifetime.
async fn service() -> TokenService {
    let keys = Arc::new(MemoryKeyStore::new());
    let legacy = client_key(FIXTURE_KEY, FIXTURE_SECRET, KeyStatus::Active, &["d2ir1"]);
    keys.create(&legacy).await.unwrap();
    let mut orders = client_key(ORDERS, ORDERS_SECRET, KeyStatus::Active, &[]);
    orders.grants = Grants {
        token_ttl: Some(60),
        token_format: None,
        ..grants(&["orders.read", "orders.write"], &[API, REPORTS])
    }
    .into();
    keys.create(&orders).await.unwrap();
    TokenService::new(keys, Arc::new(MemoryTokenStore::new()), 599)
}

fn form(path: &str, key: &str, secret: &str, body: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("Authorization", basic(key, secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::Text(body.to_owned()))
        .unwrap()
}

async fn send(service: &TokenService, request: Request) -> (StatusCode, Value) {
    let response = handler::handle(service, request).await.unwrap();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("a JSON text body, not {other:?}"),
    };
    (response.status(), body)
}

async fn token(service: &TokenService, body: &str) -> (StatusCode, Value) {
    let request = form("/oauth2/token", ORDERS, ORDERS_SECRET, body);
    send(service, request).await
}

async fn introspect(service: &TokenService, token: &Value) -> Value {
    let body = format!("token={}", token["access_token"].as_str().unwrap());
    let request = form("/oauth2/introspect", ORDERS, ORDERS_SECRET, &body);
    send(service, request).await.1
}

#[tokio::test]
async fn a_client_asking_for_nothing_gets_every_scope_and_audience_it_holds_and_is_told_so() {
    let service = service().await;
    let (status, answer) = token(&service, "grant_type=client_credentials").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["scope"], "orders.read orders.write", "RFC 6749 §5.1");
    assert_eq!(answer["expires_in"], 60, "the client's own lifetime");
    let claims = introspect(&service, &answer).await;
    assert_eq!(claims["active"], true);
    assert_eq!(claims["scope"], "orders.read orders.write");
    assert_eq!(claims["aud"], serde_json::json!([API, REPORTS]));
}

#[tokio::test]
async fn a_client_gets_exactly_the_scopes_and_audience_it_asks_for_and_holds() {
    let service = service().await;
    let (status, answer) = token(
        &service,
        "grant_type=client_credentials&scope=orders.read&resource=https%3A%2F%2Fapi.example.com",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.get("scope").is_none(), "granted as asked: {answer}");
    let claims = introspect(&service, &answer).await;
    assert_eq!(claims["scope"], "orders.read");
    assert_eq!(claims["aud"], API, "one audience is a string");
    // Auth0's and Cognito's spelling.
    let (status, answer) = token(
        &service,
        "grant_type=client_credentials&audience=urn%3Aexample%3Areports",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(introspect(&service, &answer).await["aud"], REPORTS);
}

#[tokio::test]
async fn more_than_the_client_holds_is_refused_naming_what_it_does_not_hold() {
    let service = service().await;
    let cases = [
        ("scope=orders.read%20admin", "invalid_scope", "'admin'"),
        ("scope=innreach_tp", "invalid_scope", "'innreach_tp'"),
        ("scope=bad%22quote", "invalid_scope", "RFC 6749"),
        (
            "resource=https%3A%2F%2Fother.example.com",
            "invalid_target",
            "'https://other.example.com'",
        ),
        ("resource=not-a-uri", "invalid_target", "'not-a-uri'"),
        (
            &format!("resource=urn:{}", "x".repeat(900)),
            "invalid_target",
            "is not an audience",
        ),
    ];
    for (extra, error, named) in cases {
        let (status, answer) =
            token(&service, &format!("grant_type=client_credentials&{extra}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra}: {answer}");
        assert_eq!(answer["error"], error, "{extra}: {answer}");
        let description = answer["error_description"].as_str().unwrap();
        assert!(description.contains(named), "{extra}: {description}");
        assert!(
            description.len() < 160,
            "a refusal names at most 64 characters: {description}"
        );
    }
}

#[tokio::test]
async fn a_key_written_before_grants_existed_holds_innreach_tp_on_both_paths() {
    let service = service().await;
    let request = form(
        "/oauth2/token",
        FIXTURE_KEY,
        FIXTURE_SECRET,
        "grant_type=client_credentials",
    );
    let (status, answer) = send(&service, request).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["scope"], "innreach_tp");
    let (status, answer) = send(
        &service,
        inn_reach_lambda_request(FIXTURE_KEY, FIXTURE_SECRET),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        answer.get("scope").is_none(),
        "INN-Reach's answer is unchanged: {answer}"
    );
    assert_eq!(answer["expires_in"], 599);
}

#[tokio::test]
async fn inn_reachs_path_refuses_a_key_that_does_not_hold_innreach_tp() {
    let service = service().await;
    let (status, answer) = send(&service, inn_reach_lambda_request(ORDERS, ORDERS_SECRET)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"], "invalid_token");
}
