//! `tokengate tables …`

use aws_sdk_dynamodb::Client;
use clap::Subcommand;
use serde_json::json;
use tokengate_shared::plan::dynamodb::create_plan_tables;
use tokengate_shared::store::dynamodb::{TableOutcome, create_signing_keys_table, create_tables};

use crate::CliError;
use crate::output::print_json;

/// Table commands.
#[derive(Debug, Subcommand)]
pub enum TablesCommand {
    /// Create the keys, tokens, signing keys, plans and usage tables (on-demand, TTL on the
    /// tokens and usage tables); safe to run again.
    Create,
}

/// The tables' names.
#[derive(Debug, Clone, Copy)]
pub struct TableNames<'a> {
    /// `KEYS_TABLE`.
    pub keys: &'a str,
    /// `TOKENS_TABLE`.
    pub tokens: &'a str,
    /// `SIGNING_KEYS_TABLE`.
    pub signing_keys: &'a str,
    /// `PLANS_TABLE`.
    pub plans: &'a str,
    /// `USAGE_TABLE`.
    pub usage: &'a str,
}

/// Runs a table command.
pub async fn run(
    command: TablesCommand,
    client: &Client,
    names: TableNames<'_>,
    json: bool,
) -> Result<(), CliError> {
    let TableNames {
        keys: keys_table,
        tokens: tokens_table,
        signing_keys,
        plans,
        usage,
    } = names;
    match command {
        TablesCommand::Create => {
            let outcomes = create_tables(client, keys_table, tokens_table).await?;
            let signing = create_signing_keys_table(client, signing_keys).await?;
            let [plans_outcome, usage_outcome] = create_plan_tables(client, plans, usage).await?;
            let said = |o: TableOutcome| match o {
                TableOutcome::Created => "created",
                TableOutcome::AlreadyExisted => "already existed",
            };
            if json {
                print_json(&json!({
                    "keys_table": {"name": keys_table, "outcome": said(outcomes[0])},
                    "tokens_table": {"name": tokens_table, "outcome": said(outcomes[1]), "ttl_attribute": "expires_at"},
                    "signing_keys_table": {"name": signing_keys, "outcome": said(signing)},
                    "plans_table": {"name": plans, "outcome": said(plans_outcome)},
                    "usage_table": {"name": usage, "outcome": said(usage_outcome), "ttl_attribute": "expires_at"},
                }));
            } else {
                println!("keys table   {keys_table}: {}", said(outcomes[0]));
                println!(
                    "tokens table {tokens_table}: {} (TTL on expires_at)",
                    said(outcomes[1])
                );
                println!("signing keys {signing_keys}: {}", said(signing));
                println!("plans table  {plans}: {}", said(plans_outcome));
                println!(
                    "usage table  {usage}: {} (TTL on expires_at)",
                    said(usage_outcome)
                );
            }
            Ok(())
        }
    }
}
