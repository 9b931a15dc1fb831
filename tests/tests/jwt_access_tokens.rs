//! JWT access tokens from the token-issuer binary under cargo-lambda's emulator, with moto
//! as DynamoDB and KMS, verified by libraries nobody here wrote (PyJWT, jose,
//! aws-jwt-verify) fetching the JWKS over HTTP: in envelope mode (one `Decrypt`) and in kms
//! mode (KMS `Sign` per token), across a rotation and past the old key's retirement; and a
//! revoked JWT inactive at introspection and denied by the authorizer's `tokengate` style.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use tokengate_shared::signing::SigningAlg;
use tokengate_shared::signing::record::{Rotation, StateChange};
use tokengate_shared::signing::rotation::{KeyMaker, rotate};
use tokengate_shared::signing::{DynamoSigningKeyStore, KeyState, Protection};
use tokengate_shared::store::dynamodb::DynamoKeyStore;
use tokengate_shared::{ClientKey, Grants, KeyAdmin, SigningKeyStore, TokenFormat, clock};
use tokengate_tests::clients::jwt_verifiers;
use tokengate_tests::fixtures::{PreInputsFile, grants, rest_api_event};
use tokengate_tests::{DynamoCounter, LambdaEmulator, Moto, free_port, sdk_env};

const API: &str = "https://api.example.com";

struct Deployment {
    moto: Moto,
    /// Every DynamoDB and KMS call the functions make goes through it.
    counter: DynamoCounter,
    emulator: LambdaEmulator,
    signing: DynamoSigningKeyStore,
    issuer: String,
    client: (String, String),
    _pre_inputs: PreInputsFile,
}

impl Deployment {
    /// Tables, a KMS key, a first rotation made by `maker`, a client whose key says `jwt`,
    /// and both functions under the emulator (the authorizer in `tokengate` style).
    async fn start(maker: impl FnOnce(&Moto, String) -> KeyMaker, alg: SigningAlg) -> Self {
        let tokengate_style = |_: &str| {
            json!({
                "validation": {"style": "tokengate", "required_scopes": ["orders.read"],
                    "token_bound_to_api_key": false},
                "inject_headers": {"X-Client-Id": "$.client_id"}
            })
        };
        Self::start_with(maker, alg, tokengate_style).await
    }

    /// The same, the authorizer's pre-inputs made for the issuer URL.
    async fn start_with(
        maker: impl FnOnce(&Moto, String) -> KeyMaker,
        alg: SigningAlg,
        pre_inputs: impl FnOnce(&str) -> Value,
    ) -> Self {
        let moto = Moto::start();
        let (keys_table, tokens_table) = moto.fresh_tables().await;
        let signing_table = moto.fresh_signing_table().await;
        let signing = DynamoSigningKeyStore::new(moto.client(), &signing_table);
        let maker = maker(&moto, moto.kms_key().await);
        let now = clock::now_epoch_seconds();
        rotate(&signing, &maker, alg, 600, now).await.unwrap();
        let (mut key, secret) = ClientKey::generate(Default::default(), None, 1);
        key.grants = Grants {
            token_format: Some(TokenFormat::Jwt),
            ..grants(&["orders.read", "orders.write"], &[API])
        }
        .into();
        DynamoKeyStore::new(moto.client(), &keys_table)
            .create(&key)
            .await
            .unwrap();

        let port = free_port();
        let issuer = format!("http://127.0.0.1:{port}/lambda-url/token-issuer");
        let counter = DynamoCounter::start(moto.endpoint()).await;
        let mut env = sdk_env(&counter.endpoint());
        for (name, value) in [
            ("KEYS_TABLE", keys_table),
            ("TOKENS_TABLE", tokens_table),
            ("SIGNING_KEYS_TABLE", signing_table),
            ("SIGNING_KEYS_REFRESH_SECONDS", "1".into()),
            ("ISSUER_URL", issuer.clone()),
        ] {
            env.push((name.into(), value));
        }
        let pre_inputs = pre_inputs(&issuer);
        let file = PreInputsFile::write(&mut env, &pre_inputs);
        let emulator = LambdaEmulator::start_on(port, &env);
        Self {
            moto,
            counter,
            emulator,
            signing,
            issuer,
            client: (key.id.to_string(), secret.expose().to_owned()),
            _pre_inputs: file,
        }
    }

