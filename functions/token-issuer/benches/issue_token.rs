//! The issuing path without storage latency: Basic decoding and request parsing, the
//! secret check, minting (an opaque token, or a JWT signed in process), the in-memory
//! store, and the JSON response.
//!
//! `cargo bench --bench issue_token`

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::hint::black_box;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::{Body, Request};
use token_issuer::settings::Throttle;
use token_issuer::{TokenService, handler};
use tokengate_shared::store::memory::{MemoryKeyStore, MemoryTokenStore};
use tokengate_shared::{AccessToken, Audience, ClientKey, Grants, KeyAdmin, Scope, SystemCode};

fn token_request(key: &str, secret: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/innreach/v2/oauth2/token?grant_type=client_credentials&scope=innreach_tp")
        .header(
            "Authorization",
            format!("Basic {}", STANDARD.encode(format!("{key}:{secret}"))),
        )
        .header("X-From-Code", "d2ir1")
        .header("X-To-Code", "abcde")
        .header("X-Request-Creation-Time", "1544466568")
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .body(Body::Empty)
        .expect("a valid request")
}

/// The same token asked for as any OAuth client does at `/oauth2/token`: the credentials
/// in the form body (client_secret_post), no INN-Reach headers.
fn posted_token_request(key: &str, secret: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/oauth2/token")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::Text(format!(
            "grant_type=client_credentials&client_id={key}&client_secret={secret}"
        )))
        .expect("a valid request")
}

/// A client holding three scopes and an audience (issue 24's figure).
fn granted_client() -> (ClientKey, tokengate_shared::Secret) {
    let (mut key, secret) = ClientKey::generate(BTreeSet::new(), None, 1);
    key.grants = Grants {
        scopes: ["orders.read", "orders.write", "reports.read"]
            .iter()
            .map(|s| Scope::parse(s).expect("a scope"))
            .collect(),
        audiences: [Audience::parse("https://api.example.com").expect("an audience")].into(),
        token_ttl: None,
        token_format: None,
        plan: None,
    }
    .into();
    (key, secret)
}

/// A token service over fresh in-memory stores holding `keys`, never throttled (so that
/// every wrong secret takes the 401 path: verified, counted, refused). Each benchmark gets
/// its own, so that none measures a store the one before it filled.
fn service(runtime: &tokio::runtime::Runtime, keys: &[&ClientKey]) -> TokenService {
    let store = Arc::new(MemoryKeyStore::new());
    for key in keys {
        runtime
            .block_on(store.create(key))
            .expect("the key is stored");
    }
    TokenService::new(store, Arc::new(MemoryTokenStore::new()), 599).with_throttle(Throttle {
        max_failures: u64::MAX,
        window_seconds: 300,
    })
}

fn issue_token(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let codes: BTreeSet<SystemCode> = [SystemCode::parse("d2ir1").expect("a code")].into();
    let (key, secret) = ClientKey::generate(codes, None, 1);
    let (granted, granted_secret) = granted_client();
    let request = token_request(key.id.as_str(), secret.expose());
    let wrong = token_request(key.id.as_str(), "not-the-secret");

    let inn_reach = service(&runtime, &[&key]);
    c.bench_function("issue_token/valid_request_to_json_response", |b| {
        b.iter(|| {
            let response = runtime.block_on(handler::handle(&inn_reach, request.clone()));
            black_box(response)
        })
    });
    let standard = service(&runtime, &[&key]);
    let posted = posted_token_request(key.id.as_str(), secret.expose());
    let answer = runtime.block_on(handler::handle(&standard, posted.clone()));
    assert_eq!(answer.map(|r| r.status().as_u16()), Ok(200));
    c.bench_function("issue_token/client_secret_post_to_json_response", |b| {
        b.iter(|| black_box(runtime.block_on(handler::handle(&standard, posted.clone()))))
    });
    let scoped_service = service(&runtime, &[&granted]);
    let scoped = posted_token_request(granted.id.as_str(), granted_secret.expose())
        .map(|_| Body::Text(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=orders.read%20orders.write%20reports.read&resource=https%3A%2F%2Fapi.example.com",
            granted.id,
            granted_secret.expose()
        )));
    let answer = runtime.block_on(handler::handle(&scoped_service, scoped.clone()));
    assert_eq!(answer.map(|r| r.status().as_u16()), Ok(200));
    c.bench_function(
        "issue_token/three_scopes_and_an_audience_to_json_response",
        |b| {
            b.iter(|| black_box(runtime.block_on(handler::handle(&scoped_service, scoped.clone()))))
        },
    );
    let service = service(&runtime, &[&key]);
    c.bench_function("issue_token/wrong_secret_to_401", |b| {
        b.iter(|| black_box(runtime.block_on(handler::handle(&service, wrong.clone()))))
    });
    c.bench_function("issue_token/secret_check", |b| {
        b.iter(|| {
            black_box(
                key.secret_hash
                    .verify(black_box(secret.expose().as_bytes())),
            )
        })
    });
    c.bench_function("issue_token/mint_and_hash", |b| {
        b.iter(|| {
            let token = AccessToken::mint();
            black_box(token.hash())
        })
    });
}

