//! Plans in the decision, over the in-memory stores `tokengate serve` runs on: the Allow
//! naming a key's usage plan API key (`rate_limits: api_gateway`), and the Deny past a
//! counted limit (`rate_limits: tokengate`) carrying the limit, the wait and the plan. The
//! token is the API key's own, in the `tokengate` style; across processes and DynamoDB,
//! `tests/tests/plans_counted.rs`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use authorizer::apigw::AuthorizerEvent;
use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::metering::Metering;
use authorizer::{Authorizer, Moment, PreInputs, handler};
use serde_json::{Value, json};
use tokengate_shared::plan::{
    FlushPolicy, Limit, MemoryPlanStore, MemoryUsageStore, Period, Plan, PlanName, PlanStore,
    usage_identifier,
};
use tokengate_shared::store::memory::{MemoryKeyStore, MemoryTokenStore};
use tokengate_shared::{
    AccessToken, Grants, KeyAdmin, KeyId, KeyStatus, ReadEach, TokenRecord, TokenStore, clock,
};
use tokengate_tests::fixtures::client_key;

const PLANNED: &str = "6f1a0c1e-1b1f-4d6b-9a57-0c8f3f1d2e3a";
const FREE: &str = "3f2b8a9e-5c1d-4e7f-8a6b-9c0d1e2f3a4b";

struct Deployment {
    authorizer: Authorizer,
    tokens: Vec<String>,
}

/// Two keys with a token each, the first on a plan of 2 per second and 3 a day.
async fn deployment(rate_limits: &str) -> Deployment {
    let config = json!({"validation": {"style": "tokengate"}, "rate_limits": rate_limits});
    let pre_inputs = PreInputs::parse(&config.to_string()).unwrap();
    let keys = Arc::new(MemoryKeyStore::new());
    let tokens = Arc::new(MemoryTokenStore::new());
    let plans = Arc::new(MemoryPlanStore::default());
    let gold = PlanName::parse("gold").unwrap();
    plans
        .create(&Plan {
            name: gold.clone(),
            rate: 2,
            burst: 2,
            quota: Some(Limit {
                count: 3,
                period: Period::Day,
            }),
            tokens: None,
            api_gateway: None,
            created_at: 0,
        })
        .await
        .unwrap();
    let now = clock::now_epoch_seconds();
    let mut issued = Vec::new();
    for (id, plan) in [(PLANNED, Some(gold)), (FREE, None)] {
        let mut key = client_key(id, "unused-secret", KeyStatus::Active, &[]);
        key.grants = Grants {
            plan,
            ..Grants::default()
        }
        .into();
        keys.create(&key).await.unwrap();
        let token = AccessToken::mint();
        let record = TokenRecord {
            hash: token.hash(),
            key_id: KeyId::parse(id).unwrap(),
            from_code: None,
            to_code: None,
            scope: "innreach_tp".into(),
            audiences: Default::default(),
            issued_at: now.saturating_sub(1),
            expires_at: now + 600,
        };
        tokens.put(&record).await.unwrap();
        issued.push(token.expose().to_owned());
    }
    let endpoint = HttpValidationEndpoint::new(Some(&pre_inputs)).unwrap();
    let every_request = FlushPolicy {
        requests: 1,
        interval: Duration::ZERO,
    };
    let metering = Metering::new(plans, Arc::new(MemoryUsageStore::default()), every_request);
    let lookup = Arc::new(ReadEach {
        keys: keys.clone(),
        tokens,
    });
    let authorizer = Authorizer::new(Ok(pre_inputs), keys, Arc::new(endpoint))
        .with_token_lookup(lookup)
        .with_metering(metering);
    Deployment {
        authorizer,
        tokens: issued,
    }
}

impl Deployment {
    async fn answer(&self, which: usize, now: Moment) -> Value {
        let key = [PLANNED, FREE][which];
        let event = json!({
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/1",
            "headers": {"X-Api-Key": key, "Authorization": format!("Bearer {}", self.tokens[which])},
            "requestContext": {"identity": {"sourceIp": "203.0.113.7"}}
        });
        let event = AuthorizerEvent::from_value(&event).unwrap();
        let (_, answer) = handler::decide(&self.authorizer, &event, now).await;
        serde_json::to_value(&answer).unwrap()
    }
}

fn effect(answer: &Value) -> &str {
    answer["policyDocument"]["Statement"][0]["Effect"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn with_api_gateways_usage_plans_an_allow_names_the_keys_usage_plan_api_key_and_nothing_else()
{
    let deployment = deployment("api_gateway").await;
    let now = Moment::now();
    for _ in 0..5 {
        let answer = deployment.answer(0, now).await;
        assert_eq!(
            effect(&answer),
            "Allow",
            "API Gateway counts, not tokengate: {answer}"
        );
        let planned = usage_identifier(&KeyId::parse(PLANNED).unwrap());
        assert_eq!(answer["usageIdentifierKey"], json!(planned));
    }
    let free = deployment.answer(1, now).await;
    assert_eq!(effect(&free), "Allow");
    assert!(
        free["usageIdentifierKey"].is_null(),
        "a key on no plan: {free}"
    );
}

#[tokio::test]
async fn counted_past_the_rate_a_deny_names_the_limit_the_wait_and_the_plan_and_the_quota_after_it()
{
    let deployment = deployment("tokengate").await;
    // One moment for the three: they share its one-second window.
    let now = Moment::now();
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(deployment.answer(0, now).await);
    }
    let effects: Vec<&str> = answers.iter().map(effect).collect();
    assert_eq!(effects, ["Allow", "Allow", "Deny"], "{answers:?}");
    let context = &answers[2]["context"];
    assert_eq!(context["error"], "RateLimitExceeded", "{context}");
    assert_eq!(context["limit"], "2 per 1 s");
    assert_eq!(context["retry_after"], "1");
    assert_eq!(context["plan"], "gold");
    let description = context["error_description"].as_str().unwrap();
    assert!(
        description.contains("allows 2 per 1 s; retry after 1 s"),
        "{description}"
    );
    // A second later the rate admits again, until the day's 3 are spent.
    let later = now.later(Duration::from_secs(2));
    let mut errors = Vec::new();
    for _ in 0..2 {
        let answer = deployment.answer(0, later).await;
        errors.push(answer["context"]["error"].clone());
    }
    assert!(errors.contains(&json!("QuotaExceeded")), "{errors:?}");
    let quota = deployment
        .answer(0, later.later(Duration::from_secs(2)))
        .await;
    assert_eq!(quota["context"]["error"], "QuotaExceeded", "{quota}");
    assert_eq!(quota["context"]["limit"], "3/day");
    // A key on no plan is never counted.
    for _ in 0..10 {
        assert_eq!(effect(&deployment.answer(1, now).await), "Allow");
    }
}