    fn url(&self, path: &str) -> String {
        self.emulator.function_url("token-issuer", path)
    }

    fn jwks_url(&self) -> String {
        self.url("/.well-known/jwks.json")
    }

    async fn token(&self) -> String {
        let request = reqwest::Client::new()
            .post(self.url("/oauth2/token"))
            .basic_auth(&self.client.0, Some(&self.client.1))
            .form(&[("grant_type", "client_credentials"), ("resource", API)]);
        let answer = LambdaEmulator::json_answer(request).await;
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"))
            .to_owned()
    }

    /// How many times the functions called `operation` since the last look.
    fn calls_of(&self, operation: &str) -> usize {
        self.counter
            .take()
            .iter()
            .filter(|o| *o == operation)
            .count()
    }

    /// What each library says of `token`.
    async fn verified_by(&self, token: &str) -> Vec<(String, bool)> {
        let results = self.verify(token).await;
        assert_eq!(results.len(), 3, "{results:?}");
        results
            .iter()
            .map(|r| {
                (
                    r["library"].as_str().unwrap().to_owned(),
                    r["verified"] == true,
                )
            })
            .collect()
    }

    /// The libraries run as child processes, off the runtime: the counter relaying the
    /// JWKS route's DynamoDB reads runs on this test's one thread, and must keep relaying.
    async fn verify(&self, token: &str) -> Vec<Value> {
        let (jwks_url, token, issuer) = (self.jwks_url(), token.to_owned(), self.issuer.clone());
        tokio::task::spawn_blocking(move || jwt_verifiers(&jwks_url, &token, &issuer, API))
            .await
            .unwrap()
    }

    async fn assert_every_library_verifies(&self, token: &str) -> Value {
        let results = self.verify(token).await;
        for result in &results {
            if result["verified"] != true {
                let jwks = reqwest::get(self.jwks_url()).await.unwrap().text().await;
                panic!(
                    "{result}: the token's kid {}, the JWKS now {jwks:?}",
                    kid(token)
                );
            }
            let claims = &result["claims"];
            assert_eq!(claims["iss"], self.issuer.as_str(), "{result}");
            assert_eq!(
                (&claims["sub"], &claims["client_id"]),
                (&json!(self.client.0), &json!(self.client.0))
            );
            assert_eq!(claims["aud"], API);
            assert_eq!(claims["scope"], "orders.read orders.write");
            assert_eq!(
                claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
                599
            );
        }
        results[0]["claims"].clone()
    }
}

