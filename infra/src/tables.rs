//! `tokengate tables …`

use aws_sdk_dynamodb::Client;
use clap::Subcommand;
use serde_json::json;
use tokengate_shared::store::dynamodb::{TableOutcome, create_tables};

use crate::CliError;
use crate::output::print_json;

/// Table commands.
#[derive(Debug, Subcommand)]
pub enum TablesCommand {
    /// Create both tables (on-demand, TTL on the tokens table); safe to run again.
    Create,
}

/// Runs a table command.
pub async fn run(
    command: TablesCommand,
    client: &Client,
    keys_table: &str,
    tokens_table: &str,
    json: bool,
) -> Result<(), CliError> {
    match command {
        TablesCommand::Create => {
            let outcomes = create_tables(client, keys_table, tokens_table).await?;
            let said = |o: TableOutcome| match o {
                TableOutcome::Created => "created",
                TableOutcome::AlreadyExisted => "already existed",
            };
            if json {
                print_json(&json!({
                    "keys_table": {"name": keys_table, "outcome": said(outcomes[0])},
                    "tokens_table": {"name": tokens_table, "outcome": said(outcomes[1]), "ttl_attribute": "expires_at"},
                }));
            } else {
                println!("keys table   {keys_table}: {}", said(outcomes[0]));
                println!(
                    "tokens table {tokens_table}: {} (TTL on expires_at)",
                    said(outcomes[1])
                );
            }
            Ok(())
        }
    }
}
