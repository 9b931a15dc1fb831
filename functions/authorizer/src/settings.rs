//! The authorizer's environment, read once at cold start.

use std::time::Duration;

use tokengate_shared::plan::FlushPolicy;

use crate::pre_inputs::{ConfigError, KeyChecker, PreInputs, RateLimits, ValidationStyle};

/// What the environment says.
#[derive(Debug)]
pub struct AuthorizerSettings {
    /// `KEYS_TABLE`: where API keys are looked up.
    pub keys_table: String,
    /// `TOKENS_TABLE`: where the `tokengate` style reads tokens; unused by other styles.
    pub tokens_table: Option<String>,
    /// The pre-inputs, or why they are unusable (then every request is denied with the
    /// named configuration error, as Mashery does).
    pub pre_inputs: Result<PreInputs, ConfigError>,
    /// `rate_limits: tokengate`: `PLANS_TABLE` and `USAGE_TABLE`, and when counts are
    /// written (`USAGE_FLUSH_REQUESTS`, 10; `USAGE_FLUSH_MILLISECONDS`, 100).
    pub metering: Option<MeteringSettings>,
}

/// Where plans and counts are, and when counts are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeteringSettings {
    /// `PLANS_TABLE`.
    pub plans_table: String,
    /// `USAGE_TABLE`.
    pub usage_table: String,
    /// When counts are written.
    pub flush: FlushPolicy,
}

/// A setting the function cannot start without.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// `KEYS_TABLE` is unset or empty.
    #[error("KEYS_TABLE must be set (the name of the DynamoDB table of client keys)")]
    MissingKeysTable,
    /// The `tokengate` style without `TOKENS_TABLE`.
    #[error(
        "TOKENS_TABLE must be set for the tokengate validation style (the name of the DynamoDB table of issued tokens)"
    )]
    MissingTokensTable,
    /// `rate_limits: tokengate` without a table it needs.
    #[error(
        "{0} must be set for rate_limits: tokengate (the DynamoDB table of {1}; `tokengate tables create` makes it)"
    )]
    MissingMeteringTable(&'static str, &'static str),
    /// A flush setting that is not a whole number in its range.
    #[error("{0} must be a whole number from 1 to {1}")]
    InvalidFlush(&'static str, u64),
}

impl AuthorizerSettings {
    /// Reads `KEYS_TABLE`, `TOKENS_TABLE`, and the pre-inputs from `AUTHORIZER_CONFIG`
    /// (JSON text) or `AUTHORIZER_CONFIG_FILE` (a path).
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same, through `lookup` instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let table = |name| lookup(name).filter(|v| !v.trim().is_empty());
        let keys_table = table("KEYS_TABLE").ok_or(SettingsError::MissingKeysTable)?;
        let tokens_table = table("TOKENS_TABLE");
        let pre_inputs = pre_inputs(&lookup);
        let tokengate = pre_inputs
            .as_ref()
            .is_ok_and(|p| matches!(p.style, ValidationStyle::Tokengate { .. }));
        if tokengate && tokens_table.is_none() {
            return Err(SettingsError::MissingTokensTable);
        }
        let counted = pre_inputs
            .as_ref()
            .is_ok_and(|p| p.rate_limits == Some(RateLimits::Tokengate));
        let metering = if counted {
            Some(metering(&table)?)
        } else {
            None
        };
        Ok(Self {
            keys_table,
            tokens_table,
            pre_inputs,
            metering,
        })
    }

    /// Whether any decision reads DynamoDB: an API key tokengate checks, the `tokengate`
    /// style, or counted plans. Pre-inputs that do not load still check the API key first
    /// (Mashery's order), so they need the store too.
    pub fn needs_store(&self) -> bool {
        self.pre_inputs.as_ref().map_or(true, |p| {
            p.api_key.checked_by == KeyChecker::Tokengate
                || matches!(p.style, ValidationStyle::Tokengate { .. })
                || self.metering.is_some()
        })
    }

    /// `validation.eventually_consistent_reads` of the `tokengate` style.
    pub fn eventually_consistent_reads(&self) -> bool {
        matches!(
            self.pre_inputs.as_ref().map(|p| &p.style),
            Ok(ValidationStyle::Tokengate {
                eventually_consistent_reads: true,
                ..
            })
        )
    }
}

