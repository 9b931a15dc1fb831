//! `tokengate signing-keys …`: the JWT signing keys in `SIGNING_KEYS_TABLE`.

use clap::Subcommand;
use serde_json::{Value, json};
use tokengate_shared::signing::kms::Kms;
use tokengate_shared::signing::rotation::{KeyMaker, rotate};
use tokengate_shared::signing::{SigningAlg, SigningKey, SigningKeyMode};
use tokengate_shared::{SigningKeyStore, clock};

use crate::CliError;
use crate::output::{print_json, timestamp};

/// How long a demoted key stays published by default: a day, the longest a token lives, and
/// five minutes for warm functions to pick up the new key.
pub const DEFAULT_RETIRE_AFTER: u64 = 86_400 + 300;

/// Signing key commands.
#[derive(Debug, Subcommand)]
pub enum SigningKeysCommand {
    /// Promote the next key to current, demote current to previous, and make a new next
    /// key. The first rotate makes a current and a next key.
    Rotate {
        /// The algorithm of the keys made (RS256, ES256, EdDSA).
        #[arg(long, env = "SIGNING_ALGORITHM", default_value = "RS256", value_parser = parse_alg)]
        algorithm: SigningAlg,
        /// How long the demoted key stays published, in seconds: at least the longest token
        /// lifetime.
        #[arg(long, default_value_t = DEFAULT_RETIRE_AFTER)]
        retire_after: u64,
        /// How keys are held: `envelope` (made here, encrypted under SIGNING_KMS_KEY_ID) or
        /// `kms` (KMS asymmetric keys, which sign every token).
        #[arg(long, env = "SIGNING_KEY_MODE", default_value = "envelope", value_parser = parse_mode)]
        mode: SigningKeyMode,
        /// The KMS key that encrypts envelope keys (id, ARN or alias).
        #[arg(long, env = "SIGNING_KMS_KEY_ID")]
        kms_key_id: Option<String>,
    },
    /// Every key: its state, algorithm, mode and dates.
    List,
}

fn parse_alg(text: &str) -> Result<SigningAlg, String> {
    SigningAlg::parse(text).ok_or_else(|| "must be RS256, ES256 or EdDSA".to_owned())
}

fn parse_mode(text: &str) -> Result<SigningKeyMode, String> {
    SigningKeyMode::parse(text).ok_or_else(|| "must be envelope or kms".to_owned())
}

/// The key maker for `mode`, over a KMS client from the SDK's environment.
pub async fn maker(mode: SigningKeyMode, kms_key_id: Option<String>) -> Result<KeyMaker, CliError> {
    let kms = Kms::from_env().await?;
    match (mode, kms_key_id.filter(|id| !id.trim().is_empty())) {
        (SigningKeyMode::Envelope, Some(kms_key_id)) => Ok(KeyMaker::Envelope { kms, kms_key_id }),
        (SigningKeyMode::Envelope, None) => Err(CliError::Usage(
            "envelope keys are encrypted under a KMS key: set SIGNING_KMS_KEY_ID (or --kms-key-id) to its id, ARN or alias".into(),
        )),
        (SigningKeyMode::Kms, _) => Ok(KeyMaker::Kms(kms)),
    }
}

/// Runs a signing key command against `store`.
pub async fn run(
    command: SigningKeysCommand,
    store: &dyn SigningKeyStore,
    json: bool,
) -> Result<(), CliError> {
    let now = clock::now_epoch_seconds();
    match command {
        SigningKeysCommand::Rotate {
            algorithm,
            retire_after,
            mode,
            kms_key_id,
        } => {
            if mode == SigningKeyMode::Kms && algorithm.kms_names().is_none() {
                return Err(CliError::Usage(format!(
                    "SIGNING_KEY_MODE=kms signs RS256 and ES256, not {algorithm}"
                )));
            }
            let maker = maker(mode, kms_key_id).await?;
            let rotation = rotate(store, &maker, algorithm, retire_after, now)
                .await
                .map_err(signing_error)?;
            let keys = store.list().await?;
            if json {
                let made: Vec<&str> = rotation.created.iter().map(|k| k.kid.as_str()).collect();
                print_json(&json!({"created": made, "keys": listing(&keys, now)}));
            } else {
                for key in &rotation.created {
                    println!("made {} ({}, {})", key.kid, key.alg, key.state.as_str());
                }
                for change in &rotation.moved {
                    println!(
                        "{}: {} -> {}",
                        change.kid,
                        change.from.as_str(),
                        change.to.as_str()
                    );
                }
                print_table(&keys, now);
            }
        }
        SigningKeysCommand::List => {
            let keys = store.list().await?;
            if json {
                print_json(&Value::Array(listing(&keys, now)));
            } else if keys.is_empty() {
                println!("no signing keys; make the first with `tokengate signing-keys rotate`");
            } else {
                print_table(&keys, now);
            }
        }
    }
    Ok(())
}

fn signing_error(err: tokengate_shared::signing::SigningError) -> CliError {
    match err {
        tokengate_shared::signing::SigningError::Store(err) => CliError::Store(err),
        other => CliError::Setup(other.to_string()),
    }
}

fn listing(keys: &[SigningKey], now: u64) -> Vec<Value> {
    keys.iter()
        .map(|key| {
            json!({
                "kid": key.kid,
                "alg": key.alg.as_str(),
                "state": key.state_at(now).as_str(),
                "mode": key.protection.mode(),
                "published": key.is_published_at(now),
                "created_at": key.created_at,
                "state_since": key.state_since,
                "retire_at": key.retire_at,
            })
        })
        .collect()
}

fn print_table(keys: &[SigningKey], now: u64) {
    println!(
        "{:<28} {:<6} {:<9} {:<9} {:<21} {:<21} retires",
        "kid", "alg", "state", "mode", "created", "since"
    );
    for key in keys {
        println!(
            "{:<28} {:<6} {:<9} {:<9} {:<21} {:<21} {}",
            key.kid,
            key.alg.as_str(),
            key.state_at(now).as_str(),
            key.protection.mode(),
            timestamp(key.created_at),
            timestamp(key.state_since),
            key.retire_at.map(timestamp).unwrap_or_default(),
        );
    }
}
