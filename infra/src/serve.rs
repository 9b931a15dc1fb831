//! `tokengate serve`: the whole stack on one port, the way API Gateway runs it.
//!
//! Token routes go to token-issuer's handler; every other request goes through the
//! authorizer's handler first, as an API Gateway REQUEST authorizer event, and on Allow on
//! to the upstream with the injected headers (and without `Authorization` when the
//! pre-inputs block it). Both handlers are the functions' own code: this module only
//! adapts HTTP to their events and back.

use std::path::PathBuf;
use std::sync::Arc;

use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::metering::Metering;
use authorizer::{Authorizer, PreInputs};
use serde_json::{Value, json};
use token_issuer::TokenService;
use token_issuer::service::TokenLimits;
use tokengate_shared::plan::dynamodb::{DynamoPlanStore, DynamoUsageStore};
use tokengate_shared::plan::{
    FlushPolicy, MemoryPlanStore, MemoryUsageStore, PlanStore, UsageStore,
};
use tokengate_shared::store::dynamodb::{DynamoKeyStore, DynamoTokenLookup, DynamoTokenStore};
use tokengate_shared::store::memory::{MemoryKeyStore, MemoryTokenStore};
use tokengate_shared::{
    ClientKey, IssuerTokens, KeyAdmin, KeyReader, KeyStatus, ReadEach, Scope, Secret, SystemCode,
    TokenLookup, clock,
};

use crate::CliError;

mod authorizer_cache;
mod banner;
mod bare_errors;
mod gateway;
mod listeners;
mod upstream;

use authorizer_cache::AuthorizerCache;
use banner::{print_walkthrough, print_without_demo_key};
use gateway::{App, route};
use listeners::{accept_loop, listen, stopped};

/// Where `serve` keeps keys and tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// In this process, gone when it stops.
    Memory,
    /// DynamoDB through the SDK's environment (`AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB
    /// Local or moto), in `KEYS_TABLE` and `TOKENS_TABLE`.
    Dynamodb,
}

/// `tokengate serve`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeOptions {
    /// The port to listen on, on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Pre-inputs for the authorizer (JSON). By default, the tokengate style: this server's
    /// own tokens, read from its store.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where keys and tokens live.
    #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
    pub store: StoreKind,
    /// The backend to forward authorized requests to (an http or https URL); by default a
    /// built-in echo that answers with the method, path and headers it received.
    #[arg(long, value_parser = upstream_url)]
    pub upstream: Option<reqwest::Url>,
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open (slowloris protection).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: std::time::Duration,
    /// How long the upstream may take to answer; then 504, as API Gateway's 29 s
    /// integration timeout answers.
    #[arg(long, default_value = "29s", value_parser = humantime::parse_duration)]
    pub upstream_timeout: std::time::Duration,
    /// The admin port on 127.0.0.1: `GET /health` and `GET /metrics` (Prometheus text);
    /// 0 picks a free one.
    #[arg(long, default_value_t = 3001)]
    pub admin_port: u16,
    /// Create a demo key for the walkthrough in a DynamoDB store, disabled again when the
    /// server stops. The memory store always has one: it goes with the process.
    #[arg(long)]
    pub demo_key: bool,
    /// Emulate API Gateway's authorizer cache for this many seconds (1–3600): answers kept by
    /// the identity sources `tokengate api render` renders, reused for every route, the
    /// cached policy evaluated against each request. Off by default, as in the template.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub authorizer_cache_ttl: Option<u64>,
}

/// `--upstream`: an absolute http or https URL with a host. `localhost:8080` parses as a URL
/// of scheme `localhost`, and would make every allowed request a 502: refused at start.
fn upstream_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "must be an http or https URL with a host, such as http://{text}"
        ));
    }
    Ok(url)
}

/// The demo key's scopes.
pub const DEMO_SCOPES: [&str; 3] = ["innreach_tp", "orders.read", "orders.write"];

