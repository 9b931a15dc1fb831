//! `tokengate tokens …`

use clap::Subcommand;
use tokengate_shared::{KeyAdmin, KeyId, clock};

use crate::CliError;
use crate::output::{key_json, print_json, timestamp};

/// Issued token commands.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Revoke every token a key has been issued so far, at once. One write to the key's
    /// record; the key keeps working and gets new tokens.
    Revoke {
        /// The key whose tokens to revoke.
        #[arg(long, value_parser = |v: &str| KeyId::parse(v).map_err(|e| e.to_string()))]
        key: KeyId,
    },
}

/// Runs a token command against the key store.
pub async fn run(command: TokensCommand, store: &dyn KeyAdmin, json: bool) -> Result<(), CliError> {
    let TokensCommand::Revoke { key } = command;
    let updated = store
        .revoke_tokens(&key, clock::now_epoch_seconds())
        .await?;
    if json {
        print_json(&key_json(&updated));
    } else {
        println!(
            "revoked every token of key {} issued until {}",
            updated.id,
            timestamp(updated.tokens_revoked_at)
        );
    }
    Ok(())
}
