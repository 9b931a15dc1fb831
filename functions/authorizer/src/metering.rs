//! Plans in the decision (`"rate_limits"` in the pre-inputs): the plan of the client key
//! whose record the decision read anyway (the token's key in the `tokengate` style, else
//! the API key), read from `PLANS_TABLE` at most once a minute per execution environment,
//! and the requests it admits counted by [`Limiter`].
//!
//! Fault tolerant, as Kong's rate limiting is by default: when the plans or usage table
//! cannot be read or written, the request goes on uncounted (and the log says so); a key
//! whose plan no longer exists is not limited. A key without a plan costs nothing.

use std::sync::Arc;

use tokengate_shared::KeyId;
use tokengate_shared::plan::{
    FlushPolicy, LimitKind, Limiter, PLAN_REFRESH, PlanCache, PlanName, PlanReader, UsageCounter,
};

use crate::error::{Denial, Limited, Reason};
use crate::moment::Moment;

/// Requests refused past a limit, by `plan` and `limit` (`rate`, `quota`).
pub const LIMITED: &str = "Limited";
/// Requests refused past a quota, all plans together: one series to alarm on.
pub const QUOTA_REFUSALS: &str = "QuotaRefusals";

/// The plans and the counts.
pub struct Metering {
    plans: PlanCache,
    limiter: Limiter,
}

impl std::fmt::Debug for Metering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metering")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl Metering {
    /// Plans from `plans`, counts written to `usage` as `flush` says.
    pub fn new(
        plans: Arc<dyn PlanReader>,
        usage: Arc<dyn UsageCounter>,
        flush: FlushPolicy,
    ) -> Self {
        Self {
            plans: PlanCache::new(plans, PLAN_REFRESH),
            limiter: Limiter::new(usage, flush),
        }
    }

    /// Counts one request of `key` against `plan` at `now`, or says which limit it is
    /// past and for how long.
    pub(crate) async fn admit(
        &self,
        key: &KeyId,
        plan: &PlanName,
        now: Moment,
    ) -> Result<(), Denial> {
        let Some(found) = self.plans.get(plan).await else {
            return Ok(());
        };
        let now_ms = now.epoch_millis();
        let windows = found.request_windows(now_ms);
        self.limiter
            .admit(key, &windows, now_ms)
            .await
            .map_err(|refusal| {
                let (reason, limit) = match refusal.kind {
                    LimitKind::Quota => (Reason::QuotaExhausted, "quota"),
                    _ => (Reason::RateLimited, "rate"),
                };
                metrics::counter!(LIMITED, "plan" => plan.to_string(), "limit" => limit)
                    .increment(1);
                if reason == Reason::QuotaExhausted {
                    metrics::counter!(QUOTA_REFUSALS).increment(1);
                }
                Denial::limited(
                    reason,
                    Limited {
                        plan: plan.clone(),
                        policy: refusal.policy,
                        retry_after: refusal.retry_after,
                    },
                )
            })
    }
}