/// The built-in pre-inputs: the `tokengate` style, which reads this server's own tokens
/// from its store, with no HTTP hop. Every route needs `innreach_tp`; reading orders needs
/// `orders.read` too, and writing them `orders.write`.
pub fn default_pre_inputs() -> Value {
    json!({
        "validation": {
            "style": "tokengate",
            "required_scopes": ["innreach_tp"]
        },
        "inject_headers": {
            "X-Client-Id": "$.client_id",
            "X-From-Code": "$.from_code",
            "X-To-Code": "$.to_code",
            "X-Token-Expires": "$.exp"
        },
        "block_authorization_header": true,
        "routes": [
            {"method": "GET", "path": "/orders/{id}", "scopes": ["orders.read"]},
            {"method": "POST", "path": "/orders", "scopes": ["orders.write"]}
        ],
        "unmatched_routes": "allow"
    })
}

/// Runs the server until the process is stopped.
pub async fn serve(
    options: ServeOptions,
    keys_table: String,
    tokens_table: String,
    plan_tables: (String, String),
) -> Result<(), CliError> {
    init_log();
    let metrics = crate::admin::install_recorder()?;
    let (keys, tokens, lookup) = open_stores(options.store, keys_table, tokens_table).await?;
    let pre_inputs = load_pre_inputs(&options)?;
    let demo = match (options.store, options.demo_key) {
        (StoreKind::Memory, _) | (StoreKind::Dynamodb, true) => {
            Some(create_demo_key(&*keys).await?)
        }
        (StoreKind::Dynamodb, false) => None,
    };

    let (listener, address) = listen(options.port, "--port").await?;
    let (admin_listener, admin_address) = listen(options.admin_port, "--admin-port").await?;
    let admin = crate::admin::router(crate::admin::Admin {
        metrics,
        keys: keys.clone(),
        store: match options.store {
            StoreKind::Memory => "memory",
            StoreKind::Dynamodb => "dynamodb",
        },
    });
    let context_keys = pre_inputs.all_injected_headers();
    let injectable = context_keys.keys().cloned().collect();
    let cache = options.authorizer_cache_ttl.map(|ttl| {
        AuthorizerCache::new(
            std::time::Duration::from_secs(ttl),
            crate::api::identity_headers(&pre_inputs),
        )
    });
    let endpoint = HttpValidationEndpoint::new(Some(&pre_inputs))
        .map_err(|e| CliError::Setup(format!("cannot build the HTTP client: {e}")))?;
    let (plans, usage) = plan_stores(options.store, plan_tables).await?;
    let (token_service, signing) = token_service(keys.clone(), tokens, address).await?;
    let token_service =
        token_service.with_token_limits(Some(TokenLimits::new(plans.clone(), usage.clone())));
    let authorizer =
        Authorizer::new(Ok(pre_inputs), keys.clone(), Arc::new(endpoint)).with_token_lookup(lookup);
    let authorizer = held_to_plans(authorizer, plans, usage);
    let app = Arc::new(App {
        tokens: token_service,
        authorizer,
        injectable,
        context_keys,
        cache,
        upstream: options.upstream.clone(),
        client: upstream_client(options.upstream_timeout)?,
    });

    match &demo {
        Some((key, secret)) => print_walkthrough(
            address,
            admin_address,
            key,
            secret,
            options.upstream.as_ref(),
            &signing,
        ),
        None => print_without_demo_key(address, admin_address, &signing),
    }
    let router = axum::Router::new().fallback(route).with_state(app);
    let served = tokio::select! {
        served = accept_loop(listener, router, options.header_timeout) => served,
        served = accept_loop(admin_listener, admin, options.header_timeout) => served,
        () = stopped() => Ok(()),
    };
    // A demo key in a lasting store must not outlive the server that printed its secret.
    if let (StoreKind::Dynamodb, Some((key, _))) = (options.store, &demo) {
        keys.set_status(&key.id, KeyStatus::Disabled, clock::now_epoch_seconds())
            .await?;
        eprintln!("tokengate serve: demo key {} disabled", key.id);
    }
    served
}

