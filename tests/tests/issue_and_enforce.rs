//! The two functions enforcing each other under cargo-lambda's emulator, with moto as
//! DynamoDB: token-issuer mints a token, and the authorizer validates it at token-issuer's
//! own introspection endpoint (`rfc7662` style) or reads it from DynamoDB (`tokengate`
//! style). And the authorizer binary in `jwt` style, enforcing node oidc-provider's JWT
//! access tokens.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use tokengate_shared::store::dynamodb::DynamoKeyStore;
use tokengate_shared::{KeyAdmin, KeyId, KeyStatus};
use tokengate_tests::fixtures::{PreInputsFile, client_key, rest_api_event};
use tokengate_tests::{
    DynamoCounter, FIXTURE_KEY, FIXTURE_SECRET, LambdaEmulator, Moto, basic, free_port,
    inn_reach_token_request, sdk_env, workspace_root,
};

/// The REST API event fixture with this `Authorization` value, in both header maps as API
/// Gateway sends it (the authorizer reads every value).
fn fixture_event_with_authorization(value: &str) -> Value {
    let mut event = rest_api_event();
    event["headers"]["Authorization"] = json!(value);
    event["multiValueHeaders"]["Authorization"] = json!([value]);
    event
}

/// Both functions under the emulator on `port`, over moto's `tables` (keys, tokens), the
/// authorizer with `pre_inputs`; the pre-inputs file lives as long as the second value.
fn emulator_with(
    moto: &Moto,
    tables: (String, String),
    pre_inputs: &Value,
    port: u16,
) -> (LambdaEmulator, PreInputsFile) {
    let mut env = moto.env();
    env.push(("KEYS_TABLE".into(), tables.0));
    env.push(("TOKENS_TABLE".into(), tables.1));
    let file = PreInputsFile::write(&mut env, pre_inputs);
    (LambdaEmulator::start_on(port, &env), file)
}

/// The authorizer's answer to `event`, invoked through the emulator's Invoke API.
async fn authorize(http: &reqwest::Client, emulator: &LambdaEmulator, event: &Value) -> Value {
    LambdaEmulator::json_answer(http.post(emulator.invoke_url("authorizer")).json(event)).await
}

