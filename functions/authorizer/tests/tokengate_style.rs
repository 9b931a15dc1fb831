//! The `tokengate` validation style: tokengate's own tokens enforced from the stores,
//! without an HTTP hop. The stores are the in-memory ones `tokengate serve` runs on, with
//! a counting wrapper for the round trips; DynamoDB's one-batch read is under test in
//! `tests/tests/stores.rs` and, through the Lambda emulator, `tests/tests/issue_and_enforce.rs`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use async_trait::async_trait;
use authorizer::apigw::AuthorizerEvent;
use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::{Authorizer, Decision, Moment, PreInputs, Reason, handler};
use serde_json::{Value, json};
use tokengate_shared::signing::local::generate;
use tokengate_shared::signing::{Jwks, LocalKey, SigningAlg};
use tokengate_shared::{
    AccessToken, KeyAdmin, KeyId, KeyStatus, StoreError, SystemCode, TokenAndKeys, TokenHash,
    TokenLookup, TokenRecord, TokenStore, clock,
};
use tokengate_tests::fixtures::{CountingStores, LogCapture, client_key};

const API_KEY: &str = "6f1a0c1e-1b1f-4d6b-9a57-0c8f3f1d2e3a";
const OTHER_KEY: &str = "3f2b8a9e-5c1d-4e7f-8a6b-9c0d1e2f3a4b";

const TOKENGATE: &str = r#"{
  "validation": {"style": "tokengate", "required_scopes": ["innreach_tp"]},
  "inject_headers": {
    "X-Client-Id": "$.client_id",
    "X-From-Code": "$.from_code",
    "X-Token-Expires": "$.exp"
  },
  "block_authorization_header": true
}"#;

/// The same, letting any client's token through with any valid API key.
const TOKENGATE_UNBOUND: &str = r#"{
  "validation": {"style": "tokengate", "required_scopes": ["innreach_tp"], "token_bound_to_api_key": false},
  "inject_headers": {
    "X-Client-Id": "$.client_id",
    "X-From-Code": "$.from_code",
    "X-Token-Expires": "$.exp"
  },
  "block_authorization_header": true
}"#;

struct Stack {
    store: Arc<CountingStores>,
    authorizer: Authorizer,
}

impl Stack {
    async fn new(config: &str) -> Self {
        let store = Arc::new(CountingStores::new());
        for id in [API_KEY, OTHER_KEY] {
            let key = client_key(id, "secret", KeyStatus::Active, &["d2ir1"]);
            store.keys.create(&key).await.unwrap();
        }
        let pre_inputs = PreInputs::parse(config);
        let endpoint = HttpValidationEndpoint::new(pre_inputs.as_ref().ok()).unwrap();
        let authorizer = Authorizer::new(pre_inputs, store.clone(), Arc::new(endpoint))
            .with_token_lookup(store.clone());
        Self { store, authorizer }
    }

    /// Stores a token issued to `owner` now, as token-issuer would, and returns its text.
    async fn issue(&self, owner: &str, lifetime: i64) -> String {
        self.issue_granted(owner, lifetime, "innreach_tp", &[])
            .await
    }

    /// The same, granted these scopes and audiences.
    async fn issue_granted(
        &self,
        owner: &str,
        lifetime: i64,
        scope: &str,
        audiences: &[&str],
    ) -> String {
        let token = AccessToken::mint();
        let now = clock::now_epoch_seconds();
        let record = TokenRecord {
            hash: token.hash(),
            key_id: KeyId::parse(owner).unwrap(),
            from_code: SystemCode::parse("d2ir1").ok(),
            to_code: None,
            scope: scope.into(),
            audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
            issued_at: now.saturating_sub(1),
            expires_at: now.saturating_add_signed(lifetime),
        };
        self.store.tokens.put(&record).await.unwrap();
        token.expose().to_owned()
    }

    async fn decide(&self, api_key: &str, token: &str) -> Decision {
        let value = json!({
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/patrons/42",
            "headers": {"X-Api-Key": api_key, "Authorization": format!("Bearer {token}")},
            "requestContext": {"stage": "prod", "httpMethod": "GET"},
        });
        self.decide_event(value).await
    }

    async fn decide_event(&self, value: Value) -> Decision {
        let event = AuthorizerEvent::from_value(&value).unwrap();
        handler::decide(&self.authorizer, &event, Moment::now())
            .await
            .0
    }

    async fn set_status(&self, id: &str, status: KeyStatus) {
        let id = KeyId::parse(id).unwrap();
        self.store.keys.set_status(&id, status, 1).await.unwrap();
    }
}

