//! Standard OAuth 2.0 clients against the token-issuer binary under cargo-lambda's
//! emulator, with moto as DynamoDB: authlib and requests-oauthlib with both client
//! authentication methods, and openid-client through discovery. Each gets a token at
//! `/oauth2/token` unchanged, introspects it, revokes it, and sees it inactive.

#![allow(clippy::unwrap_used)]

use tokengate_shared::store::dynamodb::DynamoKeyStore;
use tokengate_shared::{ClientKey, KeyAdmin};
use tokengate_tests::clients::{
    assert_client_run, openid_client, openid_client_grants, python_clients, python_grants,
};
use tokengate_tests::fixtures::grants;
use tokengate_tests::{FIXTURE_KEY, FIXTURE_SECRET, LambdaEmulator, Moto, free_port};

/// token-issuer under the emulator over these tables, and the issuer URL it announces.
fn token_issuer(moto: &Moto, keys_table: String, tokens_table: String) -> (LambdaEmulator, String) {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}/lambda-url/token-issuer");
    let mut env = moto.env();
    env.push(("KEYS_TABLE".into(), keys_table));
    env.push(("TOKENS_TABLE".into(), tokens_table));
    env.push(("ISSUER_URL".into(), issuer.clone()));
    (LambdaEmulator::start_on(port, &env), issuer)
}

#[tokio::test]
async fn standard_oauth_clients_get_introspect_and_revoke_tokens_from_the_token_issuer_binary() {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    moto.provision_fixture_key(&keys_table).await;
    let (emulator, issuer) = token_issuer(&moto, keys_table, tokens_table);

    // The first request compiles the function; the metadata document is public.
    let metadata_url =
        emulator.function_url("token-issuer", "/.well-known/oauth-authorization-server");
    let metadata = LambdaEmulator::json_answer(reqwest::Client::new().get(&metadata_url)).await;
    assert_eq!(metadata["issuer"], issuer.as_str());
    assert_eq!(
        metadata["revocation_endpoint"],
        format!("{issuer}/oauth2/revoke")
    );

    let runs = python_clients(&issuer, FIXTURE_KEY, FIXTURE_SECRET);
    let seen: Vec<(String, String)> = runs
        .iter()
        .map(|r| {
            (
                r["library"].as_str().unwrap().to_owned(),
                r["method"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 4, "{runs:?}");
    for run in &runs {
        assert_client_run(run, FIXTURE_KEY);
        assert_eq!(run["expires_in"], 599, "{run}");
    }

    // openid-client discovers the endpoints from the metadata document's URL: under a
    // path (a stage, here the emulator's), RFC 8414's own location is outside it.
    for method in ["client_secret_basic", "client_secret_post"] {
        let run = openid_client(&metadata_url, FIXTURE_KEY, FIXTURE_SECRET, method);
        assert_client_run(&run, FIXTURE_KEY);
        assert_eq!(run["issuer"], issuer.as_str(), "{run}");
    }
}

#[tokio::test]
async fn standard_clients_get_exactly_the_scopes_and_audience_a_client_holds_and_errors_beyond() {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    let (mut key, secret) = ClientKey::generate(Default::default(), None, 1);
    key.grants = grants(
        &["orders.read", "orders.write"],
        &["https://api.example.com", "urn:example:reports"],
    )
    .into();
    DynamoKeyStore::new(moto.client(), &keys_table)
        .create(&key)
        .await
        .unwrap();
    let (emulator, issuer) = token_issuer(&moto, keys_table, tokens_table);
    let metadata_url =
        emulator.function_url("token-issuer", "/.well-known/oauth-authorization-server");
    // The first request compiles the function.
    LambdaEmulator::json_answer(reqwest::Client::new().get(&metadata_url)).await;

    let client = (key.id.as_str(), secret.expose());
    let api = "https://api.example.com";
    let mut runs = python_grants(&issuer, client, "orders.read", api);
    runs.push(openid_client_grants(
        &metadata_url,
        client,
        "orders.read",
        api,
    ));
    assert_eq!(runs.len(), 3, "{runs:?}");
    for run in &runs {
        assert_eq!(run["active"], true, "{run}");
        assert_eq!(run["scope"], "orders.read", "exactly what was asked: {run}");
        assert_eq!(run["aud"], api, "{run}");
        assert_eq!(run["unheld_scope"], "invalid_scope", "{run}");
        assert_eq!(run["foreign_resource"], "invalid_target", "{run}");
    }
}
