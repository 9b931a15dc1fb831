//! The cache-flusher binary under the Runtime API harness, fed the records moto's DynamoDB
//! Streams recorded for real writes by the stores. moto does not implement API Gateway's
//! `FlushStageAuthorizersCache`: the flush goes to a loopback server that speaks that one
//! operation's HTTP shape (`DELETE /restapis/{id}/stages/{stage}/cache/authorizers`, 202,
//! no body) and records the SDK's requests, which are checked field by field.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};
use tokengate_shared::store::dynamodb::{DynamoKeyStore, DynamoTokenStore};
use tokengate_shared::{
    AccessToken, FailureLimit, KeyAdmin, KeyId, KeyStatus, SystemCode, TokenRecord, TokenStore,
    clock,
};
use tokengate_shared::{FailureLog, KeyReader as _};
use tokengate_tests::Moto;
use tokengate_tests::coldstart::measure;
use tokengate_tests::fixtures::client_key;

const KEY: &str = "6f1a0c1e-1b1f-4d6b-9a57-0c8f3f1d2e3a";
const STAGES: &str = "abc123defg/prod,xyz789abcd/v1";

/// One request the SDK made, as the loopback API Gateway saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

#[derive(Clone, Default)]
struct Gateway {
    seen: Arc<Mutex<Vec<Seen>>>,
    refuse: bool,
}