fn injected(decision: &Decision) -> Vec<(String, String)> {
    match decision {
        Decision::Allow { headers, .. } => headers
            .iter()
            .map(|h| (h.header.clone(), h.value.clone()))
            .collect(),
        Decision::Deny { .. } => panic!("expected Allow, got {decision:?}"),
    }
}

#[tokio::test]
async fn our_own_token_is_allowed_with_headers_injected_from_the_claims_introspection_returns() {
    let stack = Stack::new(TOKENGATE).await;
    let token = stack.issue(API_KEY, 599).await;
    let decision = stack.decide(API_KEY, &token).await;
    let headers = injected(&decision);
    assert_eq!(headers[0], ("X-Client-Id".into(), API_KEY.into()));
    assert_eq!(headers[1], ("X-From-Code".into(), "d2ir1".into()));
    assert_eq!(headers[2].0, "X-Token-Expires");
    assert!(matches!(
        decision,
        Decision::Allow { ref principal_id, block_authorization_header: true, .. } if principal_id == API_KEY
    ));
}

#[tokio::test]
async fn a_revoked_token_is_denied_on_the_very_next_request() {
    let stack = Stack::new(TOKENGATE).await;
    let token = stack.issue(API_KEY, 599).await;
    assert!(stack.decide(API_KEY, &token).await.is_allow());
    let owner = KeyId::parse(API_KEY).unwrap();
    stack
        .store
        .tokens
        .revoke(&TokenHash::of(&token), &owner)
        .await
        .unwrap();
    let decision = stack.decide(API_KEY, &token).await;
    assert_eq!(decision.reason(), Some(Reason::TokenUnknown));
}

#[tokio::test]
async fn a_token_whose_key_is_disabled_deleted_or_revoked_is_denied_on_the_very_next_request() {
    let stack = Stack::new(TOKENGATE_UNBOUND).await;
    let token = stack.issue(OTHER_KEY, 599).await;
    assert!(stack.decide(API_KEY, &token).await.is_allow());
    stack.set_status(OTHER_KEY, KeyStatus::Disabled).await;
    let disabled = stack.decide(API_KEY, &token).await;
    assert_eq!(disabled.reason(), Some(Reason::TokenKeyInactive));
    stack.set_status(OTHER_KEY, KeyStatus::Active).await;
    assert!(stack.decide(API_KEY, &token).await.is_allow());

    let other = KeyId::parse(OTHER_KEY).unwrap();
    let now = clock::now_epoch_seconds();
    stack.store.keys.revoke_tokens(&other, now).await.unwrap();
    let revoked = stack.decide(API_KEY, &token).await;
    assert_eq!(revoked.reason(), Some(Reason::TokenKeyInactive));

    stack.store.keys.delete(&other).await.unwrap();
    let deleted = stack.decide(API_KEY, &token).await;
    assert_eq!(deleted.reason(), Some(Reason::TokenKeyInactive));
}

#[tokio::test]
async fn an_expired_or_unknown_token_is_denied_by_name() {
    let stack = Stack::new(TOKENGATE).await;
    let expired = stack.issue(API_KEY, -1).await;
    let decision = stack.decide(API_KEY, &expired).await;
    assert_eq!(decision.reason(), Some(Reason::TokenExpired));
    let unknown = stack.decide(API_KEY, "never-issued").await;
    assert_eq!(unknown.reason(), Some(Reason::TokenUnknown));
}

#[tokio::test]
async fn the_api_keys_own_problems_are_named_before_the_token_and_the_authorization_header() {
    let stack = Stack::new(TOKENGATE).await;
    let token = stack.issue(API_KEY, 599).await;
    let unknown = stack.decide("no-such-key", &token).await;
    assert_eq!(unknown.reason(), Some(Reason::ApiKeyUnknown));
    stack.set_status(OTHER_KEY, KeyStatus::Disabled).await;
    let disabled = stack.decide(OTHER_KEY, &token).await;
    assert_eq!(disabled.reason(), Some(Reason::ApiKeyDisabled));
    let no_authorization = json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/x",
        "headers": {"X-Api-Key": API_KEY},
        "requestContext": {"stage": "prod", "httpMethod": "GET"},
    });
    let decision = stack.decide_event(no_authorization.clone()).await;
    assert_eq!(decision.reason(), Some(Reason::AuthorizationMissing));
    let mut no_key = no_authorization;
    no_key["headers"] = json!({"Authorization": format!("Bearer {token}")});
    let decision = stack.decide_event(no_key).await;
    assert_eq!(decision.reason(), Some(Reason::ApiKeyMissing));
}

