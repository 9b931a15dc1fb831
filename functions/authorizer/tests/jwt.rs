//! The `jwt` style against real peers: a JWKS served over loopback HTTP (by a wiremock
//! server whose key set the tests rotate), tokens signed in the tests with jsonwebtoken and
//! keys aws-lc-rs generates, node `oidc-provider`'s own JWT access tokens, and a real
//! forward proxy.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use authorizer::apigw::AuthorizerEvent;
use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::{Authorizer, Decision, Deny, Moment, PreInputs, Reason, handler};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokengate_tests::fixtures::memory_keys_with;
use tokengate_tests::{ClosedPort, ForwardProxy, OidcProvider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

#[path = "support/test_keys.rs"]
mod test_keys;
use test_keys::{TestKey, jwks, keys};

fn rsa() -> &'static TestKey {
    &keys()[0]
}

const API_KEY: &str = "6f1a0c1e-1b1f-4d6b-9a57-0c8f3f1d2e3a";
const ISSUER: &str = "https://idp.example/";
const AUDIENCE: &str = "api://orders";

fn now() -> u64 {
    tokengate_shared::clock::now_epoch_seconds()
}

/// Claims that pass every check of [`JWT`], changed by `changes`.
fn claims(changes: Value) -> Value {
    let mut claims = json!({
        "iss": ISSUER, "sub": "user-42", "aud": AUDIENCE, "client_id": "orders-app",
        "scope": "orders.read orders.write", "iat": now(), "exp": now() + 300,
    });
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

/// A JWKS endpoint on loopback whose key set, status and lifetime the test changes, and
/// which counts its fetches.
#[derive(Clone)]
struct JwksEndpoint {
    keys: Arc<RwLock<Value>>,
    status: Arc<AtomicU16>,
    fetches: Arc<AtomicUsize>,
}

impl wiremock::Respond for JwksEndpoint {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        match self.status.load(Ordering::SeqCst) {
            200 => ResponseTemplate::new(200)
                .insert_header("cache-control", "public, max-age=0")
                .set_body_raw(
                    self.keys.read().unwrap().to_string(),
                    "application/jwk-set+json",
                ),
            status => ResponseTemplate::new(status),
        }
    }
}

impl JwksEndpoint {
    async fn start(keys: &[&TestKey]) -> (MockServer, Self) {
        let server = MockServer::start().await;
        let endpoint = Self {
            keys: Arc::new(RwLock::new(jwks(keys))),
            status: Arc::new(AtomicU16::new(200)),
            fetches: Arc::default(),
        };
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(endpoint.clone())
            .mount(&server)
            .await;
        (server, endpoint)
    }

    fn serve(&self, keys: &[&TestKey]) {
        *self.keys.write().unwrap() = jwks(keys);
    }

    fn fail_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

const JWT: &str = r#"{
  "token_validation_uri": {"defaultURI": "{IDP}/jwks"},
  "validation": {
    "style": "jwt",
    "issuer": "https://idp.example/",
    "audience": "api://orders",
    "required_scopes": ["orders.read"],
    "leeway_seconds": 0,
    "jwks_refresh_seconds": 1
  },
  "inject_headers": {"X-User-Id": "$.sub", "X-Client-Id": "$.client_id", "X-Scopes": "$.scope"},
  "block_authorization_header": true
}"#;

async fn authorizer_for(config: &str, idp: &str) -> Authorizer {
    let pre_inputs = PreInputs::parse(&config.replace("{IDP}", idp));
    let endpoint = HttpValidationEndpoint::new(pre_inputs.as_ref().ok()).unwrap();
    let keys = memory_keys_with(API_KEY).await;
    let authorizer = Authorizer::new(pre_inputs, keys, Arc::new(endpoint));
    authorizer.warm_up().await;
    authorizer
}

fn event(token: &str) -> AuthorizerEvent {
    event_with(&format!("Bearer {token}"))
}

