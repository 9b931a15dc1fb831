//! RFC 9068 JWT access tokens from the token endpoint: per `TOKEN_FORMAT` or per key, signed
//! by the current key, published in the JWKS, stored by hash like opaque tokens so that
//! introspection and revocation work on them unchanged. Verified by jsonwebtoken, not by
//! the code that signs.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use jsonwebtoken::{DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use serde_json::Value;
use token_issuer::{TokenService, handler};
use tokengate_shared::signing::MemorySigningKeyStore;
use tokengate_shared::signing::rotation::{KeyMaker, rotate};
use tokengate_shared::signing::{Keyring, SigningAlg};
use tokengate_shared::store::memory::{MemoryKeyStore, MemoryTokenStore};
use tokengate_shared::{Grants, KeyAdmin, KeyStatus, TokenFormat, clock};
use tokengate_tests::fixtures::{
    FIXTURE_KEY, FIXTURE_SECRET, basic, client_key, grants, inn_reach_lambda_request,
};

const ISSUER: &str = "https://auth.example.com/prod";
const JWT_CLIENT: &str = "jwt-client";
const OPAQUE_CLIENT: &str = "opaque-client";
const SECRET: &str = "a-client-secret";
const API: &str = "https://api.example.com";

struct Stack {
    service: TokenService,
    signing: Arc<MemorySigningKeyStore>,
}

/// A service whose default format is `format`, with the fixtures' INN-Reach key, a client
/// whose key says `jwt`, and one whose key says `opaque`; signing keys rotated once.
async fn stack(format: TokenFormat, alg: SigningAlg) -> Stack {
    let keys = Arc::new(MemoryKeyStore::new());
    let inn_reach = client_key(FIXTURE_KEY, FIXTURE_SECRET, KeyStatus::Active, &["d2ir1"]);
    keys.create(&inn_reach).await.unwrap();
    for (id, format) in [
        (JWT_CLIENT, TokenFormat::Jwt),
        (OPAQUE_CLIENT, TokenFormat::Opaque),
    ] {
        let mut key = client_key(id, SECRET, KeyStatus::Active, &[]);
        key.grants = Grants {
            token_format: Some(format),
            ..grants(&["orders.read", "orders.write"], &[API])
        }
        .into();
        keys.create(&key).await.unwrap();
    }
    let signing = Arc::new(MemorySigningKeyStore::default());
    let now = clock::now_epoch_seconds();
    rotate(&*signing, &KeyMaker::InMemory, alg, 600, now)
        .await
        .unwrap();
    let keyring = Arc::new(Keyring::new(signing.clone(), None, 0));
    let service = TokenService::new(keys, Arc::new(MemoryTokenStore::new()), 599)
        .with_issuer(Some(ISSUER.into()))
        .with_tokens(format, Some(keyring));
    Stack { service, signing }
}

fn post(path: &str, authorization: &str, body: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("Authorization", authorization)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::Text(body.to_owned()))
        .unwrap()
}

async fn send(service: &TokenService, request: Request) -> (StatusCode, Value, String) {
    let response = handler::handle(service, request).await.unwrap();
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let Body::Text(text) = response.body() else {
        panic!("a text body");
    };
    (
        response.status(),
        serde_json::from_str(text).unwrap(),
        cache,
    )
}

async fn token(service: &TokenService, client: &str, body: &str) -> String {
    let request = post("/oauth2/token", &basic(client, SECRET), body);
    let (status, answer, _) = send(service, request).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["access_token"].as_str().unwrap().to_owned()
}

async fn jwks(service: &TokenService) -> JwkSet {
    let request = lambda_http::http::Request::builder()
        .uri("/.well-known/jwks.json")
        .body(Body::Empty)
        .unwrap();
    let (status, answer, cache) = send(service, request).await;
    assert_eq!(
        (status, cache.as_str()),
        (StatusCode::OK, "public, max-age=300")
    );
    serde_json::from_value(answer).unwrap()
}

/// The claims of `token`, verified against the service's JWKS as a resource server would.
async fn verified(service: &TokenService, token: &str, audience: &str) -> Value {
    let header = decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1");
    let set = jwks(service).await;
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("the kid is published");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[audience]);
    let key = DecodingKey::from_jwk(jwk).unwrap();
    decode::<Value>(token, &key, &validation).unwrap().claims
}

#[tokio::test]
async fn a_jwt_client_gets_an_rfc_9068_token_with_every_claim_that_verifies_against_the_jwks() {
    for alg in SigningAlg::ALL {
        let stack = stack(TokenFormat::Opaque, alg).await;
        let token = token(&stack.service, JWT_CLIENT, "grant_type=client_credentials&scope=orders.read&resource=https%3A%2F%2Fapi.example.com").await;
        let claims = verified(&stack.service, &token, API).await;
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(
            (&claims["sub"], &claims["client_id"]),
            (&JWT_CLIENT.into(), &JWT_CLIENT.into())
        );
        assert_eq!(claims["aud"], API);
        assert_eq!(claims["scope"], "orders.read");
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert_eq!(exp - iat, 599);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 32, "{alg}");
        assert!(claims.get("from_code").is_none());
    }
}