#[tokio::test]
async fn a_token_from_the_token_issuer_is_enforced_by_the_authorizer_through_introspection() {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    moto.provision_fixture_key(&keys_table).await;

    let port = free_port();
    let pre_inputs = json!({
        "token_validation_uri": {
            "defaultURI": format!("http://127.0.0.1:{port}/lambda-url/token-issuer/oauth2/introspect")
        },
        "validation": {"style": "rfc7662", "client_id": FIXTURE_KEY, "client_secret": FIXTURE_SECRET,
                       "required_scopes": ["innreach_tp"]},
        "inject_headers": {"X-Client-Id": "$.client_id", "X-From-Code": "$.from_code"},
        "block_authorization_header": true,
        "timeouts": {"connect_ms": 2000, "total_ms": 9000}
    });
    let (emulator, _config_file) =
        emulator_with(&moto, (keys_table, tokens_table), &pre_inputs, port);
    let http = reqwest::Client::new();

    // Warm both functions up (each compiles on its first invocation).
    let issued = LambdaEmulator::json_answer(inn_reach_token_request(
        &http,
        &emulator.function_url("token-issuer", "/innreach/v2/oauth2/token"),
        &basic(FIXTURE_KEY, FIXTURE_SECRET),
    ))
    .await;
    let token = issued["access_token"]
        .as_str()
        .expect("a token is issued")
        .to_owned();

    let event = fixture_event_with_authorization(&format!("Bearer {token}"));
    let answer = authorize(&http, &emulator, &event).await;
    assert_eq!(
        answer["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{answer}"
    );
    assert_eq!(answer["principalId"], FIXTURE_KEY);
    assert_eq!(answer["context"]["inject_x_client_id"], FIXTURE_KEY);
    assert_eq!(answer["context"]["inject_x_from_code"], "d2ir1");
    assert_eq!(answer["context"]["block_authorization_header"], true);

    // A token token-issuer never issued is inactive there, so the authorizer denies it.
    let never_issued = fixture_event_with_authorization("Bearer 00000000000000000000000000000000");
    let denied = authorize(&http, &emulator, &never_issued).await;
    assert_eq!(
        denied["policyDocument"]["Statement"][0]["Effect"], "Deny",
        "{denied}"
    );
    assert_eq!(denied["context"]["error"], "TokenValidationFails");

    // The fixture works with `cargo lambda invoke --data-file`; its token was never issued.
    let fixture = workspace_root().join("functions/authorizer/events/rest-api-request.json");
    let invoked = emulator.invoke("authorizer", &fixture);
    assert_eq!(
        invoked["context"]["error"], "TokenValidationFails",
        "{invoked}"
    );
    let fixture = workspace_root().join("functions/authorizer/events/http-api-request.json");
    let invoked = emulator.invoke("authorizer", &fixture);
    assert_eq!(invoked["isAuthorized"], false, "{invoked}");
    assert_eq!(
        invoked["context"]["error"], "TokenValidationFails",
        "{invoked}"
    );

    // Two Authorization values, as multiValueHeaders carries them: ambiguous, so denied.
    let mut twice = event.clone();
    twice["multiValueHeaders"]["Authorization"] =
        json!(["Bearer forged", format!("Bearer {token}")]);
    let denied = authorize(&http, &emulator, &twice).await;
    assert_eq!(
        denied["context"]["error"], "MultipleAuthorizationHeadersInRequest",
        "{denied}"
    );
    let mut two_keys = event;
    two_keys["multiValueHeaders"]["x-api-key"] = json!(["bogus"]);
    let denied = authorize(&http, &emulator, &two_keys).await;
    assert_eq!(
        denied["context"]["error"], "MultipleApiKeysInRequest",
        "{denied}"
    );

    // A TOKEN authorizer event, in the shape `sam local generate-event apigateway
    // authorizer` makes, gets the named answer for a REQUEST-only setup.
    let fixture = workspace_root().join("functions/authorizer/events/token-authorizer.json");
    let invoked = emulator.invoke("authorizer", &fixture);
    assert_eq!(
        invoked["context"]["error"], "UnsupportedAuthorizerType",
        "{invoked}"
    );
    assert_eq!(invoked["policyDocument"]["Statement"][0]["Effect"], "Deny");
}

#[tokio::test]
async fn the_authorizer_binary_enforces_oidc_provider_jwt_access_tokens_under_the_emulator() {
    let moto = Moto::start();
    let (keys_table, _) = moto.fresh_tables().await;
    moto.provision_fixture_key(&keys_table).await;
    let provider = tokengate_tests::OidcProvider::start("ES256");
    let pre_inputs = json!({
        "token_validation_uri": {"defaultURI": provider.issuer()},
        "validation": {"style": "jwt", "discovery": true, "issuer": provider.issuer(),
                       "audience": tokengate_tests::OidcProvider::RESOURCE,
                       "required_scopes": ["orders.read"]},
        "inject_headers": {"X-Client-Id": "$.client_id", "X-Scope": "$.scope"},
        "routes": [
            {"method": "GET", "path": "/patrons/{id}", "scopes": ["orders.read"]},
            {"method": "POST", "path": "/orders", "scopes": ["orders.write"]}
        ]
    });
    let mut env = moto.env();
    env.push(("KEYS_TABLE".into(), keys_table));
    let _config_file = PreInputsFile::write(&mut env, &pre_inputs);
    let emulator = LambdaEmulator::start(&env);
    let http = reqwest::Client::new();
    let token = provider.access_token(&http, "orders.read").await;

    let event = fixture_event_with_authorization(&format!("Bearer {token}"));
    let answer = authorize(&http, &emulator, &event).await;
    assert_eq!(
        answer["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{answer}"
    );
    assert_eq!(
        answer["context"]["inject_x_client_id"],
        tokengate_tests::OidcProvider::CLIENT_ID
    );
    assert_eq!(answer["context"]["inject_x_scope"], "orders.read");
    let mut write = event.clone();
    write["methodArn"] =
        json!("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/orders");
    let refused = authorize(&http, &emulator, &write).await;
    assert_eq!(
        refused["context"]["error"], "insufficient_scope",
        "{refused}"
    );
    assert_eq!(
        refused["policyDocument"], answer["policyDocument"],
        "one policy for both routes"
    );

    let mut forged = token.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let event = fixture_event_with_authorization(&format!("Bearer {forged}"));
    let denied = authorize(&http, &emulator, &event).await;
    assert_eq!(
        denied["context"]["error"], "TokenValidationFails",
        "{denied}"
    );
    assert_eq!(
        denied["context"]["error_description"],
        "The token's signature is not valid."
    );
}

/// A token from `/oauth2/token`, as any OAuth client asks for it (client_secret_post).
async fn standard_token(http: &reqwest::Client, emulator: &LambdaEmulator) -> String {
    let request = http
        .post(emulator.function_url("token-issuer", "/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", FIXTURE_KEY),
            ("client_secret", FIXTURE_SECRET),
        ]);
    let issued = LambdaEmulator::json_answer(request).await;
    issued["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a token is issued: {issued}"))
        .to_owned()
}

