//! Counting by tokengate (`"rate_limits": "tokengate"`). Each execution environment counts
//! the requests it admits and adds them to `USAGE_TABLE` (an atomic `ADD` on the key's item
//! for the window): at a window's first request, then every `requests` requests or
//! `interval`, whichever comes first. It decides from the last total it read plus what it
//! has counted since. So between two of its reads an environment admits at most
//! `requests` requests blind, and a window admits at most
//! `limit + environments × requests`: the worst-case overshoot.
//!
//! A count that cannot be written stays pending and is written with the next one, and the
//! request goes on (Kong's `fault_tolerant`): an outage of the usage table never denies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::store::{UsageCount, UsageCounter};
use super::{LimitKind, Window};
use crate::key::KeyId;

/// Counts written for the limiter, by `result` (`ok`, `error`).
pub const USAGE_FLUSHES: &str = "UsageFlushes";

/// When an environment writes its counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushPolicy {
    /// After this many requests counted since the last write.
    pub requests: u64,
    /// Or at the first request this long after it.
    pub interval: Duration,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        Self {
            requests: 10,
            interval: Duration::from_millis(100),
        }
    }
}

/// Why a request is refused: which limit, as a person reads it, and the seconds until its
/// window ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The rate, the quota or the tokens.
    pub kind: LimitKind,
    /// `100 per 2 s`, `100000/day`.
    pub policy: String,
    /// Seconds until the window ends, at least 1.
    pub retry_after: u64,
}

#[derive(Debug, Default)]
struct Count {
    /// The window's total as last read, everyone's counts included.
    known: u64,
    /// Counted here, not yet sent.
    pending: u64,
    /// Sent, not yet answered.
    in_flight: u64,
    flushed_at: Option<Instant>,
    ends_at_ms: u64,
}

impl Count {
    fn used(&self) -> u64 {
        self.known + self.in_flight + self.pending
    }
}