fn kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn envelope_keys_sign_tokens_that_three_libraries_verify_across_a_rotation_until_retirement()
{
    let envelope = |moto: &Moto, kms_key_id| KeyMaker::Envelope {
        kms: moto.kms(),
        kms_key_id,
    };
    let deployment = Deployment::start(envelope, SigningAlg::Rs256).await;
    let before = deployment.token().await;
    for _ in 0..3 {
        deployment.token().await;
    }
    assert_eq!(
        deployment.calls_of("Decrypt"),
        1,
        "one Decrypt per execution environment"
    );
    deployment.assert_every_library_verifies(&before).await;

    // The next key, published since the first rotation, signs; the old one stays published.
    let now = clock::now_epoch_seconds();
    let envelope = KeyMaker::Envelope {
        kms: deployment.moto.kms(),
        kms_key_id: deployment.moto.kms_key().await,
    };
    let retire_after = 15;
    rotate(
        &deployment.signing,
        &envelope,
        SigningAlg::Es256,
        retire_after,
        now,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let after = deployment.token().await;
    assert_ne!(
        kid(&before),
        kid(&after),
        "the promoted key signs once a warm function reads the table again"
    );
    assert_eq!(deployment.calls_of("Decrypt"), 1, "the promoted key, once");
    deployment.assert_every_library_verifies(&after).await;
    deployment.assert_every_library_verifies(&before).await;

    // Its retirement, as a rotation writes it once its time has come (without waiting an
    // hour), and one refresh later: the old key is gone, and its tokens with it.
    let retired = Rotation {
        created: Vec::new(),
        moved: vec![StateChange {
            kid: kid(&before),
            from: KeyState::Previous,
            to: KeyState::Retired,
            retire_at: Some(now),
        }],
    };
    deployment.signing.apply(&retired, now).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let jwks = reqwest::get(deployment.jwks_url()).await.unwrap();
    let jwks = jwks.text().await.unwrap();
    for (library, verified) in deployment.verified_by(&before).await {
        let kid = kid(&before);
        assert!(!verified, "{library} verifies {kid}, retired: {jwks}");
    }
    deployment.assert_every_library_verifies(&after).await;
}

#[tokio::test]
async fn kms_held_keys_sign_every_token_with_kms_and_three_libraries_verify_them() {
    for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
        let kms = |moto: &Moto, _| KeyMaker::Kms(moto.kms());
        let deployment = Deployment::start(kms, alg).await;
        let token = deployment.token().await;
        deployment.token().await;
        assert_eq!(deployment.calls_of("Sign"), 2, "KMS signs every token");
        assert_eq!(deployment.calls_of("Decrypt"), 0);
        // Tagged, so that the template's kms:Sign applies to tokengate's keys alone.
        for key in deployment.signing.list().await.unwrap() {
            let Protection::Kms { key_id } = &key.protection else {
                panic!("{key:?} is not a KMS key");
            };
            let tags = deployment.moto.kms_key_tags(key_id).await;
            assert!(
                tags.contains(&("tokengate".into(), "jwt-signing-key".into())),
                "{tags:?}"
            );
        }
        deployment.assert_every_library_verifies(&token).await;
    }
}

#[tokio::test]
async fn a_revoked_jwt_is_inactive_at_introspection_and_denied_by_the_tokengate_style_at_once() {
    let envelope = |moto: &Moto, kms_key_id| KeyMaker::Envelope {
        kms: moto.kms(),
        kms_key_id,
    };
    let deployment = Deployment::start(envelope, SigningAlg::Es256).await;
    let token = deployment.token().await;
    let http = reqwest::Client::new();
    let mut event = rest_api_event();
    event["headers"]["Authorization"] = json!(format!("Bearer {token}"));
    event["multiValueHeaders"]["Authorization"] = json!([format!("Bearer {token}")]);
    // The client's own key is its API key too.
    event["headers"]["X-Api-Key"] = json!(deployment.client.0);
    event["multiValueHeaders"]["X-Api-Key"] = json!([deployment.client.0]);
    let authorize = async || {
        let request = http
            .post(deployment.emulator.invoke_url("authorizer"))
            .json(&event);
        LambdaEmulator::json_answer(request).await
    };
    let effect = |answer: &Value| answer["policyDocument"]["Statement"][0]["Effect"].clone();
    let allowed = authorize().await;
    assert_eq!(effect(&allowed), "Allow", "{allowed}");
    assert_eq!(
        allowed["context"]["inject_x_client_id"],
        deployment.client.0.as_str()
    );

    let (id, secret) = &deployment.client;
    let operation = |path: &str| {
        http.post(deployment.url(path))
            .basic_auth(id, Some(secret))
            .form(&[("token", token.as_str())])
    };
    assert_eq!(
        operation("/oauth2/revoke").send().await.unwrap().status(),
        200
    );
    let introspected: Value = operation("/oauth2/introspect")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected, json!({"active": false}));
    let denied = authorize().await;
    assert_eq!(effect(&denied), "Deny", "{denied}");
    assert_eq!(denied["context"]["error"], "TokenValidationFails");
    // Signature-only verifiers accept it until it expires: the trade-off the docs state.
    deployment.assert_every_library_verifies(&token).await;
}

