//! Plans as a function uses them: read from their store at most once per `ttl` per
//! execution environment, and fault tolerant. A plan that cannot be read, or no longer
//! exists, limits nothing, and the log says so.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::store::PlanReader;
use super::{Plan, PlanName};

/// How long a plan read is used before it is read again.
pub const PLAN_REFRESH: Duration = Duration::from_secs(60);

type Entries = HashMap<PlanName, (Instant, Option<Arc<Plan>>)>;

/// Plans by name, as last read.
pub struct PlanCache {
    store: Arc<dyn PlanReader>,
    ttl: Duration,
    plans: Mutex<Entries>,
}

impl std::fmt::Debug for PlanCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl PlanCache {
    /// Plans of `store`, each kept for `ttl`.
    pub fn new(store: Arc<dyn PlanReader>, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            plans: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.plans.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The plan named, if it can be had.
    pub async fn get(&self, name: &PlanName) -> Option<Arc<Plan>> {
        let now = Instant::now();
        if let Some((read_at, plan)) = self.entries().get(name)
            && now.duration_since(*read_at) < self.ttl
        {
            return plan.clone();
        }
        match self.store.get(name).await {
            Ok(plan) => {
                let plan = plan.map(Arc::new);
                if plan.is_none() {
                    tracing::warn!(reason = "plan_unknown", plan = %name, "not limited");
                }
                let mut entries = self.entries();
                if entries.len() > 1_000 {
                    entries.clear();
                }
                entries.insert(name.clone(), (now, plan.clone()));
                plan
            }
            Err(err) => {
                tracing::warn!(reason = "plan_unreadable", plan = %name, error = %err, "not limited");
                None
            }
        }
    }
}