#[tokio::test]
async fn a_required_scope_the_token_lacks_is_denied() {
    let config = TOKENGATE.replace(r#"["innreach_tp"]"#, r#"["innreach_tp", "admin"]"#);
    let stack = Stack::new(&config).await;
    let token = stack.issue(API_KEY, 599).await;
    let decision = stack.decide(API_KEY, &token).await;
    assert_eq!(decision.reason(), Some(Reason::ScopeMissing));
}

#[tokio::test]
async fn every_decision_costs_one_round_trip_once_the_tokens_key_is_known() {
    let stack = Stack::new(TOKENGATE_UNBOUND).await;
    // The token's key is the API key: one batch from the first request on.
    let own = stack.issue(API_KEY, 599).await;
    for _ in 0..3 {
        assert!(stack.decide(API_KEY, &own).await.is_allow());
        assert_eq!(stack.store.round_trips(), (1, 0));
    }
    // Another key's token: its first sighting reads that key once more; from then on the
    // cache knows the owner and it joins the batch.
    let others = stack.issue(OTHER_KEY, 599).await;
    assert!(stack.decide(API_KEY, &others).await.is_allow());
    assert_eq!(stack.store.round_trips(), (1, 1));
    for _ in 0..3 {
        assert!(stack.decide(API_KEY, &others).await.is_allow());
        assert_eq!(stack.store.round_trips(), (1, 0));
    }
    // A denial costs the same one batch.
    assert!(!stack.decide(API_KEY, "never-issued").await.is_allow());
    assert_eq!(stack.store.round_trips(), (1, 0));
}

#[tokio::test]
async fn the_cache_never_allows_what_the_store_now_denies() {
    let config = TOKENGATE_UNBOUND.replace(
        r#""block_authorization_header": true"#,
        r#""block_authorization_header": true, "cache": {"ttl_seconds": 3600}"#,
    );
    let stack = Stack::new(&config).await;
    let token = stack.issue(OTHER_KEY, 599).await;
    for _ in 0..2 {
        assert!(stack.decide(API_KEY, &token).await.is_allow());
    }
    stack.set_status(OTHER_KEY, KeyStatus::Disabled).await;
    assert_eq!(
        stack.decide(API_KEY, &token).await.reason(),
        Some(Reason::TokenKeyInactive)
    );
}

struct Down;

#[async_trait]
impl TokenLookup for Down {
    async fn token_and_keys(&self, _: &TokenHash, _: &[KeyId]) -> Result<TokenAndKeys, StoreError> {
        Err(StoreError::Unreachable {
            detail: "Connection refused (os error 111)".into(),
        })
    }
}

#[tokio::test]
async fn a_store_that_is_down_fails_closed_with_the_key_check_unavailable() {
    let stack = Stack::new(TOKENGATE).await;
    let pre_inputs = PreInputs::parse(TOKENGATE);
    let endpoint = HttpValidationEndpoint::new(pre_inputs.as_ref().ok()).unwrap();
    let authorizer = Authorizer::new(pre_inputs, stack.store.clone(), Arc::new(endpoint))
        .with_token_lookup(Arc::new(Down));
    let stack = Stack {
        authorizer,
        ..stack
    };
    let token = stack.issue(API_KEY, 599).await;
    let decision = stack.decide(API_KEY, &token).await;
    assert_eq!(decision.reason(), Some(Reason::KeyStoreUnavailable));
}

fn problems(config: &str) -> String {
    PreInputs::parse(config).unwrap_err().to_string()
}

#[test]
fn the_tokengate_style_needs_no_validation_uri_and_takes_only_a_default_one_for_its_jwks() {
    assert!(PreInputs::parse(r#"{"validation": {"style": "tokengate"}}"#).is_ok());
    let jwks = r#"{"token_validation_uri": {"defaultURI": "https://auth.example/prod/.well-known/jwks.json"},
        "validation": {"style": "tokengate"}}"#;
    assert!(PreInputs::parse(jwks).is_ok());
    let regions = r#"{"token_validation_uri": {"regionCodeHeader": "X-Region",
        "regionCodeValue": {"EU": "https://eu.example/jwks.json"}},
        "validation": {"style": "tokengate"}}"#;
    assert!(
        problems(regions)
            .contains("token_validation_uri: the tokengate style takes only a defaultURI"),
        "{}",
        problems(regions)
    );
}