#[tokio::test]
async fn in_tokengate_style_a_revoked_token_and_a_disabled_keys_token_are_denied_at_once_in_one_round_trip()
 {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    moto.provision_fixture_key(&keys_table).await;
    // Both functions reach DynamoDB through the counter, which records every operation.
    let counter = DynamoCounter::start(moto.endpoint()).await;
    let mut env = sdk_env(&counter.endpoint());
    env.push(("KEYS_TABLE".into(), keys_table.clone()));
    env.push(("TOKENS_TABLE".into(), tokens_table));
    let pre_inputs = json!({
        "validation": {"style": "tokengate", "required_scopes": ["innreach_tp"],
            "token_bound_to_api_key": false},
        "inject_headers": {"X-Client-Id": "$.client_id", "X-Scope": "$.scope"},
        "block_authorization_header": true
    });
    let _config_file = PreInputsFile::write(&mut env, &pre_inputs);
    let emulator = LambdaEmulator::start(&env);
    let http = reqwest::Client::new();

    // The caller's API key is an application's own key, not the key the tokens are issued
    // to (allowed by token_bound_to_api_key: false): the authorizer must read both.
    let keys = DynamoKeyStore::new(moto.client(), &keys_table);
    let app_key = "app-key-of-the-caller";
    keys.create(&client_key(app_key, "unused", KeyStatus::Active, &[]))
        .await
        .unwrap();
    let with_app_key = |token: &str| {
        let mut event = fixture_event_with_authorization(&format!("Bearer {token}"));
        event["headers"]["X-Api-Key"] = json!(app_key);
        event["multiValueHeaders"]["X-Api-Key"] = json!([app_key]);
        event
    };

    let token = standard_token(&http, &emulator).await;
    let event = with_app_key(&token);
    let effect = |answer: &Value| answer["policyDocument"]["Statement"][0]["Effect"].clone();
    counter.take();
    let answer = authorize(&http, &emulator, &event).await;
    assert_eq!(effect(&answer), "Allow", "{answer}");
    assert_eq!(
        answer["principalId"], FIXTURE_KEY,
        "the token's key is who it authenticates"
    );
    assert_eq!(answer["context"]["inject_x_client_id"], FIXTURE_KEY);
    assert_eq!(answer["context"]["inject_x_scope"], "innreach_tp");
    // The cold start opens DynamoDB's connection with one read during init; then the
    // token's first sighting: its key is learnt from the token, so read after it.
    assert_eq!(counter.take(), ["GetItem", "BatchGetItem", "GetItem"]);
    for _ in 0..3 {
        let answer = authorize(&http, &emulator, &event).await;
        assert_eq!(effect(&answer), "Allow", "{answer}");
        assert_eq!(
            counter.take(),
            ["BatchGetItem"],
            "one round trip per decision"
        );
    }

    // Revoked at token-issuer: denied on the very next request.
    let revoked = http
        .post(emulator.function_url("token-issuer", "/oauth2/revoke"))
        .basic_auth(FIXTURE_KEY, Some(FIXTURE_SECRET))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    // The next decision: one round trip, and the token named as what it now is.
    let assert_denied_next = async |event: &Value, description: &str| {
        counter.take();
        let denied = authorize(&http, &emulator, event).await;
        assert_eq!(effect(&denied), "Deny", "{denied}");
        assert_eq!(denied["context"]["error"], "TokenValidationFails");
        assert_eq!(denied["context"]["error_description"], description);
        assert_eq!(counter.take(), ["BatchGetItem"]);
    };
    assert_denied_next(
        &event,
        "The token is unknown: never issued, revoked, or expired.",
    )
    .await;

    // A fresh token, then the key it was issued to disabled by an operator: denied on the
    // very next request.
    let token = standard_token(&http, &emulator).await;
    let event = with_app_key(&token);
    assert_eq!(effect(&authorize(&http, &emulator, &event).await), "Allow");
    keys.set_status(&KeyId::parse(FIXTURE_KEY).unwrap(), KeyStatus::Disabled, 1)
        .await
        .unwrap();
    assert_denied_next(
        &event,
        "The client key the token was issued to is disabled or deleted, or has revoked its tokens.",
    )
    .await;
}