/// The same client asking for the same token, as an opaque token and as a JWT signed in
/// process by each algorithm (issue 26's figures): the difference is the signature.
fn issue_jwt(c: &mut Criterion) {
    use tokengate_shared::TokenFormat;
    use tokengate_shared::signing::MemorySigningKeyStore;
    use tokengate_shared::signing::rotation::{KeyMaker, rotate};
    use tokengate_shared::signing::{Keyring, SigningAlg};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let (key, secret) = ClientKey::generate(BTreeSet::new(), None, 1);
    let request = posted_token_request(key.id.as_str(), secret.expose());
    let opaque = service(&runtime, &[&key]);
    c.bench_function("issue_token/opaque_client_secret_post", |b| {
        b.iter(|| black_box(runtime.block_on(handler::handle(&opaque, request.clone()))))
    });
    for alg in SigningAlg::ALL {
        let signing = Arc::new(MemorySigningKeyStore::default());
        runtime
            .block_on(rotate(&*signing, &KeyMaker::InMemory, alg, 600, 1))
            .expect("a signing key");
        // Read once: a warm function's keyring, refreshed once a minute.
        let keyring = Keyring::new(signing, None, u64::MAX);
        let jwt = service(&runtime, &[&key])
            .with_issuer(Some("https://auth.example.com/prod".into()))
            .with_tokens(TokenFormat::Jwt, Some(Arc::new(keyring)));
        let answer = runtime.block_on(handler::handle(&jwt, request.clone()));
        assert_eq!(answer.map(|r| r.status().as_u16()), Ok(200));
        let name = format!(
            "issue_token/jwt_{}_client_secret_post",
            alg.as_str().to_lowercase()
        );
        c.bench_function(&name, |b| {
            b.iter(|| black_box(runtime.block_on(handler::handle(&jwt, request.clone()))))
        });
        // The signature alone, over a signing input of the same length: the cause.
        let pkcs8 = tokengate_shared::signing::local::generate(alg).expect("a key");
        let key = tokengate_shared::signing::LocalKey::from_pkcs8("k", alg, &pkcs8).expect("a key");
        let input = [b'a'; 420];
        let name = format!("issue_token/sign_only_{}", alg.as_str().to_lowercase());
        c.bench_function(&name, |b| b.iter(|| black_box(key.sign(black_box(&input)))));
    }
}

/// What the function does per invocation, storage aside: API Gateway's event as JSON text
/// read into a request (lambda_http's own adapter, as the runtime calls it), the handler, and
/// the answer written as JSON text; the same measure as the authorizer's
/// `…_event_to_response` figures. An opaque token, then JWTs (issue 26's target).
fn event_to_response(c: &mut Criterion) {
    use lambda_http::request::LambdaRequest;
    use lambda_http::tower::Service;
    use lambda_http::{Context, LambdaEvent};
    use tokengate_shared::TokenFormat;
    use tokengate_shared::signing::rotation::{KeyMaker, rotate};
    use tokengate_shared::signing::{Keyring, MemorySigningKeyStore, SigningAlg};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let event = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/token-request-rest-api.json"
    ))
    .expect("the event fixture");
    let key = tokengate_tests::fixtures::fixture_key();
    let formats = [
        (None, "opaque"),
        (Some(SigningAlg::Es256), "jwt_es256"),
        (Some(SigningAlg::Rs256), "jwt_rs256"),
    ];
    for (alg, name) in formats {
        let mut service = service(&runtime, &[&key]);
        if let Some(alg) = alg {
            let signing = Arc::new(MemorySigningKeyStore::default());
            runtime
                .block_on(rotate(&*signing, &KeyMaker::InMemory, alg, 600, 1))
                .expect("a signing key");
            let keyring = Keyring::new(signing, None, u64::MAX);
            service = service.with_tokens(TokenFormat::Jwt, Some(Arc::new(keyring)));
        }
        let service = &service;
        let mut adapter =
            lambda_http::Adapter::from(lambda_http::service_fn(move |request: Request| {
                handler::handle(service, request)
            }));
        let mut invoke = |event: &str| {
            let request: LambdaRequest = serde_json::from_str(event).expect("an API Gateway event");
            let answer = runtime
                .block_on(adapter.call(LambdaEvent::new(request, Context::default())))
                .expect("an answer");
            serde_json::to_string(&answer).expect("JSON")
        };
        let answer = invoke(&event);
        assert!(answer.contains("access_token"), "{answer}");
        c.bench_function(&format!("issue_token/event_to_response_{name}"), |b| {
            b.iter(|| black_box(invoke(black_box(&event))))
        });
    }
}

criterion_group!(benches, issue_token, issue_jwt, event_to_response);
criterion_main!(benches);