async fn flush(
    State(gateway): State<Gateway>,
    Path((api, stage)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, String) {
    gateway.seen.lock().unwrap().push(Seen {
        method,
        path: format!("/restapis/{api}/stages/{stage}/cache/authorizers"),
        headers,
        body: body.to_vec(),
    });
    if gateway.refuse {
        let refusal = json!({"message": "Too Many Requests"}).to_string();
        return (StatusCode::TOO_MANY_REQUESTS, refusal);
    }
    (StatusCode::ACCEPTED, String::new())
}

/// The loopback API Gateway: the one route, anything else a 404 the test would see.
async fn gateway(refuse: bool) -> (Gateway, String) {
    let state = Gateway {
        refuse,
        ..Gateway::default()
    };
    let router = axum::Router::new()
        .route(
            "/restapis/{api}/stages/{stage}/cache/authorizers",
            axum::routing::any(flush),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (state, format!("http://{address}"))
}

/// moto's DynamoDB Streams, spoken as JSON (moto checks no signature).
async fn streams(moto: &Moto, target: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .post(moto.endpoint())
        .header("x-amz-target", format!("DynamoDBStreams_20120810.{target}"))
        .header("content-type", "application/x-amz-json-1.0")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/dynamodb/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    answer.json().await.unwrap()
}

/// Every record the table's stream holds, as Lambda hands them over.
async fn stream_records(moto: &Moto, table: &str) -> Vec<Value> {
    let described = moto.client().describe_table().table_name(table);
    let described = described.send().await.unwrap();
    let arn = described
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    let stream = streams(moto, "DescribeStream", json!({"StreamArn": arn})).await;
    let mut records = Vec::new();
    for shard in stream["StreamDescription"]["Shards"].as_array().unwrap() {
        let iterator = streams(
            moto,
            "GetShardIterator",
            json!({"StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}),
        )
        .await;
        let got = streams(
            moto,
            "GetRecords",
            json!({"ShardIterator": iterator["ShardIterator"]}),
        )
        .await;
        for mut record in got["Records"].as_array().unwrap().clone() {
            record["eventSourceARN"] = json!(arn);
            records.push(record);
        }
    }
    records
}

async fn with_streams(moto: &Moto, table: &str) {
    let spec = StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .unwrap();
    let update = moto.client().update_table().table_name(table);
    update.stream_specification(spec).send().await.unwrap();
}

fn flusher_binary() -> PathBuf {
    let coldstart = PathBuf::from(env!("CARGO_BIN_EXE_coldstart"));
    coldstart.parent().unwrap().join("cache-flusher")
}

/// Runs the flusher on one batch; its answer, or what it reported.
async fn run_flusher(endpoint: &str, records: &[Value]) -> Result<Value, String> {
    let env = [
        ("FLUSH_STAGES", STAGES),
        ("AWS_ENDPOINT_URL_API_GATEWAY", endpoint),
        ("DYNAMODB_MAX_ATTEMPTS", "1"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let event = serde_json::to_vec(&json!({"Records": records})).unwrap();
    let limit = Duration::from_secs(20);
    let ran = measure(&flusher_binary(), &[], &env, &event, limit, || {}).await;
    ran.map(|cold| cold.answer)
}

/// The key's stream: created, one failed attempt counted, then disabled.
async fn key_history(moto: &Moto) -> (Vec<Value>, String) {
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    with_streams(moto, &keys_table).await;
    let keys = DynamoKeyStore::new(moto.client(), &keys_table);
    let id = KeyId::parse(KEY).unwrap();
    let key = client_key(KEY, "secret", KeyStatus::Active, &["d2ir1"]);
    keys.create(&key).await.unwrap();
    let limit = FailureLimit {
        max: 10,
        window: 300,
    };
    let now = clock::now_epoch_seconds();
    keys.reserve_failure(&id, now, limit).await.unwrap();
    keys.set_status(&id, KeyStatus::Disabled, now)
        .await
        .unwrap();
    assert_eq!(
        keys.get(&id).await.unwrap().unwrap().status,
        KeyStatus::Disabled
    );
    (stream_records(moto, &keys_table).await, tokens_table)
}

#[tokio::test]
async fn a_disabled_key_flushes_each_named_stage_once_and_an_unrelated_change_flushes_none() {
    let moto = Moto::start();
    let (records, _) = key_history(&moto).await;
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["INSERT", "MODIFY", "MODIFY"],
        "created, counted, disabled"
    );
    let (gateway, endpoint) = gateway(false).await;

    // The key's creation and its failure count: nothing a cached Allow depends on.
    let unrelated = run_flusher(&endpoint, &records[..2]).await.unwrap();
    assert!(gateway.seen.lock().unwrap().is_empty(), "{unrelated}");
    assert_eq!(unrelated["flushed"], json!([]));

    let answer = run_flusher(&endpoint, &records).await.unwrap();
    assert_eq!(answer["keys_changed"], 1, "{answer}");
    assert_eq!(
        answer["flushed"],
        json!(["abc123defg/prod", "xyz789abcd/v1"])
    );
    let seen = gateway.seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/restapis/abc123defg/stages/prod/cache/authorizers",
            "/restapis/xyz789abcd/stages/v1/cache/authorizers"
        ],
        "exactly one call per stage"
    );
    for request in &seen {
        assert_eq!(request.method, Method::DELETE);
        assert!(
            request.body.is_empty(),
            "FlushStageAuthorizersCache has no body"
        );
        let header = |name: &str| request.headers.get(name).unwrap().to_str().unwrap();
        let authorization = header("authorization");
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=")
                && authorization.contains("/us-east-1/apigateway/aws4_request"),
            "signed for API Gateway in the function's region: {authorization}"
        );
        assert!(header("x-amz-date").ends_with('Z'));
        assert_eq!(header("x-amz-security-token"), "coldstart");
        assert!(
            header("user-agent").contains("api/apigateway/"),
            "{}",
            header("user-agent")
        );
    }
}

#[tokio::test]
async fn a_revoked_token_flushes_and_a_new_one_does_not() {
    let moto = Moto::start();
    let (_, tokens_table) = key_history(&moto).await;
    with_streams(&moto, &tokens_table).await;
    let tokens = DynamoTokenStore::new(moto.client(), &tokens_table);
    let token = AccessToken::mint();
    let now = clock::now_epoch_seconds();
    let record = TokenRecord {
        hash: token.hash(),
        key_id: KeyId::parse(KEY).unwrap(),
        from_code: SystemCode::parse("d2ir1").ok(),
        to_code: None,
        scope: "innreach_tp".into(),
        audiences: Default::default(),
        issued_at: now,
        expires_at: now + 600,
    };
    tokens.put(&record).await.unwrap();
    let (gateway, endpoint) = gateway(false).await;
    let issued = stream_records(&moto, &tokens_table).await;
    run_flusher(&endpoint, &issued).await.unwrap();
    assert!(
        gateway.seen.lock().unwrap().is_empty(),
        "issuing flushes nothing"
    );

    let owner = KeyId::parse(KEY).unwrap();
    tokens.revoke(&token.hash(), &owner).await.unwrap();
    let records = stream_records(&moto, &tokens_table).await;
    let answer = run_flusher(&endpoint, &records).await.unwrap();
    assert_eq!(answer["tokens_revoked"], 1, "{answer}");
    assert_eq!(gateway.seen.lock().unwrap().len(), 2, "one per stage");
}

#[tokio::test]
async fn a_flush_api_gateway_refuses_fails_the_batch_so_that_lambda_retries_it() {
    let moto = Moto::start();
    let (records, _) = key_history(&moto).await;
    let (gateway, endpoint) = gateway(true).await;
    let reported = run_flusher(&endpoint, &records).await.unwrap_err();
    assert!(
        reported.contains("the function reported")
            && reported.contains("flushing the authorizer cache of abc123defg/prod failed"),
        "{reported}"
    );
    assert_eq!(
        gateway.seen.lock().unwrap().len(),
        1,
        "stops at the first failure"
    );
}

#[tokio::test]
async fn the_flusher_cannot_start_without_its_stages_and_says_so() {
    let env = [(
        "AWS_ENDPOINT_URL_API_GATEWAY".to_owned(),
        "http://127.0.0.1:9".to_owned(),
    )];
    let reported = measure(
        &flusher_binary(),
        &[],
        &env,
        b"{}",
        Duration::from_secs(20),
        || {},
    )
    .await
    .unwrap_err();
    assert!(reported.contains("FLUSH_STAGES must be set"), "{reported}");
}