/// A client key with these scopes and audiences, stored in `table`; its id and secret.
async fn granted_client(
    moto: &Moto,
    table: &str,
    scopes: &[&str],
    audiences: &[&str],
) -> (String, String) {
    let (mut key, secret) = tokengate_shared::ClientKey::generate(Default::default(), None, 1);
    key.grants = tokengate_tests::fixtures::grants(scopes, audiences).into();
    DynamoKeyStore::new(moto.client(), table)
        .create(&key)
        .await
        .unwrap();
    (key.id.to_string(), secret.expose().to_owned())
}

#[tokio::test]
async fn through_introspection_the_authorizer_allows_the_client_scoped_for_the_api_and_denies_another()
 {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    moto.provision_fixture_key(&keys_table).await;
    let api = "https://api.example.com";
    let orders = granted_client(&moto, &keys_table, &["orders.read", "orders.write"], &[api]).await;
    let reports = granted_client(
        &moto,
        &keys_table,
        &["reports.read"],
        &["urn:example:reports"],
    )
    .await;
    let port = free_port();
    let pre_inputs = json!({
        "token_validation_uri": {
            "defaultURI": format!("http://127.0.0.1:{port}/lambda-url/token-issuer/oauth2/introspect")
        },
        "validation": {"style": "rfc7662", "client_id": FIXTURE_KEY, "client_secret": FIXTURE_SECRET,
                       "required_scopes": ["orders.read"], "audience": api},
        "inject_headers": {"X-Client-Id": "$.client_id", "X-Scope": "$.scope"},
        "timeouts": {"connect_ms": 2000, "total_ms": 9000}
    });
    let (emulator, _config_file) =
        emulator_with(&moto, (keys_table, tokens_table), &pre_inputs, port);
    let http = reqwest::Client::new();
    let token_for = |(id, secret): &(String, String)| {
        http.post(emulator.function_url("token-issuer", "/oauth2/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id.as_str()),
                ("client_secret", secret.as_str()),
            ])
    };
    let orders_token = LambdaEmulator::json_answer(token_for(&orders)).await;
    let reports_token = LambdaEmulator::json_answer(token_for(&reports)).await;

    let bearer = |issued: &Value| format!("Bearer {}", issued["access_token"].as_str().unwrap());
    let allowed = authorize(
        &http,
        &emulator,
        &fixture_event_with_authorization(&bearer(&orders_token)),
    )
    .await;
    assert_eq!(
        allowed["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{allowed}"
    );
    assert_eq!(allowed["context"]["inject_x_client_id"], orders.0.as_str());
    assert_eq!(
        allowed["context"]["inject_x_scope"],
        "orders.read orders.write"
    );
    let denied = authorize(
        &http,
        &emulator,
        &fixture_event_with_authorization(&bearer(&reports_token)),
    )
    .await;
    assert_eq!(
        denied["policyDocument"]["Statement"][0]["Effect"], "Deny",
        "{denied}"
    );
    assert_eq!(
        denied["context"]["error"], "TokenValidationFails",
        "{denied}"
    );
}

#[tokio::test]
async fn under_the_emulator_each_route_is_held_to_its_scopes_for_rest_and_http_api_events() {
    routes_held("rfc7662").await;
    routes_held("tokengate").await;
}

/// A client holding `orders.read` alone against two routes, in `style`, through the
/// authorizer binary: REST events get one policy for both routes, HTTP API events are
/// decided on their route key.
async fn routes_held(style: &str) {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    moto.provision_fixture_key(&keys_table).await;
    let reader = granted_client(&moto, &keys_table, &["orders.read"], &[]).await;
    let port = free_port();
    let validation = match style {
        "rfc7662" => {
            json!({"style": "rfc7662", "client_id": FIXTURE_KEY, "client_secret": FIXTURE_SECRET})
        }
        // The reader's token, presented with the fixture's API key.
        _ => json!({"style": "tokengate", "token_bound_to_api_key": false}),
    };
    let mut pre_inputs = json!({
        "validation": validation,
        "inject_headers": {"X-Client-Id": "$.client_id"},
        "routes": [
            {"method": "GET", "path": "/patrons/{id}", "scopes": ["orders.read"]},
            {"method": "POST", "path": "/orders", "scopes": ["orders.write"]}
        ],
        "timeouts": {"connect_ms": 2000, "total_ms": 9000}
    });
    if style == "rfc7662" {
        pre_inputs["token_validation_uri"] = json!({
            "defaultURI": format!("http://127.0.0.1:{port}/lambda-url/token-issuer/oauth2/introspect")
        });
    }
    let (emulator, _config_file) =
        emulator_with(&moto, (keys_table, tokens_table), &pre_inputs, port);
    let http = reqwest::Client::new();
    let issued = LambdaEmulator::json_answer(
        http.post(emulator.function_url("token-issuer", "/oauth2/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", reader.0.as_str()),
                ("client_secret", reader.1.as_str()),
            ]),
    )
    .await;
    let bearer = format!("Bearer {}", issued["access_token"].as_str().unwrap());

    // REST: one answer for every route, whichever asked.
    let mut read = fixture_event_with_authorization(&bearer);
    let answer = authorize(&http, &emulator, &read).await;
    let statements = &answer["policyDocument"]["Statement"];
    let stage = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod";
    assert_eq!(
        statements,
        &json!([
            {"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [format!("{stage}/GET/patrons/*")]},
            {"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": [format!("{stage}/POST/orders")]}
        ]),
        "{answer}"
    );
    assert_eq!(answer["context"]["inject_x_client_id"], reader.0.as_str());
    read["methodArn"] = json!(format!("{stage}/POST/orders"));
    let refused = authorize(&http, &emulator, &read).await;
    assert_eq!(
        refused["policyDocument"], answer["policyDocument"],
        "the same policy"
    );
    assert_eq!(
        refused["context"]["error"], "insufficient_scope",
        "{refused}"
    );

    // HTTP API: decided on the route key.
    let fixture = workspace_root().join("functions/authorizer/events/http-api-request.json");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    event["headers"]["authorization"] = json!(bearer);
    assert_eq!(
        authorize(&http, &emulator, &event).await["isAuthorized"],
        true
    );
    event["routeKey"] = json!("POST /orders");
    let refused = authorize(&http, &emulator, &event).await;
    assert_eq!(refused["isAuthorized"], false, "{refused}");
    assert_eq!(refused["context"]["error"], "insufficient_scope", "{style}");
}
