//! `tokengate plans …`, and what the keys commands ask of plans: that a key's plan exists,
//! and its usage in the current windows.

use clap::Subcommand;
use serde_json::{Value, json};
use tokengate_shared::plan::{Limit, Period, Plan, PlanName, PlanStore, UsagePlanLink, UsageStore};
use tokengate_shared::{ClientKey, KeyAdmin, StoreError, clock};

use crate::CliError;
use crate::output::{print_json, timestamp};

/// Plan commands.
#[derive(Debug, Subcommand)]
pub enum PlansCommand {
    /// Create a plan: a rate and a burst, and optionally a quota and a token limit. With
    /// --api-id and --stage, also the API Gateway usage plan that enforces it there.
    Create {
        /// Its name: 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-'.
        #[arg(value_parser = parse_name)]
        name: PlanName,
        /// Requests per second, on average.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=Plan::MAX_RATE))]
        rate: u64,
        /// Requests at once, on top of the rate.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        burst: u64,
        /// Requests per day or month (UTC): `100000/day`, `3000000/month`.
        #[arg(long, value_parser = parse_quota)]
        quota: Option<Limit>,
        /// Tokens issued per hour or day: `1000/hour`.
        #[arg(long, value_parser = parse_tokens)]
        tokens: Option<Limit>,
        /// The REST API whose stage gets an API Gateway usage plan (`TOKENGATE_API_ID`,
        /// a template output).
        #[arg(long, env = "TOKENGATE_API_ID", requires = "stage")]
        api_id: Option<String>,
        /// That stage (`TOKENGATE_STAGE`, a template output).
        #[arg(long, env = "TOKENGATE_STAGE", requires = "api_id")]
        stage: Option<String>,
    },
    /// List every plan.
    List,
    /// Show one plan.
    Show {
        /// Its name.
        #[arg(value_parser = parse_name)]
        name: PlanName,
    },
    /// Delete a plan no key uses (and its API Gateway usage plan).
    Delete {
        /// Its name.
        #[arg(value_parser = parse_name)]
        name: PlanName,
    },
}

fn parse_name(value: &str) -> Result<PlanName, String> {
    PlanName::parse(value).map_err(|e| e.to_string())
}

fn parse_quota(value: &str) -> Result<Limit, String> {
    Limit::parse(
        value,
        &[Period::Day, Period::Month],
        "a quota: COUNT/day or COUNT/month, COUNT at least 1",
    )
    .map_err(|e| e.to_string())
}

fn parse_tokens(value: &str) -> Result<Limit, String> {
    Limit::parse(
        value,
        &[Period::Hour, Period::Day],
        "a token limit: COUNT/hour or COUNT/day, COUNT at least 1",
    )
    .map_err(|e| e.to_string())
}

/// Where plans and their counts are, for the plans and keys commands.
pub struct PlanStores<'a> {
    /// `PLANS_TABLE`.
    pub plans: &'a dyn PlanStore,
    /// `USAGE_TABLE`.
    pub usage: &'a dyn UsageStore,
    /// API Gateway's usage plans, when a plan is mirrored there.
    pub gateway: &'a dyn crate::usage_plans::UsagePlans,
}

impl std::fmt::Debug for PlanStores<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanStores").finish_non_exhaustive()
    }
}

