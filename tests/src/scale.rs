//! One hot client at internet scale, on one machine: authorizer processes as execution
//! environments ([`Environments`]) in the `tokengate` style, sharing moto's DynamoDB
//! through a proxy that holds each item to a scaled-down read and write rate
//! ([`ItemLimits`]). The client's requests go out at a steady rate, a multiple of the
//! item's read limit; every answer is tallied, and the proxy counts the units each item
//! took.
//!
//! `tests/tests/scale.rs` runs it for seconds; the `scale` binary
//! (`infra/scripts/scale`) measures it for docs/performance.md.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use axum::body::Bytes;
use serde_json::json;
use tokengate_shared::plan::dynamodb::{DynamoPlanStore, create_plan_tables};
use tokengate_shared::plan::{Plan, PlanName, PlanStore};
use tokengate_shared::store::dynamodb::{DynamoKeyStore, DynamoTokenStore};
use tokengate_shared::{AccessToken, ClientKey, Grants, KeyAdmin, TokenRecord, TokenStore, clock};

use crate::environments::Environments;
use crate::fixtures::{PreInputsFile, rest_api_event};
use crate::item_limits::ItemLimits;
use crate::{DynamoCounter, Moto, sdk_env, unique_name};

/// One configuration under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// `validation.revocation_lag_seconds`.
    pub lag_seconds: u64,
    /// `validation.eventually_consistent_reads`.
    pub eventual: bool,
    /// `"rate_limits": "tokengate"`, on a plan far above the load: its counts' writes.
    pub counted: bool,
}

impl Setting {
    /// The settings the report compares: no lag, a lag of 1 s, the same read eventually
    /// consistent, and the same with plans counted.
    pub const COMPARED: [Setting; 4] = [
        Setting {
            lag_seconds: 0,
            eventual: false,
            counted: false,
        },
        Setting {
            lag_seconds: 1,
            eventual: false,
            counted: false,
        },
        Setting {
            lag_seconds: 1,
            eventual: true,
            counted: false,
        },
        Setting {
            lag_seconds: 1,
            eventual: false,
            counted: true,
        },
    ];

    /// Its name in the report.
    pub fn name(self) -> String {
        let eventual = if self.eventual {
            ", eventually consistent"
        } else {
            ""
        };
        let plans = if self.counted { ", plans counted" } else { "" };
        format!(
            "revocation_lag_seconds {}{eventual}{plans}",
            self.lag_seconds
        )
    }
}

/// The load: how many environments, how fast, how long, and the items' limits.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Authorizer processes.
    pub processes: usize,
    /// The hot client's requests per second.
    pub rate: u64,
    /// How long it sends them.
    pub duration: Duration,
    /// Each item's units per second.
    pub limits: ItemLimits,
}

/// What one setting came to.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Decisions asked for.
    pub decisions: u64,
    /// Allowed.
    pub allowed: u64,
    /// Denied, by error (`no answer` when none came).
    pub denials: BTreeMap<String, u64>,
    /// Read units, all items together.
    pub read_units: f64,
    /// The most read units one item took in one second.
    pub peak_reads_per_item_second: f64,
    /// Write units, all items together.
    pub write_units: f64,
    /// The most write units one item took in one second.
    pub peak_writes_per_item_second: f64,
    /// Requests the proxy refused with `ProvisionedThroughputExceededException`.
    pub throttled: u64,
}

impl Figures {
    /// Read units per 1,000 decisions.
    pub fn reads_per_thousand(&self) -> f64 {
        self.read_units * 1000.0 / self.decisions.max(1) as f64
    }

    /// Denials of every kind.
    pub fn denied(&self) -> u64 {
        self.denials.values().sum()
    }
}