/// The REST event of [`event`], with this `Authorization` value as it is.
fn event_with(authorization: &str) -> AuthorizerEvent {
    AuthorizerEvent::from_value(&json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders",
        "headers": {"X-Api-Key": API_KEY, "Authorization": authorization},
        "multiValueHeaders": {"X-Api-Key": [API_KEY], "Authorization": [authorization]},
        "requestContext": {"stage": "prod", "httpMethod": "GET"},
    }))
    .unwrap()
}

async fn decide(authorizer: &Authorizer, token: &str) -> Decision {
    decide_at(authorizer, token, Moment::now()).await
}

/// The same, at a given moment: a test moves time on instead of sleeping.
async fn decide_at(authorizer: &Authorizer, token: &str, now: Moment) -> Decision {
    handler::decide(authorizer, &event(token), now).await.0
}

/// The injected headers of an Allow, by name.
fn injected(decision: &Decision) -> Vec<(String, String)> {
    match decision {
        Decision::Allow { headers, .. } => {
            let mut headers: Vec<_> = headers
                .iter()
                .map(|h| (h.header.clone(), h.value.clone()))
                .collect();
            headers.sort();
            headers
        }
        Decision::Deny { .. } => panic!("expected Allow, got {decision:?}"),
    }
}

fn assert_reason(decision: &Decision, reason: Reason) {
    assert_eq!(decision.reason(), Some(reason), "{decision:?}");
}

#[tokio::test]
async fn allows_rs256_es256_and_eddsa_tokens_and_injects_their_verified_claims() {
    let [rsa, ec, ed] = keys();
    let (idp, _jwks) = JwksEndpoint::start(&[rsa, ec, ed]).await;
    let authorizer = authorizer_for(JWT, &idp.uri()).await;
    for key in keys() {
        let decision = decide(&authorizer, &key.sign(&claims(json!({})))).await;
        assert_eq!(
            injected(&decision),
            [
                ("X-Client-Id".to_owned(), "orders-app".to_owned()),
                ("X-Scopes".to_owned(), "orders.read orders.write".to_owned()),
                ("X-User-Id".to_owned(), "user-42".to_owned()),
            ],
            "{:?}",
            key.alg
        );
        assert!(!decision.cached());
    }
}

#[tokio::test]
async fn a_token_without_kid_or_typ_is_verified_by_the_keys_of_its_algorithm() {
    let (idp, _jwks) = JwksEndpoint::start(&[rsa()]).await;
    let authorizer = authorizer_for(JWT, &idp.uri()).await;
    let mut header = Header::new(Algorithm::RS256);
    header.typ = None;
    let decision = decide(&authorizer, &rsa().sign_with(&header, &claims(json!({})))).await;
    assert!(decision.is_allow(), "{decision:?}");
    header.typ = Some("JWT".into());
    let decision = decide(&authorizer, &rsa().sign_with(&header, &claims(json!({})))).await;
    assert!(decision.is_allow(), "{decision:?}");
}

