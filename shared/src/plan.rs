//! Plans, as Mashery's package plans had them: a rate and a burst, and optionally a quota of
//! requests per day or month (UTC) and a limit on tokens issued per hour or day. A client
//! key names its plan; what its plan allows is counted in windows ([`Window`]), by API
//! Gateway's usage plans or by tokengate itself ([`limiter`]).

pub mod cache;
pub mod dynamodb;
pub mod limiter;
pub mod store;

use std::fmt;

use sha2::{Digest, Sha256};

pub use crate::grants::{InvalidGrant, PlanName};
use crate::key::KeyId;

pub use cache::{PLAN_REFRESH, PlanCache};
pub use limiter::{FlushPolicy, Limiter, Refusal};
pub use store::{
    MemoryPlanStore, MemoryUsageStore, PlanReader, PlanStore, UsageCount, UsageCounter, UsageStore,
};

/// The calendar period a count runs over, in UTC.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Period {
    /// An hour, from the top of the hour.
    Hour,
    /// A day, from midnight UTC.
    Day,
    /// A month, from the first at midnight UTC.
    Month,
}

impl Period {
    /// The written name: `hour`, `day`, `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Month => "month",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            "month" => Some(Self::Month),
            _ => None,
        }
    }

    /// The window holding `now` (epoch seconds): its id and when it ends (epoch seconds).
    fn window(self, now: u64) -> (String, u64) {
        let Ok(at) = time::OffsetDateTime::from_unix_timestamp(now.min(i64::MAX as u64) as i64)
        else {
            return (format!("{}:{now}", self.as_str()), now + 1);
        };
        let date = at.date();
        match self {
            Self::Hour => (format!("h:{}", now / 3600), (now / 3600 + 1) * 3600),
            Self::Day => {
                let (month, day) = (u8::from(date.month()), date.day());
                let id = format!("d:{:04}-{month:02}-{day:02}", date.year());
                (id, (now / 86_400 + 1) * 86_400)
            }
            Self::Month => {
                let (year, month) = (date.year(), date.month());
                let (next_year, next_month) = match month {
                    time::Month::December => (year + 1, time::Month::January),
                    m => (year, m.next()),
                };
                let ends = time::Date::from_calendar_date(next_year, next_month, 1)
                    .map(|d| d.midnight().assume_utc().unix_timestamp().max(0) as u64)
                    .unwrap_or(now + 1);
                (format!("m:{year:04}-{:02}", u8::from(month)), ends)
            }
        }
    }
}

/// A count per period: `100000/day`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Limit {
    /// How many.
    pub count: u64,
    /// Per what.
    pub period: Period,
}

impl Limit {
    /// Parses `COUNT/PERIOD`, the period one of `periods`; `rule` says what was expected.
    pub fn parse(text: &str, periods: &[Period], rule: &'static str) -> Result<Self, InvalidGrant> {
        let invalid = || InvalidGrant::new(text, rule);
        let (count, period) = text.split_once('/').ok_or_else(invalid)?;
        let count: u64 = count.parse().map_err(|_| invalid())?;
        let period = Period::parse(period)
            .filter(|p| periods.contains(p))
            .ok_or_else(invalid)?;
        if count == 0 {
            return Err(invalid());
        }
        Ok(Self { count, period })
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.period.as_str())
    }
}

/// The API Gateway usage plan a plan is mirrored to (`plans create --api-id --stage`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UsagePlanLink {
    /// The usage plan's id.
    pub usage_plan_id: String,
    /// The REST API it applies to.
    pub api_id: String,
    /// The stage.
    pub stage: String,
}

/// A plan.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Plan {
    /// Its name.
    pub name: PlanName,
    /// Requests per second, on average.
    pub rate: u64,
    /// Requests at once, on top of an idle second.
    pub burst: u64,
    /// Requests per day or month.
    pub quota: Option<Limit>,
    /// Tokens issued per hour or day.
    pub tokens: Option<Limit>,
    /// The API Gateway usage plan it is mirrored to, if any.
    pub api_gateway: Option<UsagePlanLink>,
    /// When it was made, epoch seconds.
    pub created_at: u64,
}

/// What a window limits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LimitKind {
    /// The rate and burst.
    Rate,
    /// The quota.
    Quota,
    /// Tokens issued.
    Tokens,
}

/// One window a request is counted in: its id (unique per key), its limit, and when it
/// ends.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Window {
    /// What it limits.
    pub kind: LimitKind,
    /// `r2000:882` (two-second rate windows, the 882nd), `d:2026-12-06`, `m:2026-12`, `h:490000`.
    pub id: String,
    /// The most requests it admits.
    pub limit: u64,
    /// When it ends, epoch milliseconds.
    pub ends_at_ms: u64,
    /// The policy, as a person reads it: `100 per 2 s`, `100000/day`.
    pub policy: String,
}

impl Plan {
    /// The longest and largest a plan's numbers may be: a rate window is at most an hour.
    pub const MAX_RATE: u64 = 1_000_000;

    /// Checks a plan's numbers: a rate and burst of at least 1, a burst of at most an hour
    /// at the rate.
    pub fn check(&self) -> Result<(), InvalidGrant> {
        if self.rate == 0 || self.rate > Self::MAX_RATE {
            return Err(InvalidGrant::new(
                &self.rate.to_string(),
                "a rate: 1 to 1000000 requests per second",
            ));
        }
        if self.burst == 0 || self.burst > self.rate.saturating_mul(3600) {
            return Err(InvalidGrant::new(
                &self.burst.to_string(),
                "a burst: at least 1, and at most an hour of requests at the rate",
            ));
        }
        Ok(())
    }

