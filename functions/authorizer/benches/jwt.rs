//! The `jwt` style, from event JSON to response JSON, beside the signature check alone.
//!
//! - `cache_hit`: a token verified before: no signature check, the claims re-checked.
//! - `cache_miss_rs256`, `cache_miss_es256`: the cache off, the signature verified each
//!   time (the key set was fetched once, at warm-up).
//! - `verify_rs256`, `verify_es256`: the same token's signature checked with the same key
//!   (`authorizer::signature`, on ring), and nothing else: a miss costs this plus the
//!   authorizer's own work.
//!
//! - `ours_{rs256,es256,eddsa}`: token-issuer's own JWTs (RFC 9068), the cache off.
//!
//! `cargo bench --bench jwt` (and `--bench decision` for the other styles).

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;

use authorizer::Moment;
use authorizer::apigw::AuthorizerEvent;
use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::{Authorizer, PreInputs, handler};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::DecodingKey;
use serde_json::json;
use tokengate_tests::fixtures::memory_keys_with;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "../tests/support/test_keys.rs"]
mod test_keys;
use test_keys::{TestKey, jwks, keys};

const API_KEY: &str = "6f1a0c1e-1b1f-4d6b-9a57-0c8f3f1d2e3a";

fn event(token: &str) -> String {
    json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/42",
        "headers": {"X-Api-Key": API_KEY, "Authorization": format!("Bearer {token}")},
        "queryStringParameters": {},
        "requestContext": {"path": "/prod/orders/42", "accountId": "123456789012", "resourceId": "r1", "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "identity": {"sourceIp": "203.0.113.7"},
            "resourcePath": "/orders/{id}", "httpMethod": "GET", "apiId": "abc123"}
    })
    .to_string()
}

fn token(key: &TestKey) -> String {
    let now = tokengate_shared::clock::now_epoch_seconds();
    key.sign(&json!({
        "iss": "https://idp.example/", "sub": "user-42", "aud": "api://orders",
        "client_id": "orders-app", "scope": "orders.read orders.write",
        "iat": now, "exp": now + 3_600,
    }))
}

fn authorizer(runtime: &tokio::runtime::Runtime, idp: &str, cache_ttl: u64) -> Authorizer {
    let config = format!(
        r#"{{"token_validation_uri": {{"defaultURI": "{idp}/jwks"}},
            "validation": {{"style": "jwt", "issuer": "https://idp.example/", "audience": "api://orders",
              "required_scopes": ["orders.read"]}},
            "inject_headers": {{"X-User-Id": "$.sub", "X-Client-Id": "$.client_id", "X-Scope": "$.scope"}},
            "cache": {{"ttl_seconds": {cache_ttl}}}}}"#
    );
    let pre_inputs = PreInputs::parse(&config).expect("valid pre-inputs");
    let endpoint = HttpValidationEndpoint::new(Some(&pre_inputs)).expect("a client");
    let keys = runtime.block_on(memory_keys_with(API_KEY));
    let authorizer = Authorizer::new(Ok(pre_inputs), keys, Arc::new(endpoint));
    runtime.block_on(authorizer.warm_up());
    authorizer
}

fn decide(runtime: &tokio::runtime::Runtime, authorizer: &Authorizer, event: &str) -> String {
    let event = AuthorizerEvent::from_slice(event.as_bytes()).expect("an authorizer event");
    let (_, answer) = runtime.block_on(handler::decide(authorizer, &event, Moment::now()));
    serde_json::to_string(&answer).expect("JSON")
}

fn jwt(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let [rsa, ec, _] = keys();
    let idp = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks(&[rsa, ec])))
            .mount(&server)
            .await;
        server
    });
    let rs256 = token(rsa);
    let es256 = token(ec);

    let cached = authorizer(&runtime, &idp.uri(), 300);
    let hit_event = event(&rs256);
    let warm = decide(&runtime, &cached, &hit_event);
    assert!(warm.contains("\"Allow\""), "{warm}");
    c.bench_function("jwt/cache_hit_event_to_response", |b| {
        b.iter(|| black_box(decide(&runtime, &cached, black_box(&hit_event))))
    });

    let uncached = authorizer(&runtime, &idp.uri(), 0);
    for (name, key, token) in [("rs256", rsa, &rs256), ("es256", ec, &es256)] {
        let event = event(token);
        let answer = decide(&runtime, &uncached, &event);
        assert!(answer.contains("\"Allow\""), "{answer}");
        c.bench_function(&format!("jwt/cache_miss_{name}_event_to_response"), |b| {
            b.iter(|| black_box(decide(&runtime, &uncached, black_box(&event))))
        });
        let jwk = serde_json::from_value(key.jwk.clone()).expect("a JWK");
        let decoding = DecodingKey::from_jwk(&jwk).expect("a decoding key");
        let (message, signature) = token.rsplit_once('.').expect("a signed token");
        let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        c.bench_function(&format!("jwt/verify_{name}_signature_only"), |b| {
            b.iter(|| {
                let verified = authorizer::signature::verify(
                    key.alg,
                    &decoding,
                    black_box(message.as_bytes()),
                    black_box(&signature),
                );
                assert_eq!(black_box(verified), Ok(true));
            })
        });
    }
}

/// tokengate's own JWTs, as token-issuer signs them (RFC 9068, `typ: at+jwt`), through the
/// `jwt` style with `profile: "rfc9068"`, the cache off: what an API verifying our tokens
/// pays per decision.
fn ours(c: &mut Criterion) {
    use tokengate_shared::signing::jwt::{self as minted, Aud, Claims, Header};
    use tokengate_shared::signing::local::generate;
    use tokengate_shared::signing::{Jwks, LocalKey, SigningAlg};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    for alg in SigningAlg::ALL {
        let key = LocalKey::from_pkcs8("k1", alg, &generate(alg).expect("a key")).expect("a key");
        let set = Jwks {
            keys: vec![key.public_jwk("k1")],
        };
        let idp = runtime.block_on(async {
            let server = MockServer::start().await;
            Mock::given(path("/jwks"))
                .respond_with(ResponseTemplate::new(200).set_body_json(&set))
                .mount(&server)
                .await;
            server
        });
        let now = tokengate_shared::clock::now_epoch_seconds();
        let claims = Claims {
            iss: "https://idp.example/",
            sub: "orders-app",
            client_id: "orders-app",
            aud: Aud::One("api://orders"),
            exp: now + 3_600,
            iat: now,
            jti: minted::new_jti(),
            scope: "orders.read orders.write",
            from_code: None,
            to_code: None,
        };
        let input = minted::signing_input(&Header::new(alg, "k1"), &claims);
        let token = minted::compact(input.clone(), &key.sign(input.as_bytes()).expect("signed"));
        let authorizer = authorizer(&runtime, &idp.uri(), 0);
        let event = event(&token);
        let answer = decide(&runtime, &authorizer, &event);
        assert!(answer.contains("\"Allow\""), "{answer}");
        let name = format!(
            "jwt/ours_{}_cache_miss_event_to_response",
            alg.as_str().to_lowercase()
        );
        c.bench_function(&name, |b| {
            b.iter(|| black_box(decide(&runtime, &authorizer, black_box(&event))))
        });
    }
}

criterion_group!(benches, jwt, ours);
criterion_main!(benches);