/// Runs a plan command.
pub async fn run(
    command: PlansCommand,
    stores: &PlanStores<'_>,
    keys: &dyn KeyAdmin,
    json: bool,
) -> Result<(), CliError> {
    match command {
        PlansCommand::Create {
            name,
            rate,
            burst,
            quota,
            tokens,
            api_id,
            stage,
        } => {
            let plan = Plan {
                name,
                rate,
                burst,
                quota,
                tokens,
                api_gateway: None,
                created_at: clock::now_epoch_seconds(),
            };
            let on_stage = api_id.zip(stage);
            print_plan(&create(stores, plan, on_stage).await?, json);
        }
        PlansCommand::List => {
            let plans = stores.plans.list().await?;
            if json {
                print_json(&Value::Array(plans.iter().map(plan_json).collect()));
            } else if plans.is_empty() {
                println!(
                    "no plans; create one with `tokengate plans create NAME --rate N --burst N`"
                );
            } else {
                for plan in &plans {
                    println!("{}", plan_line(plan));
                }
            }
        }
        PlansCommand::Show { name } => print_plan(&existing(stores.plans, &name).await?, json),
        PlansCommand::Delete { name } => {
            let plan = existing(stores.plans, &name).await?;
            let users = keys_on(keys, &name).await?;
            if !users.is_empty() {
                return Err(CliError::Usage(format!(
                    "plan '{name}' is used by {} key(s) ({}): move them first with `tokengate keys update KEY --plan OTHER` or `--clear-plan`",
                    users.len(),
                    users
                        .iter()
                        .take(5)
                        .map(|k| k.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if let Some(link) = &plan.api_gateway {
                stores.gateway.delete(link).await?;
            }
            stores.plans.delete(&name).await?;
            if json {
                print_json(&json!({"plan": name.as_str(), "deleted": true}));
            } else {
                println!("deleted plan {name}");
            }
        }
    }
    Ok(())
}

/// A new plan, checked, and mirrored to an API Gateway usage plan on `on_stage`.
async fn create(
    stores: &PlanStores<'_>,
    mut plan: Plan,
    on_stage: Option<(String, String)>,
) -> Result<Plan, CliError> {
    plan.check().map_err(|e| CliError::Usage(e.to_string()))?;
    if stores.plans.get(&plan.name).await?.is_some() {
        return Err(StoreError::AlreadyExists {
            what: "plan",
            id: plan.name.to_string(),
        }
        .into());
    }
    if let Some((api_id, stage)) = on_stage {
        let usage_plan_id = stores.gateway.create(&plan, &api_id, &stage).await?;
        plan.api_gateway = Some(UsagePlanLink {
            usage_plan_id,
            api_id,
            stage,
        });
    }
    stores.plans.create(&plan).await?;
    Ok(plan)
}

/// The plan of that name, or a store error saying there is none.
pub async fn existing(plans: &dyn PlanStore, name: &PlanName) -> Result<Plan, CliError> {
    plans.get(name).await?.ok_or_else(|| {
        CliError::Usage(format!(
            "plan '{name}' does not exist; create it with `tokengate plans create {name} --rate N --burst N`"
        ))
    })
}

async fn keys_on(keys: &dyn KeyAdmin, name: &PlanName) -> Result<Vec<ClientKey>, CliError> {
    Ok(keys
        .list()
        .await?
        .into_iter()
        .filter(|k| k.grants.plan.as_ref() == Some(name))
        .collect())
}

/// A key's usage in its plan's current windows, as JSON: one entry a window.
pub async fn usage_json(
    stores: &PlanStores<'_>,
    key: &ClientKey,
) -> Result<Option<Value>, CliError> {
    let Some(name) = &key.grants.plan else {
        return Ok(None);
    };
    let plan = existing(stores.plans, name).await?;
    let now_ms = clock::now_epoch_seconds() * 1000;
    let mut windows = plan.request_windows(now_ms);
    windows.extend(plan.token_window(now_ms));
    let ids: Vec<String> = windows.iter().map(|w| w.id.clone()).collect();
    let totals = stores.usage.totals(&key.id, &ids).await?;
    let shown: Vec<Value> = windows
        .iter()
        .zip(totals)
        .map(|(w, used)| {
            json!({
                "limit": format!("{:?}", w.kind).to_lowercase(),
                "policy": w.policy,
                "used": used,
                "remaining": w.limit.saturating_sub(used),
                "resets_at": timestamp(w.ends_at_ms / 1000),
            })
        })
        .collect();
    Ok(Some(json!({"plan": name.as_str(), "windows": shown})))
}

/// The usage as lines of text.
pub fn usage_text(usage: &Value) -> String {
    let mut text = String::new();
    for w in usage["windows"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "\nusage:       {} {} of {} ({}), resets {}",
            w["limit"].as_str().unwrap_or_default(),
            w["used"],
            w["policy"].as_str().unwrap_or_default(),
            format_args!("{} left", w["remaining"]),
            w["resets_at"].as_str().unwrap_or_default(),
        ));
    }
    text
}

fn plan_json(plan: &Plan) -> Value {
    let (window_ms, per_window) = plan.rate_window();
    json!({
        "plan": plan.name.as_str(),
        "rate": plan.rate,
        "burst": plan.burst,
        "quota": plan.quota.map(|q| q.to_string()),
        "tokens": plan.tokens.map(|t| t.to_string()),
        "counted_window": {"milliseconds": window_ms, "requests": per_window},
        "api_gateway": plan.api_gateway.as_ref().map(|l| json!({
            "usage_plan_id": l.usage_plan_id, "api_id": l.api_id, "stage": l.stage})),
        "created_at": plan.created_at,
    })
}

fn plan_line(plan: &Plan) -> String {
    let mut line = format!("{}  rate {}/s  burst {}", plan.name, plan.rate, plan.burst);
    if let Some(quota) = plan.quota {
        line.push_str(&format!("  quota {quota}"));
    }
    if let Some(tokens) = plan.tokens {
        line.push_str(&format!("  tokens {tokens}"));
    }
    if let Some(link) = &plan.api_gateway {
        line.push_str(&format!(
            "  usage plan {} ({}/{})",
            link.usage_plan_id, link.api_id, link.stage
        ));
    }
    line
}

fn print_plan(plan: &Plan, json: bool) {
    if json {
        print_json(&plan_json(plan));
    } else {
        println!(
            "{}\ncreated {}",
            plan_line(plan),
            timestamp(plan.created_at)
        );
    }
}