#[tokio::test]
async fn a_token_without_an_audience_is_for_the_issuer_and_every_jti_is_new() {
    let stack = stack(TokenFormat::Jwt, SigningAlg::Es256).await;
    let body = "grant_type=client_credentials&scope=orders.write";
    let first = token(&stack.service, JWT_CLIENT, body).await;
    let second = token(&stack.service, JWT_CLIENT, body).await;
    let (a, b) = (
        verified(&stack.service, &first, API).await,
        verified(&stack.service, &second, API).await,
    );
    assert_ne!(a["jti"], b["jti"]);
    let inn_reach = inn_reach_lambda_request(FIXTURE_KEY, FIXTURE_SECRET);
    let (status, answer, _) = send(&stack.service, inn_reach).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let jwt = answer["access_token"].as_str().unwrap();
    let claims = verified(&stack.service, jwt, ISSUER).await;
    assert_eq!(claims["aud"], ISSUER, "no audience granted: the issuer");
    assert_eq!(
        (&claims["from_code"], &claims["to_code"]),
        (&"d2ir1".into(), &"abcde".into())
    );
    assert_eq!(claims["scope"], "innreach_tp");
}

#[tokio::test]
async fn a_key_s_own_format_overrides_the_default_either_way() {
    let body = "grant_type=client_credentials";
    let jwt_by_default = stack(TokenFormat::Jwt, SigningAlg::Rs256).await;
    let opaque = token(&jwt_by_default.service, OPAQUE_CLIENT, body).await;
    assert_eq!(opaque.len(), 32, "{opaque}");
    assert!(opaque.bytes().all(|b| b.is_ascii_hexdigit()));
    let opaque_by_default = stack(TokenFormat::Opaque, SigningAlg::Rs256).await;
    let jwt = token(&opaque_by_default.service, JWT_CLIENT, body).await;
    assert_eq!(jwt.split('.').count(), 3);
}

#[tokio::test]
async fn a_jwt_introspects_as_active_until_it_is_revoked_like_an_opaque_token() {
    let stack = stack(TokenFormat::Jwt, SigningAlg::Es256).await;
    let token = token(&stack.service, JWT_CLIENT, "grant_type=client_credentials").await;
    let auth = basic(JWT_CLIENT, SECRET);
    let introspect = || post("/oauth2/introspect", &auth, &format!("token={token}"));
    let (_, answer, _) = send(&stack.service, introspect()).await;
    assert_eq!(
        (&answer["active"], &answer["client_id"]),
        (&true.into(), &JWT_CLIENT.into())
    );
    let (status, _, _) = send(
        &stack.service,
        post("/oauth2/revoke", &auth, &format!("token={token}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, answer, _) = send(&stack.service, introspect()).await;
    assert_eq!(answer, serde_json::json!({"active": false}));
}

#[tokio::test]
async fn the_metadata_names_the_jwks_which_publishes_next_current_and_previous_keys() {
    let stack = stack(TokenFormat::Jwt, SigningAlg::Rs256).await;
    let request = lambda_http::http::Request::builder()
        .uri("/.well-known/oauth-authorization-server")
        .body(Body::Empty)
        .unwrap();
    let (_, metadata, _) = send(&stack.service, request).await;
    assert_eq!(
        metadata["jwks_uri"],
        format!("{ISSUER}/.well-known/jwks.json")
    );
    assert_eq!(jwks(&stack.service).await.keys.len(), 2, "current and next");
    let before = token(&stack.service, JWT_CLIENT, "grant_type=client_credentials").await;
    let now = clock::now_epoch_seconds();
    rotate(
        &*stack.signing,
        &KeyMaker::InMemory,
        SigningAlg::Rs256,
        600,
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        jwks(&stack.service).await.keys.len(),
        3,
        "previous, current, next"
    );
    let after = token(&stack.service, JWT_CLIENT, "grant_type=client_credentials").await;
    let kid = |t: &str| decode_header(t).unwrap().kid.unwrap();
    assert_ne!(kid(&before), kid(&after), "the promoted key signs");
    verified(&stack.service, &before, API).await;
}

#[tokio::test]
async fn without_a_current_signing_key_a_jwt_is_refused_with_a_server_error_and_the_jwks_is_empty()
{
    let keys = Arc::new(MemoryKeyStore::new());
    let mut key = client_key(JWT_CLIENT, SECRET, KeyStatus::Active, &[]);
    key.grants = grants(&["orders.read"], &[]).into();
    keys.create(&key).await.unwrap();
    let keyring = Keyring::new(Arc::new(MemorySigningKeyStore::default()), None, 0);
    let service = TokenService::new(keys, Arc::new(MemoryTokenStore::new()), 599)
        .with_issuer(Some(ISSUER.into()))
        .with_tokens(TokenFormat::Jwt, Some(Arc::new(keyring)));
    let request = post(
        "/oauth2/token",
        &basic(JWT_CLIENT, SECRET),
        "grant_type=client_credentials",
    );
    let (status, answer, _) = send(&service, request).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer["error"], "server_error");
    assert_eq!(jwks(&service).await.keys.len(), 0);
}
