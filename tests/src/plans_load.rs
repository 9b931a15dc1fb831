//! Plans counted by tokengate (`"rate_limits": "tokengate"`) under load: authorizer
//! processes as execution environments ([`Environments`]) sharing moto's DynamoDB through a
//! [`DynamoCounter`], each client's requests sent at a steady rate, every answer tallied.
//! Tokens are ES256 JWTs checked against a JWKS file, and API keys are cached, so the only
//! DynamoDB traffic a decision makes is its plan's: the writes counted are the plans' cost.
//!
//! `tests/tests/plans_counted.rs` asserts the limits on it; the `plans-load` binary
//! measures it (docs/performance.md).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{Value, json};
use tokengate_shared::plan::dynamodb::{DynamoPlanStore, create_plan_tables};
use tokengate_shared::plan::{Limit, Period, Plan, PlanName, PlanStore};
use tokengate_shared::signing::SigningAlg;
use tokengate_shared::signing::jwk::Jwks;
use tokengate_shared::signing::jwt::{Aud, Claims, Header, compact, new_jti, signing_input};
use tokengate_shared::signing::local::{LocalKey, generate};
use tokengate_shared::store::dynamodb::DynamoKeyStore;
use tokengate_shared::{ClientKey, Grants, KeyAdmin, clock};

use crate::environments::Environments;
use crate::fixtures::{PreInputsFile, rest_api_event};
use crate::{ClosedPort, DynamoCounter, Moto, sdk_env, unique_name};

/// A client's plan: a rate and burst, and a daily quota.
#[derive(Debug, Clone, Copy)]
pub struct PlanSpec {
    /// Requests per second.
    pub rate: u64,
    /// The burst.
    pub burst: u64,
    /// Requests per day, if limited.
    pub quota: Option<u64>,
}

/// What a client's requests came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Sent.
    pub sent: u64,
    /// Allowed.
    pub allowed: u64,
    /// Denied `RateLimitExceeded`.
    pub rate_limited: u64,
    /// Denied `QuotaExceeded`.
    pub quota_exceeded: u64,
    /// Anything else: another denial, or no answer.
    pub other: u64,
}

/// The deployment under load.
pub struct Scenario {
    /// moto.
    pub moto: Moto,
    /// Every DynamoDB call the authorizers make.
    pub counter: DynamoCounter,
    environments: Environments,
    events: Vec<Bytes>,
    _pre_inputs: PreInputsFile,
    _jwks: TempFile,
    _closed: ClosedPort,
}

struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario").finish_non_exhaustive()
    }
}

const ISSUER: &str = "https://idp.example/";

impl Scenario {
    /// `processes` authorizers from `bin_dir`, writing counts every `flush` requests, and a
    /// client key per plan in `plans`.
    ///
    /// # Panics
    /// When moto, the tables or the processes cannot be set up.
    pub async fn start(bin_dir: &Path, processes: usize, flush: u64, plans: &[PlanSpec]) -> Self {
        let moto = Moto::start();
        let (keys_table, tokens_table) = moto.fresh_tables().await;
        let (plans_table, usage_table) = (unique_name("plans"), unique_name("usage"));
        create_plan_tables(&moto.client(), &plans_table, &usage_table)
            .await
            .expect("the plan tables");
        let signer = Signer::new();
        let jwks = TempFile(std::env::temp_dir().join(format!("{}.json", unique_name("jwks"))));
        std::fs::write(&jwks.0, serde_json::to_string(&signer.jwks).expect("JSON"))
            .expect("the JWKS file");
        let keys = DynamoKeyStore::new(moto.client(), &keys_table);
        let plan_store = DynamoPlanStore::new(moto.client(), &plans_table);
        let mut events = Vec::new();
        for (i, spec) in plans.iter().enumerate() {
            let plan = plan(&format!("plan-{i}"), *spec);
            plan_store.create(&plan).await.expect("a plan");
            let (mut key, _) =
                ClientKey::generate(Default::default(), None, clock::now_epoch_seconds());
            key.grants = Grants {
                plan: Some(plan.name.clone()),
                ..Grants::default()
            }
            .into();
            keys.create(&key).await.expect("a key");
            events.push(event(key.id.as_str(), &signer.token(key.id.as_str())));
        }
        let counter = DynamoCounter::start(moto.endpoint()).await;
        let closed = ClosedPort::new();
        let mut env = sdk_env(&counter.endpoint());
        env.extend([
            ("KEYS_TABLE".to_owned(), keys_table),
            ("TOKENS_TABLE".to_owned(), tokens_table),
            ("PLANS_TABLE".to_owned(), plans_table),
            ("USAGE_TABLE".to_owned(), usage_table),
            ("USAGE_FLUSH_REQUESTS".to_owned(), flush.to_string()),
        ]);
        let pre_inputs = json!({
            "token_validation_uri": {"defaultURI": format!("{}/jwks", closed.url())},
            "validation": {"style": "jwt", "issuer": ISSUER, "audience": "api://orders",
                "jwks_file": jwks.0.display().to_string(), "jwks_refresh_seconds": 3600},
            "rate_limits": "tokengate"
        });
        let pre_inputs = PreInputsFile::write(&mut env, &pre_inputs);
        let environments = Environments::start(&bin_dir.join("authorizer"), processes, &env).await;
        Self {
            moto,
            counter,
            environments,
            events,
            _pre_inputs: pre_inputs,
            _jwks: jwks,
            _closed: closed,
        }
    }

