//! The `tokengate` command: DynamoDB tables and client keys, on whatever endpoint the AWS
//! SDK's environment points at.

pub mod admin;
mod answer;
pub mod api;
pub mod config;
pub mod cost;
pub mod keys;
pub mod output;
pub mod plans;
pub mod prometheus;
pub mod serve;
pub mod signing_keys;
pub mod tables;
pub mod tokens;
pub mod usage_plans;

use clap::{Parser, Subcommand};
use tokengate_shared::StoreError;
use tokengate_shared::store::dynamodb::{InvalidStoreLimit, endpoint_description};

/// Operate tokengate: tables and client keys.
#[derive(Debug, Parser)]
#[command(name = "tokengate", version, about)]
pub struct Cli {
    /// The client keys table.
    #[arg(
        long,
        global = true,
        env = "KEYS_TABLE",
        default_value = "tokengate-keys"
    )]
    pub keys_table: String,
    /// The issued tokens table.
    #[arg(
        long,
        global = true,
        env = "TOKENS_TABLE",
        default_value = "tokengate-tokens"
    )]
    pub tokens_table: String,
    /// The JWT signing keys table.
    #[arg(
        long,
        global = true,
        env = "SIGNING_KEYS_TABLE",
        default_value = "tokengate-signing-keys"
    )]
    pub signing_keys_table: String,
    /// The plans table.
    #[arg(
        long,
        global = true,
        env = "PLANS_TABLE",
        default_value = "tokengate-plans"
    )]
    pub plans_table: String,
    /// The usage table: requests counted per key and window.
    #[arg(
        long,
        global = true,
        env = "USAGE_TABLE",
        default_value = "tokengate-usage"
    )]
    pub usage_table: String,
    /// Print JSON for machines instead of text for people (errors too, on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// DynamoDB tables.
    #[command(subcommand)]
    Tables(tables::TablesCommand),
    /// Client keys: the key/secret pairs that get tokens.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Issued tokens.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Plans: rates, bursts and quotas that client keys are held to.
    #[command(subcommand)]
    Plans(plans::PlansCommand),
    /// The keys that sign JWT access tokens: rotate them, list them.
    #[command(subcommand)]
    SigningKeys(signing_keys::SigningKeysCommand),
    /// The authorizer's pre-inputs.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Run the whole stack locally: token endpoint, authorizer, and an upstream.
    Serve(serve::ServeOptions),
    /// The REST API in template.yaml, rendered from the pre-inputs.
    #[command(subcommand)]
    Api(api::ApiCommand),
    /// What decisions and tokens cost a month at your volumes (docs/cost.md).
    Cost(cost::CostOptions),
}

/// A failed command, said so a person can act on it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The store refused or failed.
    #[error("{}", describe_store_error(.0))]
    Store(#[from] StoreError),
    /// The store's client could not be set up from the environment.
    #[error("{0}")]
    StoreSettings(#[from] InvalidStoreLimit),
    /// An argument was not acceptable.
    #[error("{0}")]
    Usage(String),
    /// Settings from the environment, or a configuration file, are not acceptable.
    #[error("{0}")]
    Config(String),
    /// A port could not be bound.
    #[error(
        "cannot listen on {address}: {source} (choose another with {option}; 0 picks a free one)"
    )]
    Bind {
        /// The address asked for.
        address: String,
        /// The option that chose it.
        option: &'static str,
        /// Why not.
        source: std::io::Error,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `write`, `read --config`).
        action: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// Why not.
        source: std::io::Error,
    },
    /// A part of the process could not be set up (the HTTP client, the metrics recorder).
    #[error("{0}")]
    Setup(String),
    /// A pre-inputs file has problems: every one of them, one a line.
    #[error("{}", .problems.iter().map(|p| format!("{file}: {p}")).collect::<Vec<_>>().join("\n"))]
    PreInputs {
        /// The file, as given.
        file: String,
        /// What is wrong, each naming its key path.
        problems: Vec<authorizer::pre_inputs::Problem>,
    },
}

