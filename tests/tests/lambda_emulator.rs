//! token-issuer under cargo-lambda's runtime emulator, with moto as DynamoDB: the real
//! runtime path, from an HTTP request at a function URL to a DynamoDB write.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use tokengate_shared::TokenHash;
use tokengate_tests::{
    FIXTURE_KEY, FIXTURE_SECRET, LambdaEmulator, Moto, basic, inn_reach_token_request,
    workspace_root,
};

#[tokio::test]
async fn the_token_issuer_issues_and_introspects_under_the_lambda_emulator_with_dynamodb() {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    moto.provision_fixture_key(&keys_table).await;

    let mut env = moto.env();
    env.push(("KEYS_TABLE".into(), keys_table));
    env.push(("TOKENS_TABLE".into(), tokens_table.clone()));
    env.push(("TOKEN_TTL_SECONDS".into(), "900".into()));
    let emulator = LambdaEmulator::start(&env);
    let http = reqwest::Client::new();
    let token_url = emulator.function_url("token-issuer", "/innreach/v2/oauth2/token");

    // A valid request through the function URL gets a token, written to DynamoDB as a hash.
    let response = inn_reach_token_request(&http, &token_url, &basic(FIXTURE_KEY, FIXTURE_SECRET))
        .timeout(LambdaEmulator::FIRST_REQUEST_TIMEOUT)
        .send()
        .await
        .expect("the emulator answers once the function is built");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let token = body["access_token"].as_str().unwrap().to_owned();
    let stored = moto
        .client()
        .get_item()
        .table_name(&tokens_table)
        .key(
            "token_hash",
            aws_sdk_dynamodb::types::AttributeValue::S(TokenHash::of(&token).to_hex()),
        )
        .send()
        .await
        .unwrap();
    assert!(
        stored.item().is_some(),
        "the token's hash is in the tokens table"
    );

    // The same function introspects it.
    let introspection: Value = http
        .post(emulator.function_url("token-issuer", "/oauth2/introspect"))
        .header("Authorization", basic(FIXTURE_KEY, FIXTURE_SECRET))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["client_id"], FIXTURE_KEY);

    // A wrong secret is a 401 with a Basic challenge.
    let refused = inn_reach_token_request(&http, &token_url, &basic(FIXTURE_KEY, "wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(
        refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");

    // A malformed request is a 400 naming the part.
    let malformed = http
        .post(&token_url)
        .query(&[("grant_type", "client_credentials")])
        .header("Authorization", basic(FIXTURE_KEY, FIXTURE_SECRET))
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("X-From-Code", "d2ir1")
        .header("X-To-Code", "abcde")
        .header("X-Request-Creation-Time", "1544466568")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "The scope parameter is required."
    );

    // The event fixtures work with `cargo lambda invoke --data-file`, as DEVELOP.md shows.
    for fixture in ["token-request-rest-api.json", "token-request-http-api.json"] {
        let path = workspace_root()
            .join("functions/token-issuer/events")
            .join(fixture);
        let answer = emulator.invoke("token-issuer", &path);
        assert_eq!(answer["statusCode"], 200, "{fixture}: {answer}");
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body["access_token"].as_str().map(str::len),
            Some(32),
            "{fixture}"
        );
    }
}
