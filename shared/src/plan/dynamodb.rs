//! Plans in `PLANS_TABLE` (partition key `plan_name`) and counts in `USAGE_TABLE` (partition key
//! `usage_key`, `{key id}#{window}`, with its TTL in `expires_at`).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};

use super::store::{PlanReader, PlanStore, UsageCount, UsageCounter, UsageStore};
use super::{Limit, Period, Plan, PlanName, UsagePlanLink};
use crate::key::KeyId;
use crate::store::StoreError;
use crate::store::dynamodb::TableOutcome;
use crate::store::dynamodb::call::{ItemAt, classify, scan_all, timed};
use crate::store::dynamodb::item::{Attributes, EXPIRES_AT, Item, n, s};
use crate::store::dynamodb::tables::{create_table, enable_ttl};

/// Partition key of `PLANS_TABLE` (string, the plan's name).
pub const PLAN: &str = "plan_name";
/// Partition key of `USAGE_TABLE` (string, `{key id}#{window}`).
pub const USAGE_KEY: &str = "usage_key";
const COUNT: &str = "count";

/// Makes `PLANS_TABLE` and `USAGE_TABLE`, on demand billing, with TTL on the usage
/// table; idempotent.
pub async fn create_plan_tables(
    client: &Client,
    plans_table: &str,
    usage_table: &str,
) -> Result<[TableOutcome; 2], StoreError> {
    let plans = create_table(client, plans_table, PLAN).await?;
    let usage = create_table(client, usage_table, USAGE_KEY).await?;
    enable_ttl(client, usage_table).await?;
    Ok([plans, usage])
}

/// Plans in `PLANS_TABLE`.
#[derive(Debug, Clone)]
pub struct DynamoPlanStore {
    client: Client,
    table: String,
}

impl DynamoPlanStore {
    /// A store over `table`, sharing the given client.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn at<'a>(&'a self, name: &'a PlanName) -> ItemAt<'a> {
        ItemAt {
            client: &self.client,
            table: &self.table,
            key: (PLAN, name.as_str()),
        }
    }

    fn decode(&self, item: &Item) -> Result<Plan, StoreError> {
        plan_from(item).map_err(|detail| StoreError::Corrupt {
            table: self.table.clone(),
            detail,
        })
    }
}

fn plan_from(item: &Item) -> Result<Plan, String> {
    let a = Attributes(item);
    let limit = |name: &str, periods: &[Period]| {
        a.optional_string(name)?
            .map(|v| {
                Limit::parse(v, periods, "a limit").map_err(|e| format!("attribute '{name}': {e}"))
            })
            .transpose()
    };
    let api_gateway = match a.optional_string("usage_plan_id")? {
        Some(id) => Some(UsagePlanLink {
            usage_plan_id: id.to_owned(),
            api_id: a.string("api_id")?.to_owned(),
            stage: a.string("stage")?.to_owned(),
        }),
        None => None,
    };
    Ok(Plan {
        name: PlanName::parse(a.string(PLAN)?).map_err(|e| format!("attribute '{PLAN}': {e}"))?,
        rate: a.number("rate")?,
        burst: a.number("burst")?,
        quota: limit("quota", &[Period::Day, Period::Month])?,
        tokens: limit("tokens", &[Period::Hour, Period::Day])?,
        api_gateway,
        created_at: a.number("created_at")?,
    })
}

fn plan_item(plan: &Plan) -> Item {
    let mut item = Item::from([
        (PLAN.to_owned(), s(plan.name.as_str())),
        ("rate".to_owned(), n(plan.rate)),
        ("burst".to_owned(), n(plan.burst)),
        ("created_at".to_owned(), n(plan.created_at)),
    ]);
    if let Some(quota) = plan.quota {
        item.insert("quota".to_owned(), s(quota.to_string()));
    }
    if let Some(tokens) = plan.tokens {
        item.insert("tokens".to_owned(), s(tokens.to_string()));
    }
    if let Some(link) = &plan.api_gateway {
        item.insert("usage_plan_id".to_owned(), s(&link.usage_plan_id));
        item.insert("api_id".to_owned(), s(&link.api_id));
        item.insert("stage".to_owned(), s(&link.stage));
    }
    item
}