#[tokio::test]
async fn hostile_tokens_are_each_denied_with_the_check_that_failed() {
    let (idp, _jwks) = JwksEndpoint::start(&[rsa()]).await;
    let authorizer = authorizer_for(JWT, &idp.uri()).await;
    let good = rsa().sign(&claims(json!({})));
    let [header, payload, signature] = good.split('.').collect::<Vec<_>>()[..] else {
        panic!("three parts")
    };
    let b64 = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());

    let unsigned = format!(
        "{}.{payload}.",
        b64(json!({"alg": "none", "kid": "rsa-1", "typ": "at+jwt"}))
    );
    // Algorithm confusion: HS256 keyed with the RSA public key, as a verifier that trusts
    // the header's alg would check it.
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("rsa-1".into());
    let public_key = rsa().jwk["n"].as_str().unwrap().as_bytes().to_vec();
    let confused = jsonwebtoken::encode(
        &hs_header,
        &claims(json!({})),
        &EncodingKey::from_secret(&public_key).unwrap(),
    )
    .unwrap();
    let tampered = format!(
        "{header}.{}.{signature}",
        b64(claims(json!({"sub": "admin"})))
    );
    // Whole base64url quanta dropped, so that what is left still decodes.
    let truncated = format!(
        "{header}.{payload}.{}",
        &signature[..signature.len() / 4 * 4 - 8]
    );
    let mut wrong_typ = rsa().header();
    wrong_typ.typ = Some("id_token+jwt".into());
    let mut unknown_kid = rsa().header();
    unknown_kid.kid = Some("rsa-unknown".into());
    // The JWK declares RS256; the same key may not verify RS384.
    let mut other_alg = rsa().header();
    other_alg.alg = Algorithm::RS384;
    let mut critical = rsa().header();
    critical.crit = Some(vec!["b64".into()]);

    let cases: Vec<(&str, String, Reason)> = vec![
        ("alg none", unsigned, Reason::AlgorithmRefused),
        (
            "HS256 keyed with the public key",
            confused,
            Reason::AlgorithmRefused,
        ),
        ("a tampered payload", tampered, Reason::SignatureInvalid),
        ("a truncated signature", truncated, Reason::SignatureInvalid),
        (
            "not a JWT at all",
            "2YotnFZFEjr1zCsicMWpAA".into(),
            Reason::TokenMalformed,
        ),
        (
            "a typ that is not an access token",
            rsa().sign_with(&wrong_typ, &claims(json!({}))),
            Reason::TokenTypeRefused,
        ),
        (
            "an unknown kid",
            rsa().sign_with(&unknown_kid, &claims(json!({}))),
            Reason::SigningKeyUnknown,
        ),
        (
            "an alg the JWK does not declare",
            rsa().sign_with(&other_alg, &claims(json!({}))),
            Reason::SigningKeyUnknown,
        ),
        (
            "exp in the past",
            rsa().sign(&claims(json!({"exp": now() - 1}))),
            Reason::TokenExpired,
        ),
        (
            "no exp",
            rsa().sign(&claims(json!({"exp": null}))),
            Reason::TokenExpiryMissing,
        ),
        (
            "nbf in the future",
            rsa().sign(&claims(json!({"nbf": now() + 60}))),
            Reason::TokenNotYetValid,
        ),
        (
            "iat in the future",
            rsa().sign(&claims(json!({"iat": now() + 60}))),
            Reason::TokenNotYetValid,
        ),
        (
            "another issuer",
            rsa().sign(&claims(json!({"iss": "https://evil.example/"}))),
            Reason::IssuerMismatch,
        ),
        (
            "no issuer",
            rsa().sign(&claims(json!({"iss": null}))),
            Reason::IssuerMismatch,
        ),
        (
            "another audience",
            rsa().sign(&claims(json!({"aud": ["api://billing"]}))),
            Reason::AudienceMismatch,
        ),
        (
            "a missing scope",
            rsa().sign(&claims(json!({"scope": "orders.write"}))),
            Reason::ScopeMissing,
        ),
        (
            "iss of the wrong type",
            rsa().sign(&claims(json!({"iss": 7}))),
            Reason::TokenMalformed,
        ),
    ];
    for (case, token, reason) in cases {
        let decision = decide(&authorizer, &token).await;
        assert_eq!(decision.reason(), Some(reason), "{case}: {decision:?}");
        assert_eq!(reason.error(), Deny::TokenValidationFails, "{case}");
        let Decision::Deny { denial, .. } = &decision else {
            unreachable!()
        };
        let logged = format!("{:?} {}", denial, reason.description());
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(
                !logged.contains(part),
                "{case}: the token leaks into {logged}"
            );
        }
    }
}

#[tokio::test]
async fn the_answer_names_the_check_that_failed_without_the_token() {
    let (idp, _jwks) = JwksEndpoint::start(&[rsa()]).await;
    let authorizer = authorizer_for(JWT, &idp.uri()).await;
    let token = rsa().sign(&claims(json!({"scope": "orders.write"})));
    let answer = serde_json::to_value(
        handler::decide(&authorizer, &event(&token), Moment::now())
            .await
            .1,
    )
    .unwrap();
    assert_eq!(answer["context"]["error"], "TokenValidationFails");
    assert_eq!(
        answer["context"]["error_description"],
        "The token lacks a required scope."
    );
    assert!(!answer.to_string().contains(&token));
}

