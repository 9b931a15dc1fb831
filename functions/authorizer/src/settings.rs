//! The authorizer's environment, read once at cold start.

use crate::pre_inputs::{ConfigError, PreInputs};

/// What the environment says.
#[derive(Debug)]
pub struct AuthorizerSettings {
    /// `KEYS_TABLE`: where API keys are looked up.
    pub keys_table: String,
    /// The pre-inputs, or why they are unusable (then every request is denied with the
    /// named configuration error, as Mashery does).
    pub pre_inputs: Result<PreInputs, ConfigError>,
}

/// A setting the function cannot start without.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("KEYS_TABLE must be set (the name of the DynamoDB table of client keys)")]
pub struct MissingKeysTable;

impl AuthorizerSettings {
    /// Reads `KEYS_TABLE`, and the pre-inputs from `AUTHORIZER_CONFIG` (JSON text) or
    /// `AUTHORIZER_CONFIG_FILE` (a path).
    pub fn from_env() -> Result<Self, MissingKeysTable> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same, through `lookup` instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, MissingKeysTable> {
        let keys_table = lookup("KEYS_TABLE")
            .filter(|v| !v.trim().is_empty())
            .ok_or(MissingKeysTable)?;
        Ok(Self {
            keys_table,
            pre_inputs: pre_inputs(&lookup),
        })
    }
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