#[tokio::test]
async fn the_rotator_function_that_the_schedule_invokes_rotates_the_keys_under_the_emulator() {
    let moto = Moto::start();
    let table = moto.fresh_signing_table().await;
    let mut env = moto.env();
    env.push(("SIGNING_KEYS_TABLE".into(), table.clone()));
    env.push(("SIGNING_KMS_KEY_ID".into(), moto.kms_key().await));
    env.push(("SIGNING_ALGORITHM".into(), "ES256".into()));
    let emulator = LambdaEmulator::start(&env);
    let http = reqwest::Client::new();
    // EventBridge Scheduler's input, as the template sets it.
    let invoke = || {
        let request = http
            .post(emulator.invoke_url("signing-keys-rotator"))
            .json(&json!({"rotate": "signing-keys"}));
        LambdaEmulator::json_answer(request)
    };
    let first = invoke().await;
    assert_eq!(
        first["created"].as_array().map(Vec::len),
        Some(2),
        "{first}"
    );
    let second = invoke().await;
    assert_eq!(second["created"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["moved"].as_array().map(Vec::len), Some(2));
    let keys = DynamoSigningKeyStore::new(moto.client(), &table)
        .list()
        .await
        .unwrap();
    let mut states: Vec<KeyState> = keys.iter().map(|k| k.state).collect();
    states.sort();
    assert_eq!(
        states,
        [KeyState::Next, KeyState::Current, KeyState::Previous]
    );
    assert!(keys.iter().all(|k| k.alg == SigningAlg::Es256));
}

#[tokio::test]
async fn the_jwt_style_discovers_the_jwks_from_tokengate_s_metadata_and_verifies_with_no_dynamodb_read()
 {
    let jwt_style = |issuer: &str| {
        json!({
            "token_validation_uri": {"defaultURI": issuer},
            "validation": {"style": "jwt", "discovery": true, "issuer": issuer,
                "audience": API, "profile": "rfc9068", "required_scopes": ["orders.read"]},
            "api_key": {"checked_by": "api_gateway"},
            "inject_headers": {"X-Client-Id": "$.client_id", "X-Scope": "$.scope"}
        })
    };
    let envelope = |moto: &Moto, kms_key_id| KeyMaker::Envelope {
        kms: moto.kms(),
        kms_key_id,
    };
    let deployment = Deployment::start_with(envelope, SigningAlg::Rs256, jwt_style).await;
    let token = deployment.token().await;
    let mut event = rest_api_event();
    event["headers"]["Authorization"] = json!(format!("Bearer {token}"));
    event["multiValueHeaders"]["Authorization"] = json!([format!("Bearer {token}")]);
    let http = reqwest::Client::new();
    let authorize = || {
        let request = http
            .post(deployment.emulator.invoke_url("authorizer"))
            .json(&event);
        LambdaEmulator::json_answer(request)
    };
    // The cold start: discovery and the JWKS, through token-issuer's own routes.
    let allowed = authorize().await;
    let effect = |answer: &Value| answer["policyDocument"]["Statement"][0]["Effect"].clone();
    assert_eq!(effect(&allowed), "Allow", "{allowed}");
    assert_eq!(
        allowed["context"]["inject_x_scope"],
        "orders.read orders.write"
    );
    deployment.counter.take();
    let again = authorize().await;
    assert_eq!(effect(&again), "Allow", "{again}");
    assert_eq!(
        deployment.counter.take(),
        Vec::<String>::new(),
        "no DynamoDB read"
    );
}