#[tokio::test]
async fn an_expiry_within_the_leeway_is_accepted() {
    let (idp, _jwks) = JwksEndpoint::start(&[rsa()]).await;
    let config = JWT.replace(r#""leeway_seconds": 0"#, r#""leeway_seconds": 30"#);
    let authorizer = authorizer_for(&config, &idp.uri()).await;
    let late = rsa().sign(&claims(json!({"exp": now() - 5, "nbf": now() + 5})));
    assert!(decide(&authorizer, &late).await.is_allow());
    let too_late = rsa().sign(&claims(json!({"exp": now() - 40})));
    assert_reason(&decide(&authorizer, &too_late).await, Reason::TokenExpired);
}

#[tokio::test]
async fn scopes_may_come_as_an_scp_list_and_audiences_as_a_list() {
    let (idp, _jwks) = JwksEndpoint::start(&[rsa()]).await;
    let authorizer = authorizer_for(JWT, &idp.uri()).await;
    let token = rsa().sign(&claims(
        json!({"scope": null, "scp": ["orders.read"], "aud": ["api://billing", AUDIENCE]}),
    ));
    assert!(decide(&authorizer, &token).await.is_allow());
}

#[tokio::test]
async fn a_cache_hit_verifies_nothing_again_and_never_outlives_the_expiry() {
    let (idp, jwks) = JwksEndpoint::start(&[rsa()]).await;
    let authorizer = authorizer_for(JWT, &idp.uri()).await;
    let token = rsa().sign(&claims(json!({"exp": now() + 2})));
    assert!(decide(&authorizer, &token).await.is_allow());
    let fetched = jwks.fetches();
    let hit = decide(&authorizer, &token).await;
    assert!(hit.is_allow() && hit.cached(), "{hit:?}");
    assert_eq!(jwks.fetches(), fetched);
    let later = Moment::now().later(Duration::from_millis(2_100));
    let expired = decide_at(&authorizer, &token, later).await;
    assert_reason(&expired, Reason::TokenExpired);
}

#[tokio::test]
async fn a_new_signing_key_is_fetched_once_and_a_second_unknown_kid_in_the_window_fetches_nothing()
{
    let old = rsa();
    let new = &keys()[1];
    let (idp, jwks) = JwksEndpoint::start(&[old]).await;
    let authorizer = authorizer_for(JWT, &idp.uri()).await;
    assert_eq!(jwks.fetches(), 1, "the key set is fetched at cold start");
    assert!(
        decide(&authorizer, &old.sign(&claims(json!({}))))
            .await
            .is_allow()
    );
    // The issuer rotates: it publishes the new key beside the old one.
    jwks.serve(&[old, new]);
    let later = Moment::now().later(Duration::from_millis(1_100));
    let rotated = decide_at(&authorizer, &new.sign(&claims(json!({}))), later).await;
    assert!(rotated.is_allow(), "{rotated:?}");
    assert_eq!(jwks.fetches(), 2, "exactly one refetch");
    let mut stranger = new.header();
    stranger.kid = Some("never-published".into());
    let unknown = decide_at(
        &authorizer,
        &new.sign_with(&stranger, &claims(json!({}))),
        later,
    )
    .await;
    assert_reason(&unknown, Reason::SigningKeyUnknown);
    assert_eq!(jwks.fetches(), 2, "no fetch inside jwks_refresh_seconds");
}

#[tokio::test]
async fn a_jwks_endpoint_that_goes_down_keeps_the_last_good_key_set_in_use() {
    let (idp, jwks) = JwksEndpoint::start(&[rsa()]).await;
    let authorizer = authorizer_for(JWT, &idp.uri()).await;
    jwks.fail_with(503);
    // The key set is past its lifetime (max-age=0): a background refresh fails.
    let mut later = Moment::now();
    for jti in 0..3 {
        later = later.later(Duration::from_millis(1_100));
        let token = rsa().sign(&claims(json!({"jti": jti})));
        let decision = decide_at(&authorizer, &token, later).await;
        assert!(decision.is_allow(), "{decision:?}");
    }
    // The refresh runs in the background: wait for it, not for a fixed time.
    let tried = async {
        while jwks.fetches() < 2 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), tried)
        .await
        .expect("a refresh was tried");
}