    /// Sends each client's requests at its rate in `rps` (requests per second), all at
    /// once, for `duration`: what each came to.
    pub async fn drive(&self, rps: &[u64], duration: Duration) -> Vec<Tally> {
        let runs = rps
            .iter()
            .zip(&self.events)
            .map(|(rate, event)| async move {
                let mut tally = Tally::default();
                for answer in self.environments.paced(event, *rate, duration).await {
                    tally.count(&answer);
                }
                tally
            });
        futures_util::future::join_all(runs).await
    }

    /// Waits until a one-second window has just opened.
    pub async fn next_second() {
        let millis = clock::now_epoch_millis();
        tokio::time::sleep(Duration::from_millis(1_000 - millis % 1_000 + 10)).await;
    }
}

impl Tally {
    fn count(&mut self, answer: &Result<Value, String>) {
        self.sent += 1;
        let Ok(answer) = answer else {
            self.other += 1;
            return;
        };
        let effect = &answer["policyDocument"]["Statement"][0]["Effect"];
        match (effect.as_str(), answer["context"]["error"].as_str()) {
            (Some("Allow"), _) => self.allowed += 1,
            (_, Some("RateLimitExceeded")) => self.rate_limited += 1,
            (_, Some("QuotaExceeded")) => self.quota_exceeded += 1,
            _ => self.other += 1,
        }
    }
}

fn plan(name: &str, spec: PlanSpec) -> Plan {
    Plan {
        name: PlanName::parse(name).expect("a plan name"),
        rate: spec.rate,
        burst: spec.burst,
        quota: spec.quota.map(|count| Limit {
            count,
            period: Period::Day,
        }),
        tokens: None,
        api_gateway: None,
        created_at: clock::now_epoch_seconds(),
    }
}

fn event(api_key: &str, token: &str) -> Bytes {
    let mut event = rest_api_event();
    let bearer = format!("Bearer {token}");
    event["headers"]["X-Api-Key"] = json!(api_key);
    event["headers"]["Authorization"] = json!(bearer);
    event["multiValueHeaders"]["X-Api-Key"] = json!([api_key]);
    event["multiValueHeaders"]["Authorization"] = json!([bearer]);
    Bytes::from(event.to_string())
}

/// An ES256 key of the test's own, and its JWKS.
struct Signer {
    key: Arc<LocalKey>,
    jwks: Jwks,
}

impl Signer {
    fn new() -> Self {
        let pkcs8 = generate(SigningAlg::Es256).expect("a P-256 key");
        let key = LocalKey::from_pkcs8("load", SigningAlg::Es256, &pkcs8).expect("the key");
        let jwks = Jwks {
            keys: vec![key.public_jwk("load")],
        };
        Self {
            key: Arc::new(key),
            jwks,
        }
    }

    fn token(&self, client: &str) -> String {
        let now = clock::now_epoch_seconds();
        let claims = Claims {
            iss: ISSUER,
            sub: client,
            client_id: client,
            aud: Aud::One("api://orders"),
            exp: now + 3_600,
            iat: now,
            jti: new_jti(),
            scope: "orders.read",
            from_code: None,
            to_code: None,
        };
        let input = signing_input(&Header::new(SigningAlg::Es256, "load"), &claims);
        let signature = self.key.sign(input.as_bytes()).expect("a signature");
        compact(input, &signature)
    }
}
