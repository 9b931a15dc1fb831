//! `tokengate keys …`

use std::collections::BTreeSet;

use clap::Subcommand;
use serde_json::{Value, json};
use tokengate_shared::grants::MAX_PER_KEY;
use tokengate_shared::{
    Audience, ClientKey, Grants, KeyAdmin, KeyId, KeyStatus, Scope, Secret, SecretHash, SystemCode,
    TokenFormat, clock,
};

use crate::CliError;
use crate::output::{key_json, key_text, print_json};
use crate::plans::{PlanStores, existing, usage_json, usage_text};
use tokengate_shared::plan::PlanName;

/// Client key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its secret, once.
    Create {
        /// An X-From-Code the key may request tokens for at INN-Reach's path (five letters
        /// or digits); repeat for more. A key without codes is an ordinary OAuth client.
        #[arg(long = "code", value_parser = parse_code)]
        codes: Vec<SystemCode>,
        /// A note for operators.
        #[arg(long)]
        description: Option<String>,
        /// What the key may be granted.
        #[command(flatten)]
        grants: GrantArgs,
    },
    /// Replace what a key may be granted: the options given replace those values, the
    /// others stay. Tokens already issued keep what they were granted.
    Update {
        /// The key id.
        #[arg(value_parser = parse_key_id)]
        key: KeyId,
        /// What the key may be granted.
        #[command(flatten)]
        grants: GrantArgs,
        /// Remove every audience: the key's tokens have none.
        #[arg(long, conflicts_with = "audiences")]
        clear_audiences: bool,
        /// Take the key off its plan: nothing it does is counted.
        #[arg(long, conflicts_with = "plan")]
        clear_plan: bool,
    },
    /// List every key (never secrets).
    List,
    /// Show one key.
    Show {
        /// The key id.
        #[arg(value_parser = parse_key_id)]
        key: KeyId,
    },
    /// Stop a key from authenticating; its tokens stop introspecting as active.
    Disable {
        /// The key id.
        #[arg(value_parser = parse_key_id)]
        key: KeyId,
    },
    /// Let a disabled key authenticate again. Its issued tokens that have not expired
    /// and were not revoked are valid again with it: the command says so.
    Enable {
        /// The key id.
        #[arg(value_parser = parse_key_id)]
        key: KeyId,
    },
    /// Give a key a new secret and print it, once; the old secret stops working, and so do
    /// the tokens issued with it (a rotation is what a leaked secret calls for).
    Rotate {
        /// The key id.
        #[arg(value_parser = parse_key_id)]
        key: KeyId,
        /// Leave the tokens issued so far valid until they expire.
        #[arg(long)]
        keep_tokens: bool,
    },
    /// Delete a key for good.
    Delete {
        /// The key id.
        #[arg(value_parser = parse_key_id)]
        key: KeyId,
    },
}

/// What a key may be granted, as options.
#[derive(Debug, Clone, clap::Args)]
pub struct GrantArgs {
    /// A scope the key holds (an RFC 6749 scope token, such as `orders.read` or
    /// `https://api.example.com/orders.read`); repeat for more. None: `innreach_tp` alone.
    #[arg(long = "scope", value_parser = parse_scope)]
    scopes: Vec<Scope>,
    /// An audience the key's tokens may be for (an absolute URI, RFC 8707); repeat for more.
    #[arg(long = "audience", value_parser = parse_audience)]
    audiences: Vec<Audience>,
    /// The key's tokens' lifetime in seconds (1 to 86400), instead of TOKEN_TTL_SECONDS.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    token_ttl: Option<u64>,
    /// The key's tokens' format, instead of TOKEN_FORMAT: `opaque` (32 hex characters) or
    /// `jwt` (RFC 9068, signed by the current signing key).
    #[arg(long, value_parser = parse_format)]
    token_format: Option<TokenFormat>,
    /// The plan the key's requests and tokens are counted against (`tokengate plans
    /// create`).
    #[arg(long, value_parser = parse_plan)]
    plan: Option<PlanName>,
}

impl GrantArgs {
    /// The grants these options make of `current`: what they name replaces what it was.
    fn applied_to(self, current: &Grants, clear_audiences: bool) -> Result<Grants, CliError> {
        for (name, count) in [
            ("--scope", self.scopes.len()),
            ("--audience", self.audiences.len()),
        ] {
            if count > MAX_PER_KEY {
                return Err(CliError::Usage(format!(
                    "{name} is given at most {MAX_PER_KEY} times for one key"
                )));
            }
        }
        let mut grants = current.clone();
        if !self.scopes.is_empty() {
            grants.scopes = self.scopes.into_iter().collect();
        }
        if !self.audiences.is_empty() || clear_audiences {
            grants.audiences = self.audiences.into_iter().collect();
        }
        if self.token_ttl.is_some() {
            grants.token_ttl = self.token_ttl;
        }
        if self.token_format.is_some() {
            grants.token_format = self.token_format;
        }
        if self.plan.is_some() {
            grants.plan = self.plan;
        }
        Ok(grants)
    }
}

