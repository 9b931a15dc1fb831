//! Where plans and their counts live: `PLANS_TABLE` and `USAGE_TABLE` in DynamoDB
//! ([`super::dynamodb`]), or memory for the local server.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Plan, PlanName};
use crate::key::KeyId;
use crate::store::StoreError;

/// Plans read by name: all that the functions need, so that they link no other call.
#[async_trait]
pub trait PlanReader: Send + Sync {
    /// The plan with this name, if any. One read.
    async fn get(&self, name: &PlanName) -> Result<Option<Plan>, StoreError>;
}

/// Plans administered, by name (the CLI's).
#[async_trait]
pub trait PlanStore: PlanReader {
    /// Stores a new plan; [`StoreError::AlreadyExists`] if the name is taken.
    async fn create(&self, plan: &Plan) -> Result<(), StoreError>;
    /// Every plan, by name.
    async fn list(&self) -> Result<Vec<Plan>, StoreError>;
    /// Deletes a plan; [`StoreError::NotFound`] if there is none.
    async fn delete(&self, name: &PlanName) -> Result<(), StoreError>;
}

/// One window's count to add for a key: the window's id, how many, and when the count may
/// be forgotten (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageCount {
    /// The window's id ([`super::Window::id`]).
    pub window: String,
    /// How many to add.
    pub add: u64,
    /// When the count may go, epoch seconds.
    pub expires_at: u64,
}

/// Requests counted per key and window: all that the functions need.
#[async_trait]
pub trait UsageCounter: Send + Sync {
    /// Adds each count to its window's total for `key`, atomically per window: the totals
    /// after, in the same order, everyone's counts included.
    async fn add(&self, key: &KeyId, counts: &[UsageCount]) -> Result<Vec<u64>, StoreError>;
}

/// Counts read back (the CLI's `keys show`).
#[async_trait]
pub trait UsageStore: UsageCounter {
    /// The totals of `key` in `windows`, 0 where nothing was counted.
    async fn totals(&self, key: &KeyId, windows: &[String]) -> Result<Vec<u64>, StoreError>;
}

/// Plans in memory, for `tokengate serve`.
#[derive(Debug, Default)]
pub struct MemoryPlanStore(Mutex<BTreeMap<PlanName, Plan>>);

impl MemoryPlanStore {
    fn plans(&self) -> std::sync::MutexGuard<'_, BTreeMap<PlanName, Plan>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl PlanReader for MemoryPlanStore {
    async fn get(&self, name: &PlanName) -> Result<Option<Plan>, StoreError> {
        Ok(self.plans().get(name).cloned())
    }
}

#[async_trait]
impl PlanStore for MemoryPlanStore {
    async fn create(&self, plan: &Plan) -> Result<(), StoreError> {
        let mut plans = self.plans();
        if plans.contains_key(&plan.name) {
            return Err(StoreError::AlreadyExists {
                what: "plan",
                id: plan.name.to_string(),
            });
        }
        plans.insert(plan.name.clone(), plan.clone());
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Plan>, StoreError> {
        Ok(self.plans().values().cloned().collect())
    }

    async fn delete(&self, name: &PlanName) -> Result<(), StoreError> {
        self.plans()
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| StoreError::NotFound {
                what: "plan",
                id: name.to_string(),
            })
    }
}

/// Counts in memory, for `tokengate serve`: one process, so counted exactly.
#[derive(Debug, Default)]
pub struct MemoryUsageStore(Mutex<HashMap<(KeyId, String), (u64, u64)>>);

impl MemoryUsageStore {
    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<(KeyId, String), (u64, u64)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl UsageCounter for MemoryUsageStore {
    async fn add(&self, key: &KeyId, counts: &[UsageCount]) -> Result<Vec<u64>, StoreError> {
        let now = crate::clock::now_epoch_seconds();
        let mut all = self.counts();
        // Windows that ended go, as DynamoDB's TTL takes them.
        if all.len() > 10_000 {
            all.retain(|_, (_, expires_at)| *expires_at > now);
        }
        Ok(counts
            .iter()
            .map(|c| {
                let entry = all.entry((key.clone(), c.window.clone())).or_default();
                *entry = (entry.0.saturating_add(c.add), c.expires_at);
                entry.0
            })
            .collect())
    }
}

#[async_trait]
impl UsageStore for MemoryUsageStore {
    async fn totals(&self, key: &KeyId, windows: &[String]) -> Result<Vec<u64>, StoreError> {
        let all = self.counts();
        Ok(windows
            .iter()
            .map(|w| {
                all.get(&(key.clone(), w.clone()))
                    .map_or(0, |(total, _)| *total)
            })
            .collect())
    }
}