#[async_trait]
impl PlanReader for DynamoPlanStore {
    async fn get(&self, name: &PlanName) -> Result<Option<Plan>, StoreError> {
        let item = self.at(name).get().await?;
        item.map(|item| self.decode(&item)).transpose()
    }
}

#[async_trait]
impl PlanStore for DynamoPlanStore {
    async fn create(&self, plan: &Plan) -> Result<(), StoreError> {
        self.at(&plan.name).create(plan_item(plan), "plan").await
    }

    async fn list(&self) -> Result<Vec<Plan>, StoreError> {
        let items = scan_all(&self.client, &self.table).await?;
        let mut plans = items
            .iter()
            .map(|item| self.decode(item))
            .collect::<Result<Vec<_>, _>>()?;
        plans.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(plans)
    }

    async fn delete(&self, name: &PlanName) -> Result<(), StoreError> {
        self.at(name).delete("plan").await
    }
}

/// Counts in `USAGE_TABLE`.
#[derive(Debug, Clone)]
pub struct DynamoUsageStore {
    client: Client,
    table: String,
}

impl DynamoUsageStore {
    /// A store over `table`, sharing the given client.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn add_one(&self, key: &KeyId, count: &UsageCount) -> Result<u64, StoreError> {
        let answer = timed(
            "UpdateItem",
            self.client
                .update_item()
                .table_name(&self.table)
                .key(USAGE_KEY, s(usage_key(key, &count.window)))
                .update_expression("ADD #count :add SET #expires = :expires")
                .expression_attribute_names("#count", COUNT)
                .expression_attribute_names("#expires", EXPIRES_AT)
                .expression_attribute_values(":add", n(count.add))
                .expression_attribute_values(":expires", n(count.expires_at))
                .return_values(ReturnValue::UpdatedNew)
                .send(),
        )
        .await
        .map_err(|e| classify(&self.table, e))?;
        let attributes = answer.attributes().cloned().unwrap_or_default();
        Attributes(&attributes)
            .number(COUNT)
            .map_err(|detail| StoreError::Corrupt {
                table: self.table.clone(),
                detail,
            })
    }
}

fn usage_key(key: &KeyId, window: &str) -> String {
    format!("{key}#{window}")
}

#[async_trait]
impl UsageCounter for DynamoUsageStore {
    async fn add(&self, key: &KeyId, counts: &[UsageCount]) -> Result<Vec<u64>, StoreError> {
        // One write per window, sent together: a flush costs one round trip.
        futures_util::future::join_all(counts.iter().map(|c| self.add_one(key, c)))
            .await
            .into_iter()
            .collect()
    }
}

#[async_trait]
impl UsageStore for DynamoUsageStore {
    async fn totals(&self, key: &KeyId, windows: &[String]) -> Result<Vec<u64>, StoreError> {
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        let keys = windows
            .iter()
            .map(|w| Item::from([(USAGE_KEY.to_owned(), s(usage_key(key, w)))]))
            .collect();
        let wanted = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::Backend {
                detail: e.to_string(),
            })?;
        let answer = timed(
            "BatchGetItem",
            self.client
                .batch_get_item()
                .request_items(&self.table, wanted)
                .send(),
        )
        .await
        .map_err(|e| classify(&self.table, e))?;
        let items = answer
            .responses()
            .and_then(|r| r.get(&self.table))
            .cloned()
            .unwrap_or_default();
        windows
            .iter()
            .map(|w| {
                let id = usage_key(key, w);
                match items
                    .iter()
                    .find(|i| i.get(USAGE_KEY) == Some(&AttributeValue::S(id.clone())))
                {
                    Some(item) => {
                        Attributes(item)
                            .number(COUNT)
                            .map_err(|detail| StoreError::Corrupt {
                                table: self.table.clone(),
                                detail,
                            })
                    }
                    None => Ok(0),
                }
            })
            .collect()
    }
}