fn parse_scope(value: &str) -> Result<Scope, String> {
    Scope::parse(value).map_err(|e| e.to_string())
}

fn parse_plan(value: &str) -> Result<PlanName, String> {
    PlanName::parse(value).map_err(|e| e.to_string())
}

fn parse_format(value: &str) -> Result<TokenFormat, String> {
    TokenFormat::parse(value).map_err(|e| e.to_string())
}

fn parse_audience(value: &str) -> Result<Audience, String> {
    Audience::parse(value).map_err(|e| e.to_string())
}

fn parse_code(value: &str) -> Result<SystemCode, String> {
    SystemCode::parse(value).map_err(|e| e.to_string())
}

fn parse_key_id(value: &str) -> Result<KeyId, String> {
    KeyId::parse(value).map_err(|e| e.to_string())
}

const SECRET_NOTE: &str =
    "Store the secret now: it is shown only this once, and tokengate keeps only its hash.";

/// Runs a key command against `store`.
pub async fn run(
    command: KeysCommand,
    store: &dyn KeyAdmin,
    plans: &PlanStores<'_>,
    json: bool,
) -> Result<(), CliError> {
    let now = clock::now_epoch_seconds();
    match command {
        KeysCommand::Create {
            codes,
            description,
            grants,
        } => create(store, plans, codes, description, grants, now, json).await?,
        KeysCommand::Update {
            key,
            grants,
            clear_audiences,
            clear_plan,
        } => {
            let clear = Clear {
                audiences: clear_audiences,
                plan: clear_plan,
            };
            update(store, plans, &key, grants, clear, now, json).await?;
        }
        KeysCommand::List => {
            let keys = store.list().await?;
            if json {
                print_json(&Value::Array(keys.iter().map(key_json).collect()));
            } else if keys.is_empty() {
                println!(
                    "no keys; create one with `tokengate keys create --scope SCOPE` (or `--code CODE` for INN-Reach)"
                );
            } else {
                for key in &keys {
                    let codes: Vec<&str> = key.codes.iter().map(|c| c.as_str()).collect();
                    println!(
                        "{}  {:<8}  {}  {}",
                        key.id,
                        key.status.as_str(),
                        codes.join(","),
                        key.description.as_deref().unwrap_or("")
                    );
                }
            }
        }
        KeysCommand::Show { key } => show(store, plans, &key, json).await?,
        KeysCommand::Disable { key } => {
            print_key(
                &store.set_status(&key, KeyStatus::Disabled, now).await?,
                json,
            );
        }
        KeysCommand::Enable { key } => enable(store, &key, now, json).await?,
        KeysCommand::Rotate { key, keep_tokens } => {
            rotate(store, &key, keep_tokens, now, json).await?;
        }
        KeysCommand::Delete { key } => {
            store.delete(&key).await?;
            if json {
                print_json(&json!({"key": key.as_str(), "deleted": true}));
            } else {
                println!("deleted key {key}");
            }
        }
    }
    Ok(())
}

/// A key, with its usage in its plan's windows.
async fn show(
    store: &dyn KeyAdmin,
    plans: &PlanStores<'_>,
    key: &KeyId,
    json: bool,
) -> Result<(), CliError> {
    let found = store.get(key).await?.ok_or_else(|| {
        CliError::Store(tokengate_shared::StoreError::NotFound {
            what: "key",
            id: key.to_string(),
        })
    })?;
    let usage = usage_json(plans, &found).await?;
    if json {
        let mut value = key_json(&found);
        value["usage"] = usage.unwrap_or(Value::Null);
        print_json(&value);
    } else {
        let usage = usage.as_ref().map(usage_text).unwrap_or_default();
        println!("{}{usage}", key_text(&found));
    }
    Ok(())
}