    /// The rate's window length in milliseconds and its limit: as long as the burst takes
    /// at the rate (at least a second), admitting `max(burst, rate)` in it. On average the
    /// rate; the burst at once.
    pub fn rate_window(&self) -> (u64, u64) {
        let rate = self.rate.max(1);
        let length = (self.burst.saturating_mul(1000) / rate).max(1000);
        (length, self.burst.max(rate))
    }

    /// The windows a request is counted in at `now_ms`: the rate's, and the quota's.
    pub fn request_windows(&self, now_ms: u64) -> Vec<Window> {
        let (length, limit) = self.rate_window();
        let index = now_ms / length;
        let seconds = if length % 1000 == 0 {
            format!("{} s", length / 1000)
        } else {
            format!("{:.1} s", length as f64 / 1000.0)
        };
        let mut windows = vec![Window {
            kind: LimitKind::Rate,
            id: format!("r{length}:{index}"),
            limit,
            ends_at_ms: (index + 1).saturating_mul(length),
            policy: format!("{limit} per {seconds}"),
        }];
        windows.extend(
            self.quota
                .map(|q| calendar_window(LimitKind::Quota, q, now_ms)),
        );
        windows
    }

    /// The window a token issued at `now_ms` is counted in, if the plan limits tokens.
    pub fn token_window(&self, now_ms: u64) -> Option<Window> {
        self.tokens
            .map(|t| calendar_window(LimitKind::Tokens, t, now_ms))
    }
}

fn calendar_window(kind: LimitKind, limit: Limit, now_ms: u64) -> Window {
    let (id, ends) = limit.period.window(now_ms / 1000);
    Window {
        kind,
        id: match kind {
            LimitKind::Tokens => format!("t{id}"),
            _ => id,
        },
        limit: limit.count,
        ends_at_ms: ends.saturating_mul(1000),
        policy: limit.to_string(),
    }
}

/// The value of the API Gateway API key that stands for `key` in its usage plan
/// (`usageIdentifierKey`): derived from the key id alone, so that no second secret exists.
/// API Gateway never sees it from a client: the authorizer names it.
pub fn usage_identifier(key: &KeyId) -> String {
    let digest = Sha256::digest(format!("tokengate usage identifier\0{key}"));
    format!("tokengate-{}", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rate: u64, burst: u64) -> Plan {
        Plan {
            name: PlanName::parse("gold").unwrap(),
            rate,
            burst,
            quota: None,
            tokens: None,
            api_gateway: None,
            created_at: 0,
        }
    }

    #[test]
    fn a_limit_is_a_count_per_an_allowed_period_and_nothing_else() {
        let quota = [Period::Day, Period::Month];
        let parsed = Limit::parse("100000/day", &quota, "q").unwrap();
        assert_eq!((parsed.count, parsed.period), (100_000, Period::Day));
        assert_eq!(parsed.to_string(), "100000/day");
        for bad in [
            "100000", "0/day", "-1/day", "10/hour", "10/week", "ten/day", "",
        ] {
            assert!(Limit::parse(bad, &quota, "q").is_err(), "{bad}");
        }
    }

    #[test]
    fn a_plan_name_is_safe_in_a_metric_and_a_usage_plan_name() {
        assert!(PlanName::parse("gold-2026_v1.0").is_ok());
        for bad in ["", "two words", "é", "a/b", &"p".repeat(65)] {
            assert!(PlanName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_rate_window_lasts_as_long_as_the_burst_takes_at_the_rate() {
        assert_eq!(plan(50, 100).rate_window(), (2000, 100));
        assert_eq!(plan(3, 10).rate_window(), (3333, 10));
        assert_eq!(
            plan(100, 50).rate_window(),
            (1000, 100),
            "a second at least"
        );
        let windows = plan(50, 100).request_windows(10_500);
        assert_eq!(windows[0].id, "r2000:5");
        assert_eq!(windows[0].ends_at_ms, 12_000);
        assert_eq!(windows[0].policy, "100 per 2 s");
        assert!(plan(0, 1).check().is_err());
        assert!(plan(1, 3601).check().is_err());
        assert!(plan(1, 3600).check().is_ok());
    }

    #[test]
    fn quota_windows_are_utc_days_and_months_and_token_windows_hours() {
        let mut gold = plan(10, 10);
        gold.quota = Some(Limit {
            count: 5,
            period: Period::Month,
        });
        gold.tokens = Some(Limit {
            count: 2,
            period: Period::Hour,
        });
        // 2026-12-31T23:59:59Z
        let now_ms = 1_798_761_599_000;
        let quota = &gold.request_windows(now_ms)[1];
        assert_eq!(quota.id, "m:2026-12");
        assert_eq!(quota.ends_at_ms, 1_798_761_600_000, "2027-01-01T00:00:00Z");
        gold.quota = Some(Limit {
            count: 5,
            period: Period::Day,
        });
        let quota = &gold.request_windows(now_ms)[1];
        assert_eq!(quota.id, "d:2026-12-31");
        assert_eq!(quota.ends_at_ms, 1_798_761_600_000);
        let tokens = gold.token_window(now_ms).unwrap();
        assert_eq!(tokens.id, format!("th:{}", 1_798_761_599 / 3600));
        assert_eq!(tokens.policy, "2/hour");
    }

    #[test]
    fn a_usage_identifier_is_the_same_for_a_key_and_differs_between_keys() {
        let a = KeyId::parse("a").unwrap();
        let b = KeyId::parse("b").unwrap();
        assert_eq!(usage_identifier(&a), usage_identifier(&a));
        assert_ne!(usage_identifier(&a), usage_identifier(&b));
        assert_eq!(usage_identifier(&a).len(), 74);
    }
}