/// One execution environment's counts, by key and window.
pub struct Limiter {
    usage: Arc<dyn UsageCounter>,
    flush: FlushPolicy,
    counts: Mutex<HashMap<(KeyId, String), Count>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("flush", &self.flush)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// A limiter writing to `usage` as `flush` says.
    pub fn new(usage: Arc<dyn UsageCounter>, flush: FlushPolicy) -> Self {
        Self {
            usage,
            flush,
            counts: Mutex::new(HashMap::new()),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<(KeyId, String), Count>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits one request of `key` at `now_ms` (epoch milliseconds) in each of `windows`,
    /// or says which limit it is past. An admitted request is counted in every window.
    pub async fn admit(&self, key: &KeyId, windows: &[Window], now_ms: u64) -> Result<(), Refusal> {
        let now = Instant::now();
        let due = {
            let mut counts = self.counts();
            if let Some(refusal) = refusal(&counts, key, windows, now_ms) {
                return Err(refusal);
            }
            let mut due = false;
            for window in windows {
                let count = counts.entry((key.clone(), window.id.clone())).or_default();
                count.pending += 1;
                count.ends_at_ms = window.ends_at_ms;
                due |= match count.flushed_at {
                    None => true,
                    Some(at) => {
                        count.pending >= self.flush.requests
                            || now.duration_since(at) >= self.flush.interval
                    }
                };
            }
            if counts.len() > 4096 {
                counts.retain(|_, c| c.ends_at_ms > now_ms || c.pending + c.in_flight > 0);
            }
            due.then(|| take_pending(&mut counts, key, windows))
        };
        if let Some(sent) = due {
            self.write(key, sent, now).await;
        }
        Ok(())
    }

    async fn write(&self, key: &KeyId, sent: Vec<UsageCount>, now: Instant) {
        let written = self.usage.add(key, &sent).await;
        let mut counts = self.counts();
        let ok = written.is_ok();
        if let Err(err) = &written {
            tracing::warn!(reason = "usage_not_written", error = %err, "counts kept, written later");
        }
        let totals = written.unwrap_or_default();
        for (i, count) in sent.iter().enumerate() {
            let entry = counts
                .entry((key.clone(), count.window.clone()))
                .or_default();
            entry.in_flight = entry.in_flight.saturating_sub(count.add);
            match totals.get(i) {
                Some(total) => entry.known = entry.known.max(*total),
                None => entry.pending += count.add,
            }
            entry.flushed_at = Some(now);
        }
        metrics::counter!(USAGE_FLUSHES, "result" => if ok { "ok" } else { "error" }).increment(1);
    }
}

/// The refusal of the window past its limit with the longest wait, if any is.
fn refusal(
    counts: &HashMap<(KeyId, String), Count>,
    key: &KeyId,
    windows: &[Window],
    now_ms: u64,
) -> Option<Refusal> {
    windows
        .iter()
        .filter(|w| {
            let used = counts
                .get(&(key.clone(), w.id.clone()))
                .map_or(0, Count::used);
            used >= w.limit
        })
        .map(|w| Refusal {
            kind: w.kind,
            policy: w.policy.clone(),
            retry_after: w.ends_at_ms.saturating_sub(now_ms).div_ceil(1000).max(1),
        })
        .max_by_key(|r| r.retry_after)
}

/// Moves what `key` counted in `windows` from pending to in flight: what to write.
fn take_pending(
    counts: &mut HashMap<(KeyId, String), Count>,
    key: &KeyId,
    windows: &[Window],
) -> Vec<UsageCount> {
    windows
        .iter()
        .filter_map(|window| {
            let count = counts.get_mut(&(key.clone(), window.id.clone()))?;
            let add = std::mem::take(&mut count.pending);
            count.in_flight += add;
            // Kept an hour past the window, for `keys show` and late writers.
            (add > 0).then(|| UsageCount {
                window: window.id.clone(),
                add,
                expires_at: window.ends_at_ms / 1000 + 3600,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::store::MemoryUsageStore;
    use crate::plan::{Limit, Period, Plan, PlanName};

    fn plan(rate: u64, burst: u64, quota: Option<u64>) -> Plan {
        Plan {
            name: PlanName::parse("p").unwrap(),
            rate,
            burst,
            quota: quota.map(|count| Limit {
                count,
                period: Period::Day,
            }),
            tokens: None,
            api_gateway: None,
            created_at: 0,
        }
    }

    fn every_request() -> FlushPolicy {
        FlushPolicy {
            requests: 1,
            interval: Duration::ZERO,
        }
    }

    #[tokio::test]
    async fn one_environment_admits_exactly_the_limit_and_then_names_the_wait() {
        let usage = Arc::new(MemoryUsageStore::default());
        let limiter = Limiter::new(usage, FlushPolicy::default());
        let key = KeyId::parse("k").unwrap();
        let windows = plan(5, 5, None).request_windows(10_250);
        for _ in 0..5 {
            limiter.admit(&key, &windows, 10_250).await.unwrap();
        }
        let refused = limiter.admit(&key, &windows, 10_250).await.unwrap_err();
        assert_eq!(refused.kind, LimitKind::Rate);
        assert_eq!(refused.policy, "5 per 1 s");
        assert_eq!(refused.retry_after, 1);
        let next = plan(5, 5, None).request_windows(11_000);
        limiter.admit(&key, &next, 11_000).await.unwrap();
    }

    #[tokio::test]
    async fn environments_sharing_a_store_overshoot_by_at_most_environments_times_flush_size() {
        let usage: Arc<dyn UsageCounter> = Arc::new(MemoryUsageStore::default());
        let flush = FlushPolicy {
            requests: 4,
            interval: Duration::from_secs(3600),
        };
        let environments: Vec<Limiter> =
            (0..3).map(|_| Limiter::new(usage.clone(), flush)).collect();
        let key = KeyId::parse("k").unwrap();
        let windows = plan(100, 100, None).request_windows(0);
        let mut admitted = 0;
        for round in 0..100 {
            let limiter = &environments[round % 3];
            for _ in 0..3 {
                admitted += u64::from(limiter.admit(&key, &windows, 0).await.is_ok());
            }
        }
        assert!(admitted >= 100, "{admitted}");
        assert!(admitted <= 100 + 3 * 4, "{admitted}");
    }

    #[tokio::test]
    async fn a_quota_past_its_count_refuses_until_the_day_ends_whatever_the_rate() {
        let usage = Arc::new(MemoryUsageStore::default());
        let limiter = Limiter::new(usage, every_request());
        let key = KeyId::parse("k").unwrap();
        let gold = plan(100, 100, Some(2));
        let noon = 43_200_000;
        for _ in 0..2 {
            limiter
                .admit(&key, &gold.request_windows(noon), noon)
                .await
                .unwrap();
        }
        let refused = limiter
            .admit(&key, &gold.request_windows(noon), noon)
            .await
            .unwrap_err();
        assert_eq!(refused.kind, LimitKind::Quota);
        assert_eq!(refused.retry_after, 43_200);
        let tomorrow = 86_400_000;
        assert!(
            limiter
                .admit(&key, &gold.request_windows(tomorrow), tomorrow)
                .await
                .is_ok()
        );
    }

    struct Down;

    #[async_trait::async_trait]
    impl UsageCounter for Down {
        async fn add(&self, _: &KeyId, _: &[UsageCount]) -> Result<Vec<u64>, crate::StoreError> {
            Err(crate::StoreError::Unreachable {
                detail: "down".into(),
            })
        }
    }

    #[tokio::test]
    async fn a_store_that_is_down_denies_nothing_and_loses_no_count() {
        let limiter = Limiter::new(Arc::new(Down), every_request());
        let key = KeyId::parse("k").unwrap();
        let windows = plan(3, 3, None).request_windows(0);
        for _ in 0..3 {
            limiter.admit(&key, &windows, 0).await.unwrap();
        }
        let (pending, in_flight) = {
            let counts = limiter.counts();
            let count = &counts[&(key.clone(), windows[0].id.clone())];
            (count.pending, count.in_flight)
        };
        assert_eq!((pending, in_flight), (3, 0), "kept for the next write");
        assert!(
            limiter.admit(&key, &windows, 0).await.is_err(),
            "still counted here"
        );
    }
}