/// A new key, with what it may be granted, and its secret printed once.
async fn create(
    store: &dyn KeyAdmin,
    plans: &PlanStores<'_>,
    codes: Vec<SystemCode>,
    description: Option<String>,
    grants: GrantArgs,
    now: u64,
    json: bool,
) -> Result<(), CliError> {
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > ClientKey::MAX_DESCRIPTION_LEN)
    {
        return Err(CliError::Usage(format!(
            "--description is at most {} characters",
            ClientKey::MAX_DESCRIPTION_LEN
        )));
    }
    let codes: BTreeSet<SystemCode> = codes.into_iter().collect();
    let (mut key, secret) = ClientKey::generate(codes, description, now);
    key.grants = grants.applied_to(&Grants::default(), false)?.into();
    let to = plan_link(plans, key.grants.plan.as_ref()).await?;
    plans.gateway.register(&key.id, None, to.as_ref()).await?;
    store.create(&key).await?;
    print_with_secret(&key, &secret, json);
    Ok(())
}

/// A key's grants, with what the options name replaced.
/// What `keys update` empties.
struct Clear {
    audiences: bool,
    plan: bool,
}

async fn update(
    store: &dyn KeyAdmin,
    plans: &PlanStores<'_>,
    key: &KeyId,
    grants: GrantArgs,
    clear: Clear,
    now: u64,
    json: bool,
) -> Result<(), CliError> {
    let current = store.get(key).await?.ok_or_else(|| {
        CliError::Store(tokengate_shared::StoreError::NotFound {
            what: "key",
            id: key.to_string(),
        })
    })?;
    let mut grants = grants.applied_to(&current.grants, clear.audiences)?;
    if clear.plan {
        grants.plan = None;
    }
    if grants.plan != current.grants.plan {
        // A plan deleted meanwhile has no usage plan left to leave.
        let from = match &current.grants.plan {
            Some(name) => plans.plans.get(name).await?.and_then(|p| p.api_gateway),
            None => None,
        };
        let to = plan_link(plans, grants.plan.as_ref()).await?;
        plans
            .gateway
            .register(key, from.as_ref(), to.as_ref())
            .await?;
    }
    print_key(&store.set_grants(key, &grants, now).await?, json);
    Ok(())
}

/// The usage plan of the plan named, which must exist.
async fn plan_link(
    plans: &PlanStores<'_>,
    name: Option<&PlanName>,
) -> Result<Option<tokengate_shared::plan::UsagePlanLink>, CliError> {
    match name {
        Some(name) => Ok(existing(plans.plans, name).await?.api_gateway),
        None => Ok(None),
    }
}

/// Enables a key, and says that its live tokens are valid again with it.
async fn enable(store: &dyn KeyAdmin, key: &KeyId, now: u64, json: bool) -> Result<(), CliError> {
    let enabled = store.set_status(key, KeyStatus::Active, now).await?;
    if json {
        let mut value = key_json(&enabled);
        value["issued_tokens_valid_again"] = Value::Bool(true);
        print_json(&value);
    } else {
        println!(
            "{}\n\nnote: tokens issued to this key that have not expired and were not revoked are valid again; end them with `tokengate tokens revoke --key {key}`",
            key_text(&enabled)
        );
    }
    Ok(())
}

/// A new secret, and the tokens issued with the old one revoked unless `keep_tokens`.
async fn rotate(
    store: &dyn KeyAdmin,
    key: &KeyId,
    keep_tokens: bool,
    now: u64,
    json: bool,
) -> Result<(), CliError> {
    let secret = Secret::generate();
    let mut updated = store.set_secret(key, &SecretHash::of(&secret), now).await?;
    if !keep_tokens {
        updated = store.revoke_tokens(key, now).await?;
    }
    if json {
        let mut value = key_json(&updated);
        value["secret"] = Value::String(secret.expose().to_owned());
        value["tokens_revoked"] = Value::Bool(!keep_tokens);
        print_json(&value);
    } else {
        print_with_secret(&updated, &secret, false);
        if keep_tokens {
            println!(
                "note: --keep-tokens: tokens issued with the old secret stay valid until they expire."
            );
        } else {
            println!("Tokens issued with the old secret are revoked (--keep-tokens keeps them).");
        }
    }
    Ok(())
}

fn print_key(key: &ClientKey, json: bool) {
    if json {
        print_json(&key_json(key));
    } else {
        println!("{}", key_text(key));
    }
}

fn print_with_secret(key: &ClientKey, secret: &Secret, json: bool) {
    if json {
        let mut value = key_json(key);
        value["secret"] = Value::String(secret.expose().to_owned());
        print_json(&value);
    } else {
        println!(
            "{}\nsecret:      {}\n\n{SECRET_NOTE}",
            key_text(key),
            secret.expose()
        );
    }
}