/// Runs `setting` under `load` with the authorizer binary in `bin_dir`, on `moto`.
///
/// # Panics
/// When the tables, the client or the processes cannot be set up.
pub async fn run(moto: &Moto, bin_dir: &Path, setting: Setting, load: Load) -> Figures {
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    let (plans_table, usage_table) = (unique_name("plans"), unique_name("usage"));
    create_plan_tables(&moto.client(), &plans_table, &usage_table)
        .await
        .expect("the plan tables");
    let event = hot_client(moto, &keys_table, &tokens_table, &plans_table, setting).await;
    let counter = DynamoCounter::start_limited(moto.endpoint(), load.limits).await;
    let mut env = sdk_env(&counter.endpoint());
    env.extend([
        ("KEYS_TABLE".to_owned(), keys_table),
        ("TOKENS_TABLE".to_owned(), tokens_table),
        ("PLANS_TABLE".to_owned(), plans_table),
        ("USAGE_TABLE".to_owned(), usage_table),
    ]);
    let validation = json!({"style": "tokengate", "revocation_lag_seconds": setting.lag_seconds,
        "eventually_consistent_reads": setting.eventual});
    let mut pre_inputs = json!({"validation": validation});
    if setting.counted {
        pre_inputs["rate_limits"] = json!("tokengate");
    }
    let _file = PreInputsFile::write(&mut env, &pre_inputs);
    let binary = bin_dir.join("authorizer");
    let environments = Environments::start(&binary, load.processes, &env).await;
    // One request per environment first, so that cold starts are not in the figures.
    let warm: Vec<_> = (0..load.processes)
        .map(|_| environments.invoke(event.clone()))
        .collect();
    futures_util::future::join_all(warm).await;
    let before = counter.usage().unwrap_or_default();
    let answers = environments.paced(&event, load.rate, load.duration).await;
    let after = counter.usage().unwrap_or_default();
    let mut figures = Figures {
        read_units: after.reads.values().sum::<f64>() - before.reads.values().sum::<f64>(),
        write_units: after.writes.values().sum::<f64>() - before.writes.values().sum::<f64>(),
        peak_reads_per_item_second: after.peak_reads_per_second,
        peak_writes_per_item_second: after.peak_writes_per_second,
        throttled: after.refused - before.refused,
        ..Figures::default()
    };
    for answer in answers {
        figures.decisions += 1;
        match answer {
            Ok(answer) if answer["policyDocument"]["Statement"][0]["Effect"] == "Allow" => {
                figures.allowed += 1;
            }
            Ok(answer) => {
                let error = answer["context"]["error"].as_str().unwrap_or("unnamed");
                *figures.denials.entry(error.to_owned()).or_default() += 1;
            }
            Err(_) => *figures.denials.entry("no answer".to_owned()).or_default() += 1,
        }
    }
    figures
}

/// A client key, on a plan far above any load here, with a token of its own: the event
/// that presents both.
pub async fn hot_client(
    moto: &Moto,
    keys_table: &str,
    tokens_table: &str,
    plans_table: &str,
    setting: Setting,
) -> Bytes {
    let now = clock::now_epoch_seconds();
    let (mut key, _) = ClientKey::generate(Default::default(), None, now);
    if setting.counted {
        let plan = Plan {
            name: PlanName::parse("unbounded").expect("a plan name"),
            rate: 1_000_000,
            burst: 1_000_000,
            quota: None,
            tokens: None,
            api_gateway: None,
            created_at: now,
        };
        let plans = DynamoPlanStore::new(moto.client(), plans_table);
        plans.create(&plan).await.expect("the plan");
        key.grants = Grants {
            plan: Some(plan.name),
            ..Grants::default()
        }
        .into();
    }
    DynamoKeyStore::new(moto.client(), keys_table)
        .create(&key)
        .await
        .expect("the client key");
    let token = AccessToken::mint();
    let record = TokenRecord {
        hash: token.hash(),
        key_id: key.id.clone(),
        from_code: None,
        to_code: None,
        scope: "innreach_tp".into(),
        audiences: Default::default(),
        issued_at: now,
        expires_at: now + 3_600,
    };
    DynamoTokenStore::new(moto.client(), tokens_table)
        .put(&record)
        .await
        .expect("the token");
    let mut event = rest_api_event();
    let bearer = format!("Bearer {}", token.expose());
    event["headers"]["X-Api-Key"] = json!(key.id.as_str());
    event["headers"]["Authorization"] = json!(bearer);
    event["multiValueHeaders"]["X-Api-Key"] = json!([key.id.as_str()]);
    event["multiValueHeaders"]["Authorization"] = json!([bearer]);
    Bytes::from(event.to_string())
}

/// The report's table: one row per setting.
pub fn report(load: Load, rows: &[(Setting, Figures)]) -> String {
    let mut out = format!(
        "{} authorizer processes; one client at {} requests/s for {:?}; each item limited to {} reads/s and {} writes/s\n\n",
        load.processes,
        load.rate,
        load.duration,
        load.limits.reads_per_second,
        load.limits.writes_per_second
    );
    out.push_str("| setting | decisions | allowed | denied (by error) | throttled requests | peak reads per item per second | reads per 1,000 decisions | peak writes per item per second |\n");
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for (setting, f) in rows {
        let denials: Vec<String> = f.denials.iter().map(|(e, n)| format!("{e} {n}")).collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} |\n",
            setting.name(),
            f.decisions,
            f.allowed,
            if denials.is_empty() {
                "0".to_owned()
            } else {
                denials.join(", ")
            },
            f.throttled,
            f.peak_reads_per_item_second,
            f.reads_per_thousand(),
            f.peak_writes_per_item_second,
        ));
    }
    out
}