#[tokio::test]
async fn no_key_set_at_all_is_target_endpoint_error() {
    let closed = ClosedPort::new();
    let authorizer = authorizer_for(JWT, &closed.url()).await;
    let decision = decide(&authorizer, &rsa().sign(&claims(json!({})))).await;
    assert_reason(&decision, Reason::JwksUnavailable);
    assert_eq!(Reason::JwksUnavailable.error(), Deny::TargetEndpointError);
    let (idp, jwks) = JwksEndpoint::start(&[rsa()]).await;
    jwks.fail_with(500);
    let authorizer = authorizer_for(JWT, &idp.uri()).await;
    let decision = decide(&authorizer, &rsa().sign(&claims(json!({})))).await;
    assert_reason(&decision, Reason::JwksUnavailable);
}

#[tokio::test]
async fn a_jwks_file_answers_the_first_request_with_the_jwks_endpoint_down() {
    let file = std::env::temp_dir().join(format!("tokengate-jwks-{}.json", std::process::id()));
    std::fs::write(&file, jwks(&[rsa()]).to_string()).unwrap();
    let closed = ClosedPort::new();
    let config = JWT.replace(
        r#""jwks_refresh_seconds": 1"#,
        &format!(
            r#""jwks_refresh_seconds": 1, "jwks_file": "{}""#,
            file.display()
        ),
    );
    let authorizer = authorizer_for(&config, &closed.url()).await;
    let decision = decide(&authorizer, &rsa().sign(&claims(json!({})))).await;
    assert!(decision.is_allow(), "{decision:?}");
    std::fs::remove_file(file).unwrap();
}

#[tokio::test]
async fn discovery_finds_the_jwks_in_the_issuers_metadata() {
    let (idp, jwks) = JwksEndpoint::start(&[rsa()]).await;
    Mock::given(method("GET"))
        .and(path("/tenant/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&idp)
        .await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server/tenant"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"issuer": ISSUER, "jwks_uri": format!("{}/jwks", idp.uri())}),
            ),
        )
        .mount(&idp)
        .await;
    let config = JWT
        .replace("{IDP}/jwks", "{IDP}/tenant")
        .replace(r#""leeway_seconds": 0"#, r#""discovery": true"#);
    let authorizer = authorizer_for(&config, &idp.uri()).await;
    let decision = decide(&authorizer, &rsa().sign(&claims(json!({})))).await;
    assert!(decision.is_allow(), "{decision:?}");
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn the_jwks_is_fetched_through_the_forward_proxy_of_the_pre_inputs() {
    let (idp, jwks) = JwksEndpoint::start(&[rsa()]).await;
    let proxy = ForwardProxy::start().await;
    let config = JWT.replace(
        r#""block_authorization_header": true"#,
        &format!(
            r#""block_authorization_header": true, "http_proxy_server": "{}", "http_proxy_port": {}"#,
            proxy.host(),
            proxy.port()
        ),
    );
    let authorizer = authorizer_for(&config, &idp.uri()).await;
    assert!(
        decide(&authorizer, &rsa().sign(&claims(json!({}))))
            .await
            .is_allow()
    );
    assert_eq!(proxy.requests(), jwks.fetches());
    assert!(proxy.requests() >= 1);
}

#[tokio::test]
async fn each_region_has_its_own_jwks_and_issuer() {
    let (eu, _eu_jwks) = JwksEndpoint::start(&[&keys()[1]]).await;
    let (default, _jwks) = JwksEndpoint::start(&[rsa()]).await;
    let config = format!(
        r#"{{
      "token_validation_uri": {{
        "regionCodeHeader": "X-Region-Code",
        "regionCodeValue": {{"EU": "{}/jwks"}},
        "defaultURI": "{}/jwks"
      }},
      "validation": {{"style": "jwt", "audience": "{AUDIENCE}", "issuer": {{"EU": "https://eu.idp.example/", "default": "{ISSUER}"}}}}
    }}"#,
        eu.uri(),
        default.uri()
    );
    let authorizer = authorizer_for(&config, "").await;
    let eu_token = keys()[1].sign(&claims(json!({"iss": "https://eu.idp.example/"})));
    let with_region = |token: &str| {
        let authorization = format!("Bearer {token}");
        AuthorizerEvent::from_value(&json!({
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders",
            "headers": {"X-Api-Key": API_KEY, "Authorization": authorization, "X-Region-Code": "EU"},
            "requestContext": {"stage": "prod", "httpMethod": "GET"},
        }))
        .unwrap()
    };
    let decision = handler::decide(&authorizer, &with_region(&eu_token), Moment::now())
        .await
        .0;
    assert!(decision.is_allow(), "{decision:?}");
    let default_token = rsa().sign(&claims(json!({})));
    assert!(decide(&authorizer, &default_token).await.is_allow());
    let decision = handler::decide(&authorizer, &with_region(&default_token), Moment::now())
        .await
        .0;
    assert_reason(&decision, Reason::SigningKeyUnknown);
    let wrong_issuer = keys()[1].sign(&claims(json!({})));
    let decision = handler::decide(&authorizer, &with_region(&wrong_issuer), Moment::now())
        .await
        .0;
    assert_reason(&decision, Reason::IssuerMismatch);
}

