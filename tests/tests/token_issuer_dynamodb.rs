//! The token issuer's handler over the DynamoDB stores, against moto's server.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use serde_json::Value;
use token_issuer::settings::Throttle;
use token_issuer::{TokenService, handler};
use tokengate_shared::store::dynamodb::{DynamoKeyStore, DynamoTokenStore, StoreLimits};
use tokengate_shared::{ClientKey, KeyAdmin, KeyReader, Secret, SystemCode};
use tokengate_tests::{ClosedPort, Moto, StalledPort, dynamodb_client};

fn service(client: aws_sdk_dynamodb::Client, keys: &str, tokens: &str) -> TokenService {
    TokenService::new(
        Arc::new(DynamoKeyStore::new(client.clone(), keys)),
        Arc::new(DynamoTokenStore::new(client, tokens)),
        599,
    )
}

async fn provision(store: &dyn KeyAdmin, code: &str) -> (ClientKey, Secret) {
    let codes: BTreeSet<SystemCode> = [SystemCode::parse(code).unwrap()].into();
    let (key, secret) = ClientKey::generate(codes, None, 1);
    store.create(&key).await.unwrap();
    (key, secret)
}

fn token_request(key: &str, secret: &str, from: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/innreach/v2/oauth2/token?grant_type=client_credentials&scope=innreach_tp")
        .header(
            "Authorization",
            format!("Basic {}", STANDARD.encode(format!("{key}:{secret}"))),
        )
        .header("X-From-Code", from)
        .header("X-To-Code", "abcde")
        .header("X-Request-Creation-Time", "1544466568")
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .body(Body::Empty)
        .unwrap()
}

fn introspection_request(key: &str, secret: &str, token: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/oauth2/introspect")
        .header(
            "Authorization",
            format!("Basic {}", STANDARD.encode(format!("{key}:{secret}"))),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::Text(format!("token={token}")))
        .unwrap()
}

async fn send(service: &TokenService, request: Request) -> (StatusCode, Value) {
    let response = handler::handle(service, request).await.unwrap();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("expected JSON text, got {other:?}"),
    };
    (response.status(), body)
}

