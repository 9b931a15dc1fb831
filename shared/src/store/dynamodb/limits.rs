//! The bounds on every DynamoDB call, from the environment: timeouts, attempts, and
//! whether the functions open the connection during init.

use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

/// Bounds on every DynamoDB call, so that a store that accepts connections and never
/// answers costs a request at most `operation`, and the function still answers, by name,
/// well inside its Lambda timeout and API Gateway's 29 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// `DYNAMODB_CONNECT_TIMEOUT_MS`: to establish a connection.
    pub connect: Duration,
    /// `DYNAMODB_ATTEMPT_TIMEOUT_MS`: for one attempt, retries aside.
    pub attempt: Duration,
    /// `DYNAMODB_OPERATION_TIMEOUT_MS`: for the whole call, retries and their backoff
    /// included.
    pub operation: Duration,
    /// `DYNAMODB_MAX_ATTEMPTS`: attempts per call, the first included.
    pub max_attempts: u32,
    /// `DYNAMODB_WARM_UP`: whether the functions open DynamoDB's connection during init
    /// ([`super::DynamoKeyStore::warm_up`]); the CLI never does.
    pub warm_up: bool,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            connect: Duration::from_millis(1_000),
            attempt: Duration::from_millis(1_000),
            operation: Duration::from_millis(2_500),
            max_attempts: 3,
            warm_up: true,
        }
    }
}

/// A store limit in the environment that is not usable, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable} {problem}")]
pub struct InvalidStoreLimit {
    /// The variable at fault.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl StoreLimits {
    /// The limits from the process environment, defaults for what is unset.
    pub fn from_env() -> Result<Self, InvalidStoreLimit> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same, through `lookup` instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, InvalidStoreLimit> {
        let defaults = Self::default();
        let number =
            |variable: &'static str, range: std::ops::RangeInclusive<u64>, default: u64| {
                match lookup(variable).filter(|v| !v.trim().is_empty()) {
                    None => Ok(default),
                    Some(text) => text
                        .trim()
                        .parse()
                        .ok()
                        .filter(|n| range.contains(n))
                        .ok_or_else(|| InvalidStoreLimit {
                            variable,
                            problem: format!(
                                "must be a whole number from {} to {}",
                                range.start(),
                                range.end()
                            ),
                        }),
                }
            };
        let millis = |variable, default: Duration| {
            number(variable, 1..=60_000, default.as_millis() as u64).map(Duration::from_millis)
        };
        let limits = Self {
            connect: millis("DYNAMODB_CONNECT_TIMEOUT_MS", defaults.connect)?,
            attempt: millis("DYNAMODB_ATTEMPT_TIMEOUT_MS", defaults.attempt)?,
            operation: millis("DYNAMODB_OPERATION_TIMEOUT_MS", defaults.operation)?,
            max_attempts: number(
                "DYNAMODB_MAX_ATTEMPTS",
                1..=10,
                u64::from(defaults.max_attempts),
            )? as u32,
            warm_up: match lookup("DYNAMODB_WARM_UP").as_deref().map(str::trim) {
                None | Some("") => defaults.warm_up,
                Some(flag) if flag.eq_ignore_ascii_case("true") => true,
                Some(flag) if flag.eq_ignore_ascii_case("false") => false,
                Some(_) => {
                    return Err(InvalidStoreLimit {
                        variable: "DYNAMODB_WARM_UP",
                        problem: "must be true or false".into(),
                    });
                }
            },
        };
        if limits.attempt > limits.operation {
            return Err(InvalidStoreLimit {
                variable: "DYNAMODB_ATTEMPT_TIMEOUT_MS",
                problem: "must not exceed DYNAMODB_OPERATION_TIMEOUT_MS".into(),
            });
        }
        Ok(limits)
    }

    /// The SDK's timeouts for these limits.
    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    /// The SDK's retries for these limits: standard, `max_attempts` in all, each inside
    /// the operation timeout.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(Duration::from_millis(50))
            .with_max_backoff(Duration::from_millis(500))
    }
}