#[tokio::test]
async fn oidc_provider_jwt_access_tokens_are_allowed_though_its_own_introspection_refuses_them() {
    for alg in ["RS256", "ES256"] {
        let provider = OidcProvider::start(alg);
        let http = reqwest::Client::new();
        let token = provider.access_token(&http, "orders.read").await;
        let introspection = provider.introspect(&http, &token).await;
        assert_ne!(introspection["active"], true, "{alg}: {introspection}");
        let config = format!(
            r#"{{
          "token_validation_uri": {{"defaultURI": "{issuer}"}},
          "validation": {{"style": "jwt", "discovery": true, "issuer": "{issuer}",
            "audience": "{audience}", "required_scopes": ["orders.read"]}},
          "inject_headers": {{"X-Client-Id": "$.client_id", "X-Scope": "$.scope"}}
        }}"#,
            issuer = provider.issuer(),
            audience = OidcProvider::RESOURCE,
        );
        let authorizer = authorizer_for(&config, "").await;
        let decision = decide(&authorizer, &token).await;
        assert_eq!(
            injected(&decision),
            [
                ("X-Client-Id".to_owned(), OidcProvider::CLIENT_ID.to_owned()),
                ("X-Scope".to_owned(), "orders.read".to_owned()),
            ],
            "{alg}"
        );
        let write_only = provider.access_token(&http, "orders.write").await;
        assert_reason(
            &decide(&authorizer, &write_only).await,
            Reason::ScopeMissing,
        );
    }
}