/// token-issuer's service as the environment configures it (`TOKEN_TTL_SECONDS`,
/// `TOKEN_FORMAT`, …), with a signing key of its own in memory: no KMS. The banner's line
/// about the tokens it issues.
async fn token_service(
    keys: Arc<dyn KeyAdmin>,
    tokens: Arc<dyn IssuerTokens>,
    address: std::net::SocketAddr,
) -> Result<(TokenService, String), CliError> {
    use token_issuer::settings;
    use tokengate_shared::signing::rotation::{KeyMaker, rotate};
    use tokengate_shared::signing::{Keyring, SigningAlg};
    let usage = |e: &dyn std::fmt::Display| CliError::Config(e.to_string());
    let env = |name: &str| std::env::var(name).ok();
    let format = settings::token_format(&env).map_err(|e| usage(&e))?;
    let alg = match env("SIGNING_ALGORITHM") {
        None => SigningAlg::Rs256,
        Some(name) => SigningAlg::parse(name.trim()).ok_or_else(|| {
            CliError::Config("SIGNING_ALGORITHM must be RS256, ES256 or EdDSA".into())
        })?,
    };
    let store = Arc::new(tokengate_shared::signing::MemorySigningKeyStore::default());
    let made = rotate(
        &*store,
        &KeyMaker::InMemory,
        alg,
        86_400,
        clock::now_epoch_seconds(),
    )
    .await
    .map_err(|e| CliError::Setup(e.to_string()))?;
    let kid = made
        .created
        .first()
        .map(|k| k.kid.clone())
        .unwrap_or_default();
    let signing = format!(
        "{} by default (TOKEN_FORMAT); JWTs signed by {alg} key {kid}, held in memory (no KMS)",
        format.as_str()
    );
    let service = TokenService::new(
        keys,
        tokens,
        settings::ttl_seconds(&env).map_err(|e| usage(&e))?,
    )
    .with_throttle(settings::Throttle::from_lookup(&env).map_err(|e| usage(&e))?)
    .with_issuer(
        settings::issuer_url(&env)
            .map_err(|e| usage(&e))?
            .or_else(|| Some(format!("http://{address}"))),
    )
    .with_scopes_supported(settings::scopes_supported(&env).map_err(|e| usage(&e))?)
    .with_tokens(format, Some(Arc::new(Keyring::new(store, None, 60))));
    Ok((service, signing))
}

type Stores = (
    Arc<dyn KeyAdmin>,
    Arc<dyn IssuerTokens>,
    Arc<dyn TokenLookup>,
);

/// The stores `kind` names; DynamoDB's keys table must answer a read first.
async fn open_stores(
    kind: StoreKind,
    keys_table: String,
    tokens_table: String,
) -> Result<Stores, CliError> {
    match kind {
        StoreKind::Memory => {
            let keys = Arc::new(MemoryKeyStore::new());
            let tokens = Arc::new(MemoryTokenStore::new());
            let lookup = Arc::new(ReadEach {
                keys: keys.clone(),
                tokens: tokens.clone(),
            });
            Ok((keys, tokens, lookup))
        }
        StoreKind::Dynamodb => {
            let client = tokengate_shared::store::dynamodb::client_from_env().await?;
            let keys = DynamoKeyStore::new(client.clone(), &keys_table);
            // The tables must answer before the server says it listens.
            let probe = tokengate_shared::KeyId::parse("tokengate-serve-probe")
                .map_err(|e| CliError::Setup(e.to_string()))?;
            keys.get(&probe).await?;
            Ok((
                Arc::new(keys),
                Arc::new(DynamoTokenStore::new(client.clone(), &tokens_table)),
                Arc::new(DynamoTokenLookup::new(client, keys_table, tokens_table)),
            ))
        }
    }
}