#[tokio::test]
async fn a_key_provisioned_in_dynamodb_gets_a_token_that_introspects_active() {
    let moto = Moto::start();
    let (keys, tokens) = moto.fresh_tables().await;
    let service = service(moto.client(), &keys, &tokens);
    let (key, secret) = provision(&DynamoKeyStore::new(moto.client(), &keys), "d2ir1").await;

    let (status, body) = send(
        &service,
        token_request(key.id.as_str(), secret.expose(), "d2ir1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();

    let (status, body) = send(
        &service,
        introspection_request(key.id.as_str(), secret.expose(), token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], key.id.as_str());
}

#[tokio::test]
async fn the_tokens_table_holds_the_hash_and_a_ttl_but_never_the_token() {
    let moto = Moto::start();
    let (keys, tokens) = moto.fresh_tables().await;
    let service = service(moto.client(), &keys, &tokens);
    let (key, secret) = provision(&DynamoKeyStore::new(moto.client(), &keys), "d2ir1").await;
    let (_, body) = send(
        &service,
        token_request(key.id.as_str(), secret.expose(), "d2ir1"),
    )
    .await;
    let token = body["access_token"].as_str().unwrap();

    let scan = moto
        .client()
        .scan()
        .table_name(&tokens)
        .send()
        .await
        .unwrap();
    let items = scan.items();
    assert_eq!(items.len(), 1);
    let dump = format!("{:?}", items[0]);
    assert!(!dump.contains(token), "the raw token is stored: {dump}");
    assert!(items[0].contains_key("expires_at"));
    assert!(items[0]["token_hash"].as_s().unwrap().len() == 64);

    let keys_dump = format!(
        "{:?}",
        moto.client()
            .scan()
            .table_name(&keys)
            .send()
            .await
            .unwrap()
            .items()
    );
    assert!(
        !keys_dump.contains(secret.expose()),
        "the raw secret is stored"
    );
}

#[tokio::test]
async fn a_key_valid_for_another_code_is_refused_by_dynamodb_too() {
    let moto = Moto::start();
    let (keys, tokens) = moto.fresh_tables().await;
    let service = service(moto.client(), &keys, &tokens);
    let (key, secret) = provision(&DynamoKeyStore::new(moto.client(), &keys), "zzzzz").await;
    let (status, body) = send(
        &service,
        token_request(key.id.as_str(), secret.expose(), "d2ir1"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn a_store_that_is_down_answers_503_json_without_detail() {
    let closed = ClosedPort::new();
    let endpoint = closed.url();
    let service = service(dynamodb_client(&endpoint), "keys", "tokens");
    let (status, body) = send(&service, token_request("some-key", "some-secret", "d2ir1")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no internals in the body: {body}"
    );
}

#[tokio::test]
async fn a_stalled_store_answers_503_within_the_operation_timeout_for_tokens_and_introspection() {
    let stalled = StalledPort::new();
    let limits = StoreLimits::default();
    let service = service(dynamodb_client(&stalled.url()), "keys", "tokens");
    for request in [
        token_request("some-key", "some-secret", "d2ir1"),
        introspection_request(
            "some-key",
            "some-secret",
            "0123456789abcdef0123456789abcdef",
        ),
    ] {
        let started = std::time::Instant::now();
        let (status, body) = send(&service, request).await;
        let elapsed = started.elapsed();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"], "temporarily_unavailable");
        // Bounded by the operation timeout, with room for a loaded machine.
        assert!(
            elapsed < limits.operation + std::time::Duration::from_secs(2),
            "answered after {elapsed:?}"
        );
        println!("stalled store answered 503 after {elapsed:?}");
    }
}

#[tokio::test]
async fn failures_counted_in_dynamodb_throttle_wrong_secrets_and_never_the_right_one() {
    let moto = Moto::start();
    let (keys, tokens) = moto.fresh_tables().await;
    let service = service(moto.client(), &keys, &tokens).with_throttle(Throttle {
        max_failures: 3,
        window_seconds: 2,
    });
    let store = DynamoKeyStore::new(moto.client(), &keys);
    let (key, secret) = provision(&store, "d2ir1").await;
    let id = key.id.as_str();
    for _ in 0..3 {
        let (status, _) = send(&service, token_request(id, "wrong", "d2ir1")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let stored = store.get(&key.id).await.unwrap().unwrap();
    assert_eq!(stored.failures.count, 3, "counted in the key's own record");

    let response = handler::handle(&service, token_request(id, "wrong", "d2ir1"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = send(&service, token_request(id, secret.expose(), "d2ir1")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the right secret is never refused: {body}"
    );

    tokio::time::sleep(std::time::Duration::from_millis(3_100)).await;
    let (status, _) = send(&service, token_request(id, "wrong", "d2ir1")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a new window");
}

#[tokio::test]
async fn wrong_secrets_past_the_limit_are_throttled_and_counted_no_further_in_dynamodb() {
    // One at a time: moto applies a conditional write without DynamoDB's atomicity, so a
    // concurrent run would test moto's races, not the condition. Exactness under
    // concurrency is DynamoDB's conditional-write guarantee, and the in-memory store's
    // test (`sixty_concurrent_wrong_secrets_are_counted_exactly_against_a_limit_of_ten`).
    let moto = Moto::start();
    let (keys, tokens) = moto.fresh_tables().await;
    let service = service(moto.client(), &keys, &tokens);
    let store = DynamoKeyStore::new(moto.client(), &keys);
    let (key, _) = provision(&store, "d2ir1").await;
    let mut refused = 0;
    for _ in 0..15 {
        let (status, _) = send(&service, token_request(key.id.as_str(), "wrong", "d2ir1")).await;
        if status == StatusCode::UNAUTHORIZED {
            refused += 1;
        } else {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        }
    }
    assert_eq!(
        refused, 10,
        "TOKEN_MAX_FAILURES answered, the rest throttled"
    );
    let stored = store.get(&key.id).await.unwrap().unwrap();
    assert_eq!(
        stored.failures.count, 10,
        "a full window is written no further"
    );
}

#[tokio::test]
async fn a_key_record_written_before_keys_had_scopes_still_gets_innreach_tp_on_both_paths() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let moto = Moto::start();
    let (keys, tokens) = moto.fresh_tables().await;
    // The record exactly as tokengate wrote keys before scopes existed: no scopes,
    // audiences or lifetime attributes.
    let secret = Secret::from("a-secret-from-before".to_owned());
    let s = |v: &str| AttributeValue::S(v.to_owned());
    moto.client()
        .put_item()
        .table_name(&keys)
        .item("key_id", s("legacy-key"))
        .item(
            "secret_hash",
            s(&tokengate_shared::SecretHash::of(&secret).encode()),
        )
        .item("status", s("active"))
        .item("codes", AttributeValue::Ss(vec!["d2ir1".into()]))
        .item("created_at", AttributeValue::N("1".into()))
        .item("updated_at", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let service = service(moto.client(), &keys, &tokens);
    let (status, inn_reach) = send(
        &service,
        token_request("legacy-key", secret.expose(), "d2ir1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{inn_reach}");
    let standard = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/oauth2/token")
        .header(
            "Authorization",
            format!(
                "Basic {}",
                STANDARD.encode(format!("legacy-key:{}", secret.expose()))
            ),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::Text("grant_type=client_credentials".into()))
        .unwrap();
    let (status, standard) = send(&service, standard).await;
    assert_eq!(status, StatusCode::OK, "{standard}");
    assert_eq!(standard["scope"], "innreach_tp");
    for issued in [&inn_reach, &standard] {
        let token = issued["access_token"].as_str().unwrap();
        let (_, claims) = send(
            &service,
            introspection_request("legacy-key", secret.expose(), token),
        )
        .await;
        assert_eq!(claims["scope"], "innreach_tp", "{claims}");
        assert!(claims.get("aud").is_none(), "{claims}");
    }
}
