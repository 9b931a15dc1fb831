//! `validation.revocation_lag_seconds` in the `tokengate` style: each execution environment
//! keeps the token and key records it read for at most the lag. Time is passed as
//! [`Moment`]s, so the bound is checked to the millisecond without sleeping. The stores are
//! the in-memory ones with a counting wrapper; the DynamoDB proxy's per-item count of the
//! same, over authorizer processes, is `tests/tests/scale.rs`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use authorizer::apigw::AuthorizerEvent;
use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::{Authorizer, Decision, Moment, PreInputs, Reason, handler};
use serde_json::json;
use tokengate_shared::{
    AccessToken, KeyAdmin, KeyId, KeyStatus, SystemCode, TokenHash, TokenRecord, TokenStore, clock,
};
use tokengate_tests::fixtures::{CountingStores, client_key};

const API_KEY: &str = "6f1a0c1e-1b1f-4d6b-9a57-0c8f3f1d2e3a";

fn lagging(seconds: u64) -> String {
    format!(r#"{{"validation": {{"style": "tokengate", "revocation_lag_seconds": {seconds}}}}}"#)
}

struct Stack {
    store: Arc<CountingStores>,
    authorizer: Authorizer,
    token: String,
}

impl Stack {
    async fn new(config: &str) -> Self {
        let store = Arc::new(CountingStores::new());
        let key = client_key(API_KEY, "secret", KeyStatus::Active, &["d2ir1"]);
        store.keys.create(&key).await.unwrap();
        let pre_inputs = PreInputs::parse(config);
        let endpoint = HttpValidationEndpoint::new(pre_inputs.as_ref().ok()).unwrap();
        let authorizer = Authorizer::new(pre_inputs, store.clone(), Arc::new(endpoint))
            .with_token_lookup(store.clone());
        let token = AccessToken::mint();
        let now = clock::now_epoch_seconds();
        let record = TokenRecord {
            hash: token.hash(),
            key_id: KeyId::parse(API_KEY).unwrap(),
            from_code: SystemCode::parse("d2ir1").ok(),
            to_code: None,
            scope: "innreach_tp".into(),
            audiences: Default::default(),
            issued_at: now.saturating_sub(1),
            expires_at: now + 3_600,
        };
        store.tokens.put(&record).await.unwrap();
        let token = token.expose().to_owned();
        Self {
            store,
            authorizer,
            token,
        }
    }

    async fn decide_at(&self, at: Moment) -> Decision {
        let value = json!({
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/patrons/42",
            "headers": {"X-Api-Key": API_KEY, "Authorization": format!("Bearer {}", self.token)},
            "requestContext": {"stage": "prod", "httpMethod": "GET"},
        });
        let event = AuthorizerEvent::from_value(&value).unwrap();
        handler::decide(&self.authorizer, &event, at).await.0
    }

    async fn revoke_token(&self) {
        let owner = KeyId::parse(API_KEY).unwrap();
        let hash = TokenHash::of(&self.token);
        self.store.tokens.revoke(&hash, &owner).await.unwrap();
    }

    fn reads(&self) -> usize {
        let (lookups, key_reads) = self.store.round_trips();
        lookups + key_reads
    }
}

fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test]
async fn a_revoked_token_is_allowed_at_most_the_lag_after_its_last_read_and_denied_from_then_on() {
    let stack = Stack::new(&lagging(2)).await;
    let read = Moment::now();
    assert!(stack.decide_at(read).await.is_allow());
    stack.revoke_token().await;
    let within = stack.decide_at(read.later(millis(1_999))).await;
    assert!(within.is_allow(), "inside the lag: {within:?}");
    let after = stack.decide_at(read.later(millis(2_000))).await;
    assert_eq!(after.reason(), Some(Reason::TokenUnknown));
    let later = stack.decide_at(read.later(millis(2_500))).await;
    assert_eq!(later.reason(), Some(Reason::TokenUnknown));
}

#[tokio::test]
async fn a_disabled_key_is_denied_once_the_lag_has_passed() {
    let stack = Stack::new(&lagging(1)).await;
    let read = Moment::now();
    assert!(stack.decide_at(read).await.is_allow());
    let id = KeyId::parse(API_KEY).unwrap();
    let disabled = stack.store.keys.set_status(&id, KeyStatus::Disabled, 1);
    disabled.await.unwrap();
    assert!(stack.decide_at(read.later(millis(999))).await.is_allow());
    let after = stack.decide_at(read.later(millis(1_000))).await;
    assert_eq!(after.reason(), Some(Reason::ApiKeyDisabled));
}

#[tokio::test]
async fn a_hot_client_is_read_once_per_lag_whatever_its_traffic() {
    let stack = Stack::new(&lagging(1)).await;
    let start = Moment::now();
    // 3,000 decisions over three seconds: one read opens each second.
    for i in 0..3_000 {
        assert!(stack.decide_at(start.later(millis(i))).await.is_allow());
    }
    assert_eq!(stack.reads(), 3);
}

#[tokio::test]
async fn with_no_lag_every_decision_reads_the_store() {
    let stack = Stack::new(&lagging(0)).await;
    let start = Moment::now();
    for i in 0..10 {
        assert!(stack.decide_at(start.later(millis(i))).await.is_allow());
    }
    assert_eq!(stack.reads(), 10);
    stack.revoke_token().await;
    let next = stack.decide_at(start.later(millis(10))).await;
    assert_eq!(next.reason(), Some(Reason::TokenUnknown));
}

#[test]
fn eventually_consistent_reads_are_accepted_only_beside_a_lag_of_a_second_or_more() {
    let without = r#"{"validation": {"style": "tokengate", "eventually_consistent_reads": true}}"#;
    let refused = PreInputs::parse(without).unwrap_err().to_string();
    assert!(
        refused.contains("validation.eventually_consistent_reads")
            && refused.contains("revocation_lag_seconds of 1 or more"),
        "{refused}"
    );
    let zero = r#"{"validation": {"style": "tokengate", "revocation_lag_seconds": 0,
        "eventually_consistent_reads": true}}"#;
    assert!(PreInputs::parse(zero).is_err());
    let with = r#"{"validation": {"style": "tokengate", "revocation_lag_seconds": 1,
        "eventually_consistent_reads": true}}"#;
    assert!(PreInputs::parse(with).is_ok());
    let other_style = r#"{"validation": {"style": "jwt", "issuer": "https://idp.example",
        "audience": "any", "jwks_file": "/dev/null", "eventually_consistent_reads": true}}"#;
    let refused = PreInputs::parse(other_style).unwrap_err().to_string();
    assert!(
        refused.contains("applies only to the tokengate style"),
        "{refused}"
    );
}