/// The authorizer counting requests against plans, when its pre-inputs say
/// `rate_limits: tokengate`. One process counts every request: counts are written at
/// once, and exact.
fn held_to_plans(
    authorizer: Authorizer,
    plans: Arc<dyn PlanStore>,
    usage: Arc<dyn UsageStore>,
) -> Authorizer {
    let counted = authorizer
        .pre_inputs()
        .is_some_and(|p| p.rate_limits == Some(authorizer::pre_inputs::RateLimits::Tokengate));
    if !counted {
        return authorizer;
    }
    let every_request = FlushPolicy {
        requests: 1,
        interval: std::time::Duration::ZERO,
    };
    authorizer.with_metering(Metering::new(plans, usage, every_request))
}

/// Plans and counts: `PLANS_TABLE` and `USAGE_TABLE` with `--store dynamodb`, memory (no
/// plans) otherwise.
async fn plan_stores(
    kind: StoreKind,
    (plans, usage): (String, String),
) -> Result<(Arc<dyn PlanStore>, Arc<dyn UsageStore>), CliError> {
    Ok(match kind {
        StoreKind::Memory => (
            Arc::new(MemoryPlanStore::default()),
            Arc::new(MemoryUsageStore::default()),
        ),
        StoreKind::Dynamodb => {
            let client = tokengate_shared::store::dynamodb::client_from_env().await?;
            (
                Arc::new(DynamoPlanStore::new(client.clone(), plans)),
                Arc::new(DynamoUsageStore::new(client, usage)),
            )
        }
    })
}

/// `--config`, or the built-in pre-inputs. Invalid ones stop serve before it listens, each
/// problem named: a server that denies every request, under a banner that says "Try it",
/// would mislead.
fn load_pre_inputs(options: &ServeOptions) -> Result<PreInputs, CliError> {
    let Some(path) = &options.config else {
        return PreInputs::parse(&default_pre_inputs().to_string()).map_err(|e| {
            CliError::PreInputs {
                file: "the built-in pre-inputs".into(),
                problems: e.problems,
            }
        });
    };
    let text = std::fs::read_to_string(path).map_err(CliError::io("read --config", path))?;
    PreInputs::parse(&text).map_err(|e| CliError::PreInputs {
        file: path.display().to_string(),
        problems: e.problems,
    })
}

/// The client that forwards to `--upstream`: no proxy, no redirects, within `timeout`.
fn upstream_client(timeout: std::time::Duration) -> Result<reqwest::Client, CliError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tokengate_shared::tls::client_config().map_err(CliError::Setup)?)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(std::time::Duration::from_secs(5)))
        .timeout(timeout)
        .build()
        .map_err(|e| CliError::Setup(format!("cannot build the HTTP client: {e}")))
}

/// A new demo key, valid for `d2ir1`, in the store.
async fn create_demo_key(keys: &dyn KeyAdmin) -> Result<(ClientKey, Secret), CliError> {
    let codes = [SystemCode::parse("d2ir1").map_err(|e| CliError::Setup(e.to_string()))?].into();
    let (mut key, secret) = ClientKey::generate(
        codes,
        Some("tokengate serve demo key".into()),
        clock::now_epoch_seconds(),
    );
    // INN-Reach's scope, which the built-in pre-inputs require, and two narrower ones the
    // walkthrough asks for to show a token without it refused.
    std::sync::Arc::make_mut(&mut key.grants).scopes = DEMO_SCOPES
        .iter()
        .map(|s| Scope::parse(s).map_err(|e| CliError::Setup(e.to_string())))
        .collect::<Result<_, _>>()?;
    keys.create(&key).await?;
    Ok((key, secret))
}

/// Log lines for a terminal: a timestamp each, filtered by `RUST_LOG` as the functions do
/// (`info` by default).
fn init_log() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let filter =
        tokengate_shared::startup::log_filter(None, std::env::var("RUST_LOG").ok().as_deref());
    let logs = tracing_subscriber::fmt()
        .with_target(false)
        .with_max_level(tracing::level_filters::LevelFilter::TRACE)
        .finish();
    let _ = tracing::subscriber::set_global_default(logs.with(filter));
}