#[tokio::test]
async fn the_rfc9068_profile_refuses_a_token_whose_typ_is_not_at_jwt_such_as_an_id_token() {
    let (idp, _jwks) = JwksEndpoint::start(&[rsa()]).await;
    let config = JWT.replace(r#""leeway_seconds": 0"#, r#""profile": "rfc9068""#);
    let authorizer = authorizer_for(&config, &idp.uri()).await;
    let mut access = rsa().header();
    access.typ = Some("at+jwt".into());
    let allowed = decide(&authorizer, &rsa().sign_with(&access, &claims(json!({})))).await;
    assert!(allowed.is_allow(), "{allowed:?}");
    for typ in [Some("JWT"), None] {
        let mut header = rsa().header();
        header.typ = typ.map(str::to_owned);
        let id_token = rsa().sign_with(&header, &claims(json!({})));
        assert_reason(
            &decide(&authorizer, &id_token).await,
            Reason::TokenTypeRefused,
        );
    }
}

#[tokio::test]
async fn a_token_without_the_bearer_scheme_is_refused_in_the_jwt_style() {
    let (idp, _jwks) = JwksEndpoint::start(&[rsa()]).await;
    let authorizer = authorizer_for(JWT, &idp.uri()).await;
    let token = rsa().sign(&claims(json!({})));
    for authorization in [token.clone(), format!("Token {token}"), "Bearer ".into()] {
        let event = AuthorizerEvent::from_value(&json!({
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders",
            "headers": {"X-Api-Key": API_KEY, "Authorization": authorization},
            "requestContext": {},
        }))
        .unwrap();
        let decision = handler::decide(&authorizer, &event, Moment::now()).await.0;
        assert!(!decision.is_allow(), "{authorization}: {decision:?}");
    }
    let lower = AuthorizerEvent::from_value(&json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders",
        "headers": {"X-Api-Key": API_KEY, "Authorization": format!("bearer {token}")},
        "requestContext": {},
    }))
    .unwrap();
    assert!(
        handler::decide(&authorizer, &lower, Moment::now())
            .await
            .0
            .is_allow(),
        "any case"
    );
}

#[tokio::test]
async fn discovery_refuses_metadata_naming_another_issuer_or_a_plain_http_jwks() {
    for metadata in [
        json!({"issuer": "https://evil.example/", "jwks_uri": "{IDP}/jwks"}),
        json!({"jwks_uri": "{IDP}/jwks"}),
        json!({"issuer": ISSUER, "jwks_uri": "http://jwks.example/keys"}),
    ] {
        let (idp, jwks) = JwksEndpoint::start(&[rsa()]).await;
        let body: Value =
            serde_json::from_str(&metadata.to_string().replace("{IDP}", &idp.uri())).unwrap();
        Mock::given(method("GET"))
            .and(path("/tenant/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&idp)
            .await;
        let config = JWT
            .replace("{IDP}/jwks", "{IDP}/tenant")
            .replace(r#""leeway_seconds": 0"#, r#""discovery": true"#);
        let authorizer = authorizer_for(&config, &idp.uri()).await;
        let decision = decide(&authorizer, &rsa().sign(&claims(json!({})))).await;
        assert_reason(&decision, Reason::JwksUnavailable);
        assert_eq!(jwks.fetches(), 0, "{metadata}");
    }
}

#[tokio::test]
async fn with_routes_a_jwt_is_held_to_each_routes_scopes_read_from_scp_too() {
    let (idp, _jwks) = JwksEndpoint::start(&[rsa()]).await;
    let config = JWT.replace(
        r#""block_authorization_header": true"#,
        r#""block_authorization_header": true,
  "routes": [
    {"method": "GET", "path": "/orders", "scopes": ["orders.read"]},
    {"method": "POST", "path": "/orders", "scopes": ["orders.write", "orders.admin"], "match": "any"}
  ]"#,
    );
    let authorizer = authorizer_for(&config, &idp.uri()).await;
    let on = |method: &str, token: &str| {
        AuthorizerEvent::from_value(&json!({
            "type": "REQUEST",
            "methodArn": format!("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/{method}/orders"),
            "headers": {"X-Api-Key": API_KEY, "Authorization": format!("Bearer {token}")},
            "requestContext": {"stage": "prod"},
        }))
        .unwrap()
    };
    let reader = rsa().sign(&claims(json!({"scope": null, "scp": ["orders.read"]})));
    let admin = rsa().sign(&claims(
        json!({"scope": null, "scp": "orders.read orders.admin"}),
    ));
    let decide_on = |method: &'static str, token: String| {
        let event = on(method, &token);
        let authorizer = &authorizer;
        async move { handler::decide(authorizer, &event, Moment::now()).await.0 }
    };
    assert!(decide_on("GET", reader.clone()).await.is_allow());
    let refused = decide_on("POST", reader).await;
    assert_eq!(
        refused.reason(),
        Some(Reason::RouteScopeMissing),
        "{refused:?}"
    );
    assert!(decide_on("POST", admin).await.is_allow());
}