/// A JWT as token-issuer signs one: `kid` in the header, signed by `key`.
fn signed_jwt(key: &LocalKey, kid: &str, owner: &str) -> String {
    use tokengate_shared::signing::jwt::{self, Aud, Claims, Header};
    let now = clock::now_epoch_seconds();
    let claims = Claims {
        iss: "https://auth.example/prod",
        sub: owner,
        client_id: owner,
        aud: Aud::One("https://auth.example/prod"),
        exp: now + 599,
        iat: now,
        jti: jwt::new_jti(),
        scope: "innreach_tp",
        from_code: None,
        to_code: None,
    };
    let input = jwt::signing_input(&Header::new(key.alg(), kid), &claims);
    let signature = key.sign(input.as_bytes()).unwrap();
    jwt::compact(input, &signature)
}

/// The tokengate style with token-issuer's JWKS served by a loopback server (the
/// token-issuer binary's own JWKS is under test in tests/tests/jwt_access_tokens.rs).
async fn jwt_stack(jwks: &Jwks) -> (Stack, wiremock::MockServer) {
    use wiremock::matchers::path;
    use wiremock::{Mock, ResponseTemplate};
    let server = wiremock::MockServer::start().await;
    Mock::given(path("/.well-known/jwks.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
        .mount(&server)
        .await;
    let config = json!({
        "token_validation_uri": {"defaultURI": format!("{}/.well-known/jwks.json", server.uri())},
        "validation": {"style": "tokengate", "required_scopes": ["innreach_tp"]},
        "inject_headers": {"X-Client-Id": "$.client_id"}
    });
    (Stack::new(&config.to_string()).await, server)
}

#[tokio::test]
async fn a_jwt_of_ours_is_checked_against_the_jwks_and_a_forged_one_is_denied_with_no_read() {
    let ours = LocalKey::from_pkcs8(
        "k1",
        SigningAlg::Es256,
        &generate(SigningAlg::Es256).unwrap(),
    )
    .unwrap();
    let forger = LocalKey::from_pkcs8(
        "k1",
        SigningAlg::Es256,
        &generate(SigningAlg::Es256).unwrap(),
    )
    .unwrap();
    let (stack, _jwks) = jwt_stack(&Jwks {
        keys: vec![ours.public_jwk("k1")],
    })
    .await;
    let token = signed_jwt(&ours, "k1", API_KEY);
    let record = TokenRecord {
        hash: TokenHash::of(&token),
        key_id: KeyId::parse(API_KEY).unwrap(),
        from_code: None,
        to_code: None,
        scope: "innreach_tp".into(),
        audiences: Default::default(),
        issued_at: clock::now_epoch_seconds() - 1,
        expires_at: clock::now_epoch_seconds() + 599,
    };
    stack.store.tokens.put(&record).await.unwrap();
    let allowed = stack.decide(API_KEY, &token).await;
    assert!(allowed.is_allow(), "{allowed:?}");
    assert_eq!(stack.store.round_trips(), (1, 0));

    let forged = signed_jwt(&forger, "k1", API_KEY);
    let denied = stack.decide(API_KEY, &forged).await;
    assert_eq!(denied.reason(), Some(Reason::SignatureInvalid));
    assert_eq!(
        stack.store.round_trips(),
        (0, 0),
        "a forged JWT costs no read"
    );
    let unknown_kid = signed_jwt(&forger, "k9", API_KEY);
    let denied = stack.decide(API_KEY, &unknown_kid).await;
    assert_eq!(denied.reason(), Some(Reason::SigningKeyUnknown));
    assert_eq!(stack.store.round_trips(), (0, 0));
}

#[tokio::test]
async fn a_genuine_jwt_that_the_table_does_not_hold_is_denied_and_opaque_tokens_still_work() {
    let ours = LocalKey::from_pkcs8(
        "k1",
        SigningAlg::Rs256,
        &generate(SigningAlg::Rs256).unwrap(),
    )
    .unwrap();
    let (stack, _jwks) = jwt_stack(&Jwks {
        keys: vec![ours.public_jwk("k1")],
    })
    .await;
    // Signed, but revoked (or never stored): the table is the authority.
    let revoked = signed_jwt(&ours, "k1", API_KEY);
    let denied = stack.decide(API_KEY, &revoked).await;
    assert_eq!(denied.reason(), Some(Reason::TokenUnknown));
    let opaque = stack.issue(API_KEY, 599).await;
    assert!(stack.decide(API_KEY, &opaque).await.is_allow());
}

#[test]
fn the_tokengate_style_refuses_xpath_and_the_keys_of_other_styles() {
    let xpath = r#"{"validation": {"style": "tokengate"}, "inject_headers": {"X-Id": "/user/id"}}"#;
    assert!(
        problems(xpath).contains("inject_headers.X-Id"),
        "{}",
        problems(xpath)
    );
    let issuer = r#"{"validation": {"style": "tokengate", "issuer": "https://idp.example/"}}"#;
    assert!(
        problems(issuer).contains("validation.issuer: applies only to the jwt style"),
        "{}",
        problems(issuer)
    );
}

#[tokio::test]
async fn the_token_and_its_hash_never_reach_the_decision_log() {
    let (logs, _guard) = LogCapture::start();
    let stack = Stack::new(TOKENGATE_UNBOUND).await;
    let token = stack.issue(OTHER_KEY, 599).await;
    assert!(stack.decide(API_KEY, &token).await.is_allow());
    stack.set_status(OTHER_KEY, KeyStatus::Disabled).await;
    assert!(!stack.decide(API_KEY, &token).await.is_allow());
    let logged = logs.text();
    assert!(logged.contains("token_key_inactive"), "{logged}");
    for needle in [token.clone(), TokenHash::of(&token).to_hex()] {
        assert!(!logged.contains(&needle), "{needle} leaked into: {logged}");
    }
}

#[tokio::test]
async fn a_token_presented_with_another_clients_api_key_is_denied_and_the_principal_is_the_tokens_key()
 {
    let stack = Stack::new(TOKENGATE).await;
    let token = stack.issue(OTHER_KEY, 599).await;
    let borrowed = stack.decide(API_KEY, &token).await;
    assert_eq!(borrowed.reason(), Some(Reason::TokenNotForApiKey));
    let own = stack.decide(OTHER_KEY, &token).await;
    assert!(
        matches!(&own, Decision::Allow { principal_id, .. } if principal_id == OTHER_KEY),
        "{own:?}"
    );
    // Relaxed: any valid API key, and the principal is still the token's own key.
    let relaxed = Stack::new(TOKENGATE_UNBOUND).await;
    let token = relaxed.issue(OTHER_KEY, 599).await;
    let decision = relaxed.decide(API_KEY, &token).await;
    assert!(
        matches!(&decision, Decision::Allow { principal_id, .. } if principal_id == OTHER_KEY),
        "{decision:?}"
    );
}

#[tokio::test]
async fn a_token_without_the_bearer_scheme_is_denied_naming_the_scheme() {
    let stack = Stack::new(TOKENGATE).await;
    let token = stack.issue(API_KEY, 599).await;
    for authorization in [token.clone(), format!("Basic {token}"), "Bearer".to_owned()] {
        let decision = stack
            .decide_event(json!({
                "type": "REQUEST",
                "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/x",
                "headers": {"X-Api-Key": API_KEY, "Authorization": authorization},
                "requestContext": {},
            }))
            .await;
        assert_eq!(
            decision.reason(),
            Some(Reason::AuthorizationNotBearer),
            "{authorization}"
        );
    }
    let lower = format!("bEaReR {token}");
    let decision = stack
        .decide_event(json!({
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/x",
            "headers": {"X-Api-Key": API_KEY, "Authorization": lower},
            "requestContext": {},
        }))
        .await;
    assert!(decision.is_allow(), "the scheme in any case: {decision:?}");
}

#[tokio::test]
async fn the_scopes_and_audiences_a_client_was_granted_decide_the_tokengate_style() {
    let config = r#"{
      "validation": {"style": "tokengate", "required_scopes": ["orders.read"], "audience": "https://api.example.com"},
      "inject_headers": {"X-Audience": "$.aud", "X-Scope": "$.scope"}
    }"#;
    let stack = Stack::new(config).await;
    let api = "https://api.example.com";
    let granted = stack
        .issue_granted(API_KEY, 599, "orders.read orders.write", &[api])
        .await;
    let allowed = stack.decide(API_KEY, &granted).await;
    assert!(allowed.is_allow(), "{allowed:?}");
    let headers = injected(&allowed);
    assert!(
        headers.contains(&("X-Audience".into(), api.into())),
        "{headers:?}"
    );
    assert!(
        headers.contains(&("X-Scope".into(), "orders.read orders.write".into())),
        "{headers:?}"
    );
    let elsewhere = stack
        .issue_granted(API_KEY, 599, "orders.read", &["urn:example:reports"])
        .await;
    let denied = stack.decide(API_KEY, &elsewhere).await;
    assert_eq!(denied.reason(), Some(Reason::AudienceMismatch));
    let no_audience = stack.issue_granted(API_KEY, 599, "orders.read", &[]).await;
    let denied = stack.decide(API_KEY, &no_audience).await;
    assert_eq!(denied.reason(), Some(Reason::AudienceMismatch));
    let narrower = stack
        .issue_granted(API_KEY, 599, "orders.write", &[api])
        .await;
    let denied = stack.decide(API_KEY, &narrower).await;
    assert_eq!(denied.reason(), Some(Reason::ScopeMissing));
}