impl CliError {
    /// What failed, in one word, for scripts reading `--json` errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Store(_) | Self::StoreSettings(_) => "store",
            Self::Usage(_) => "usage",
            Self::Config(_) | Self::PreInputs { .. } => "config",
            Self::Bind { .. } => "bind",
            Self::Io { .. } => "io",
            Self::Setup(_) => "setup",
        }
    }

    /// A file that could not be read or written.
    pub fn io(action: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

fn describe_store_error(err: &StoreError) -> String {
    let endpoint = endpoint_description();
    match err {
        StoreError::TableMissing { table } => format!(
            "table '{table}' does not exist at {endpoint}; create it with `tokengate tables create`"
        ),
        StoreError::Unreachable { detail } => {
            // The SDK's account of a missing credential chain runs to a line per provider.
            let cause = detail.lines().next().unwrap_or_default();
            let cause = cause
                .trim_end_matches("Attempted:")
                .trim_end_matches(['.', ' ']);
            format!(
                "cannot reach DynamoDB at {endpoint}: {cause}. For a local DynamoDB \
                 (moto_server, DynamoDB Local) set AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:PORT \
                 and dummy AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION; for AWS, \
                 credentials and AWS_REGION"
            )
        }
        other => other.to_string(),
    }
}

/// `KEYS_TABLE` through the SDK's environment.
async fn key_store(
    table: String,
) -> Result<tokengate_shared::store::dynamodb::DynamoKeyStore, CliError> {
    let client = tokengate_shared::store::dynamodb::client_from_env().await?;
    Ok(tokengate_shared::store::dynamodb::DynamoKeyStore::new(
        client, table,
    ))
}

/// `PLANS_TABLE` and `USAGE_TABLE` through the SDK's environment, and API Gateway's usage
/// plans.
struct PlanTables {
    plans: tokengate_shared::plan::dynamodb::DynamoPlanStore,
    usage: tokengate_shared::plan::dynamodb::DynamoUsageStore,
    gateway: usage_plans::ApiGatewayUsagePlans,
}

impl PlanTables {
    async fn from_env(plans: &str, usage: &str) -> Result<Self, CliError> {
        use tokengate_shared::plan::dynamodb::{DynamoPlanStore, DynamoUsageStore};
        let client = tokengate_shared::store::dynamodb::client_from_env().await?;
        Ok(Self {
            plans: DynamoPlanStore::new(client.clone(), plans),
            usage: DynamoUsageStore::new(client, usage),
            gateway: usage_plans::ApiGatewayUsagePlans::default(),
        })
    }

    fn stores(&self) -> plans::PlanStores<'_> {
        plans::PlanStores {
            plans: &self.plans,
            usage: &self.usage,
            gateway: &self.gateway,
        }
    }
}

/// Runs one command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    use tokengate_shared::store::dynamodb::client_from_env;
    match cli.command {
        Command::Tables(command) => {
            let client = client_from_env().await?;
            let names = tables::TableNames {
                keys: &cli.keys_table,
                tokens: &cli.tokens_table,
                signing_keys: &cli.signing_keys_table,
                plans: &cli.plans_table,
                usage: &cli.usage_table,
            };
            tables::run(command, &client, names, cli.json).await
        }
        Command::Keys(command) => {
            let store = key_store(cli.keys_table).await?;
            let plans = PlanTables::from_env(&cli.plans_table, &cli.usage_table).await?;
            keys::run(command, &store, &plans.stores(), cli.json).await
        }
        Command::Plans(command) => {
            let store = key_store(cli.keys_table).await?;
            let plans = PlanTables::from_env(&cli.plans_table, &cli.usage_table).await?;
            plans::run(command, &plans.stores(), &store, cli.json).await
        }
        Command::Tokens(command) => {
            let store = key_store(cli.keys_table).await?;
            tokens::run(command, &store, cli.json).await
        }
        Command::SigningKeys(command) => {
            let client = client_from_env().await?;
            let store = tokengate_shared::signing::DynamoSigningKeyStore::new(
                client,
                cli.signing_keys_table,
            );
            signing_keys::run(command, &store, cli.json).await
        }
        Command::Config(command) => config::run(command, cli.json),
        Command::Api(command) => api::run(command),
        Command::Cost(options) => cost::run(&options, cli.json),
        Command::Serve(options) => {
            let plan_tables = (cli.plans_table, cli.usage_table);
            serve::serve(options, cli.keys_table, cli.tokens_table, plan_tables).await
        }
    }
}
