//! The scheduled rotation of the JWT signing keys: what the `signing-keys-rotator` function
//! does each time EventBridge Scheduler invokes it, as `tokengate signing-keys rotate` does
//! by hand.

use serde::Serialize;
use tokengate_shared::SigningKeyStore;
use tokengate_shared::signing::kms::Kms;
use tokengate_shared::signing::rotation::{KeyMaker, rotate};
use tokengate_shared::signing::{SigningAlg, SigningError, SigningKeyMode};

use crate::settings::SettingsError;

/// How long a demoted key stays published by default: a day, the longest a token lives,
/// and five minutes for warm functions to pick up the new key.
pub const DEFAULT_RETIRE_AFTER_SECONDS: u64 = 86_400 + 300;

/// The rotator's settings from the environment, read once at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatorSettings {
    /// `SIGNING_KEYS_TABLE`.
    pub table: String,
    /// `SIGNING_KEY_MODE`: `envelope` (the default) or `kms`.
    pub mode: SigningKeyMode,
    /// `SIGNING_KMS_KEY_ID`: the KMS key envelope keys are encrypted under.
    pub kms_key_id: Option<String>,
    /// `SIGNING_ALGORITHM`: RS256 (the default), ES256 or EdDSA (envelope only).
    pub alg: SigningAlg,
    /// `SIGNING_KEY_RETIRE_AFTER_SECONDS`: how long a demoted key stays published.
    pub retire_after: u64,
}

impl RotatorSettings {
    /// Reads the settings through `lookup`, a stand-in for the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let table =
            var("SIGNING_KEYS_TABLE").ok_or(SettingsError::Missing("SIGNING_KEYS_TABLE"))?;
        let invalid = |name: &'static str, rule: &'static str| SettingsError::Invalid(name, rule);
        let mode = match var("SIGNING_KEY_MODE") {
            None => SigningKeyMode::Envelope,
            Some(text) => SigningKeyMode::parse(&text)
                .ok_or_else(|| invalid("SIGNING_KEY_MODE", "envelope or kms"))?,
        };
        let alg = match var("SIGNING_ALGORITHM") {
            None => SigningAlg::Rs256,
            Some(text) => SigningAlg::parse(&text)
                .ok_or_else(|| invalid("SIGNING_ALGORITHM", "RS256, ES256 or EdDSA"))?,
        };
        if mode == SigningKeyMode::Kms && alg.kms_names().is_none() {
            return Err(invalid(
                "SIGNING_ALGORITHM",
                "RS256 or ES256 with SIGNING_KEY_MODE=kms",
            ));
        }
        let kms_key_id = var("SIGNING_KMS_KEY_ID");
        if mode == SigningKeyMode::Envelope && kms_key_id.is_none() {
            return Err(invalid(
                "SIGNING_KMS_KEY_ID",
                "the KMS key that encrypts envelope keys (id, ARN or alias)",
            ));
        }
        let retire_after = match var("SIGNING_KEY_RETIRE_AFTER_SECONDS") {
            None => DEFAULT_RETIRE_AFTER_SECONDS,
            Some(text) => (text.parse().ok())
                .filter(|n| (1..=2_592_000).contains(n))
                .ok_or(SettingsError::OutOfRange(
                    "SIGNING_KEY_RETIRE_AFTER_SECONDS",
                    2_592_000,
                ))?,
        };
        Ok(Self {
            table,
            mode,
            kms_key_id,
            alg,
            retire_after,
        })
    }

    /// How keys are made, over `kms`.
    pub fn maker(&self, kms: Kms) -> KeyMaker {
        match (self.mode, &self.kms_key_id) {
            (SigningKeyMode::Envelope, Some(id)) => KeyMaker::Envelope {
                kms,
                kms_key_id: id.clone(),
            },
            _ => KeyMaker::Kms(kms),
        }
    }
}

/// What a rotation did, as the function answers it.
#[derive(Debug, Serialize)]
pub struct Rotated {
    /// The keys made, and their states.
    pub created: Vec<(String, &'static str)>,
    /// The keys moved: id, from, to.
    pub moved: Vec<(String, &'static str, &'static str)>,
}

/// One rotation at `now`.
pub async fn rotate_now(
    store: &dyn SigningKeyStore,
    maker: &KeyMaker,
    settings: &RotatorSettings,
    now: u64,
) -> Result<Rotated, SigningError> {
    let rotation = rotate(store, maker, settings.alg, settings.retire_after, now).await?;
    let rotated = Rotated {
        created: (rotation.created.iter())
            .map(|k| (k.kid.clone(), k.state.as_str()))
            .collect(),
        moved: (rotation.moved.iter())
            .map(|m| (m.kid.clone(), m.from.as_str(), m.to.as_str()))
            .collect(),
    };
    tracing::info!(reason = "signing_keys_rotated", created = ?rotated.created, moved = ?rotated.moved);
    Ok(rotated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokengate_tests::fixtures::env;

    #[test]
    fn the_rotator_needs_its_table_and_for_envelope_keys_a_kms_key_and_names_what_is_wrong() {
        let read = |vars: &[(&str, &str)]| RotatorSettings::from_lookup(env(vars));
        assert_eq!(read(&[]), Err(SettingsError::Missing("SIGNING_KEYS_TABLE")));
        let refused = read(&[("SIGNING_KEYS_TABLE", "s")]).unwrap_err();
        assert!(
            refused.to_string().starts_with("SIGNING_KMS_KEY_ID"),
            "{refused}"
        );
        let kms = read(&[("SIGNING_KEYS_TABLE", "s"), ("SIGNING_KEY_MODE", "kms")]).unwrap();
        assert_eq!((kms.alg, kms.retire_after), (SigningAlg::Rs256, 86_700));
        let eddsa_in_kms = [
            ("SIGNING_KEYS_TABLE", "s"),
            ("SIGNING_KEY_MODE", "kms"),
            ("SIGNING_ALGORITHM", "EdDSA"),
        ];
        assert!(
            read(&eddsa_in_kms)
                .unwrap_err()
                .to_string()
                .starts_with("SIGNING_ALGORITHM")
        );
        let envelope = read(&[
            ("SIGNING_KEYS_TABLE", "s"),
            ("SIGNING_KMS_KEY_ID", "alias/tokengate"),
            ("SIGNING_ALGORITHM", "ES256"),
            ("SIGNING_KEY_RETIRE_AFTER_SECONDS", "3600"),
        ])
        .unwrap();
        assert_eq!(
            (envelope.mode, envelope.alg, envelope.retire_after),
            (SigningKeyMode::Envelope, SigningAlg::Es256, 3600)
        );
    }
}
