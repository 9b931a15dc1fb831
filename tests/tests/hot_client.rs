//! `revocation_lag_seconds` end to end: one authorizer process under the Runtime API
//! harness, its DynamoDB moto behind the counting proxy. A revoked token is allowed while
//! the record read before the revocation is younger than the lag, and denied after; the
//! proxy counts one read per lag however many decisions were made.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokengate_shared::store::dynamodb::DynamoTokenStore;
use tokengate_shared::{KeyId, TokenHash, TokenStore};
use tokengate_tests::environments::Environments;
use tokengate_tests::fixtures::PreInputsFile;
use tokengate_tests::scale::{Setting, hot_client};
use tokengate_tests::{DynamoCounter, Moto, sdk_env, unique_name};

fn authorizer() -> PathBuf {
    let scale = PathBuf::from(env!("CARGO_BIN_EXE_scale"));
    scale.parent().unwrap().join("authorizer")
}

fn error(answer: &serde_json::Value) -> Option<&str> {
    answer["context"]["error"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_allowed_within_the_lag_of_its_last_read_and_denied_after() {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    let plans_table = unique_name("plans");
    let setting = Setting {
        lag_seconds: 2,
        eventual: false,
        counted: false,
    };
    let event = hot_client(&moto, &keys_table, &tokens_table, &plans_table, setting).await;
    let counter = DynamoCounter::start(moto.endpoint()).await;
    let mut env = sdk_env(&counter.endpoint());
    env.push(("KEYS_TABLE".into(), keys_table));
    env.push(("TOKENS_TABLE".into(), tokens_table.clone()));
    let pre_inputs =
        serde_json::json!({"validation": {"style": "tokengate", "revocation_lag_seconds": 2}});
    let _file = PreInputsFile::write(&mut env, &pre_inputs);
    let environment = Environments::start(&authorizer(), 1, &env).await;

    // The record is read between these two instants.
    let asked = Instant::now();
    let first = environment.invoke(event.clone()).await.unwrap();
    let answered = Instant::now();
    assert_eq!(error(&first), None, "{first}");
    for _ in 0..20 {
        let again = environment.invoke(event.clone()).await.unwrap();
        assert_eq!(error(&again), None, "{again}");
    }
    let reads = counter.take();
    assert_eq!(
        reads.iter().filter(|op| *op == "BatchGetItem").count(),
        1,
        "21 decisions, one read: {reads:?}"
    );

    // Revoke the token as token-issuer does (RFC 7009): the item is deleted.
    let body: serde_json::Value = serde_json::from_slice(&event).unwrap();
    let bearer = body["headers"]["Authorization"].as_str().unwrap();
    let owner = KeyId::parse(body["headers"]["X-Api-Key"].as_str().unwrap()).unwrap();
    let hash = TokenHash::of(bearer.trim_start_matches("Bearer "));
    DynamoTokenStore::new(moto.client(), &tokens_table)
        .revoke(&hash, &owner)
        .await
        .unwrap();
    let within = environment.invoke(event.clone()).await.unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "the machine stalled past the lag; nothing was tested"
    );
    assert_eq!(error(&within), None, "still inside the lag: {within}");

    let lag_over = answered + Duration::from_secs(2);
    tokio::time::sleep_until(lag_over.into()).await;
    let after = environment.invoke(event.clone()).await.unwrap();
    assert_eq!(error(&after), Some("TokenValidationFails"), "{after}");
    let description = after["context"]["error_description"].as_str().unwrap();
    assert!(description.starts_with("The token is unknown"), "{after}");
}