fn metering(
    table: &impl Fn(&'static str) -> Option<String>,
) -> Result<MeteringSettings, SettingsError> {
    let number = |name: &'static str, max: u64, default: u64| match table(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or(SettingsError::InvalidFlush(name, max)),
    };
    let defaults = FlushPolicy::default();
    Ok(MeteringSettings {
        plans_table: table("PLANS_TABLE")
            .ok_or(SettingsError::MissingMeteringTable("PLANS_TABLE", "plans"))?,
        usage_table: table("USAGE_TABLE").ok_or(SettingsError::MissingMeteringTable(
            "USAGE_TABLE",
            "usage counts",
        ))?,
        flush: FlushPolicy {
            requests: number("USAGE_FLUSH_REQUESTS", 10_000, defaults.requests)?,
            interval: Duration::from_millis(number(
                "USAGE_FLUSH_MILLISECONDS",
                60_000,
                defaults.interval.as_millis() as u64,
            )?),
        },
    })
}

/// The pre-inputs from the environment.
pub fn pre_inputs(lookup: &impl Fn(&str) -> Option<String>) -> Result<PreInputs, ConfigError> {
    let text = match (
        lookup("AUTHORIZER_CONFIG"),
        lookup("AUTHORIZER_CONFIG_FILE"),
    ) {
        (Some(text), _) if !text.trim().is_empty() => text,
        (_, Some(path)) if !path.trim().is_empty() => {
            std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::document(format!("AUTHORIZER_CONFIG_FILE {path} cannot be read: {e}"))
            })?
        }
        _ => {
            return Err(ConfigError::document(
                "no pre-inputs: set AUTHORIZER_CONFIG or AUTHORIZER_CONFIG_FILE",
            ));
        }
    };
    PreInputs::parse_with(&text, lookup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokengate_tests::fixtures::env;

    #[test]
    fn the_tokengate_style_cannot_start_without_tokens_table_and_other_styles_need_none() {
        let tokengate = r#"{"validation": {"style": "tokengate"}}"#;
        let settings = AuthorizerSettings::from_lookup(env(&[
            ("KEYS_TABLE", "k"),
            ("AUTHORIZER_CONFIG", tokengate),
        ]));
        assert_eq!(settings.unwrap_err(), SettingsError::MissingTokensTable);
        let settings = AuthorizerSettings::from_lookup(env(&[
            ("KEYS_TABLE", "k"),
            ("TOKENS_TABLE", "t"),
            ("AUTHORIZER_CONFIG", tokengate),
        ]))
        .unwrap();
        assert_eq!(settings.tokens_table.as_deref(), Some("t"));
        assert!(settings.pre_inputs.is_ok());
        let forward = r#"{"defaultURI": "https://idp.example/userinfo"}"#;
        let settings = AuthorizerSettings::from_lookup(env(&[
            ("KEYS_TABLE", "k"),
            ("AUTHORIZER_CONFIG", forward),
        ]));
        assert!(settings.is_ok_and(|s| s.tokens_table.is_none()));
    }

    #[test]
    fn counting_by_tokengate_cannot_start_without_its_tables_and_takes_the_flush_settings() {
        let counted =
            r#"{"defaultURI": "https://idp.example/userinfo", "rate_limits": "tokengate"}"#;
        let settings = AuthorizerSettings::from_lookup(env(&[
            ("KEYS_TABLE", "k"),
            ("PLANS_TABLE", "p"),
            ("AUTHORIZER_CONFIG", counted),
        ]));
        assert_eq!(
            settings.unwrap_err(),
            SettingsError::MissingMeteringTable("USAGE_TABLE", "usage counts")
        );
        let settings = AuthorizerSettings::from_lookup(env(&[
            ("KEYS_TABLE", "k"),
            ("PLANS_TABLE", "p"),
            ("USAGE_TABLE", "u"),
            ("USAGE_FLUSH_REQUESTS", "25"),
            ("AUTHORIZER_CONFIG", counted),
        ]))
        .unwrap();
        let metering = settings.metering.unwrap();
        assert_eq!(metering.flush.requests, 25);
        assert_eq!(metering.flush.interval, Duration::from_millis(100));
        let zero = AuthorizerSettings::from_lookup(env(&[
            ("KEYS_TABLE", "k"),
            ("PLANS_TABLE", "p"),
            ("USAGE_TABLE", "u"),
            ("USAGE_FLUSH_MILLISECONDS", "0"),
            ("AUTHORIZER_CONFIG", counted),
        ]));
        assert_eq!(
            zero.unwrap_err(),
            SettingsError::InvalidFlush("USAGE_FLUSH_MILLISECONDS", 60_000)
        );
    }
}
