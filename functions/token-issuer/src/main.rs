//! The token-issuer Lambda function: settings and stores read once at cold start, then
//! `lambda_http`'s loop over [`token_issuer::handler::handle`].

use std::process::ExitCode;
use std::sync::Arc;

use lambda_http::{Error, Request, RequestExt, service_fn};
use token_issuer::service::TokenLimits;
use token_issuer::{TokenIssuerSettings, TokenService, handler};
use tokengate_shared::plan::dynamodb::{DynamoPlanStore, DynamoUsageStore};
use tokengate_shared::signing::kms::Kms;
use tokengate_shared::signing::{DynamoSigningKeyStore, Keyring};
use tokengate_shared::startup;
use tokengate_shared::store::dynamodb::{self, DynamoKeyStore, DynamoTokenStore, StoreLimits};

// Lambda hands a function one event at a time: one thread runs it, with no worker
// threads to start at init nor their memory to keep.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    startup::init_logging();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => startup::failed("token-issuer", &*e).await,
    }
}

async fn run() -> Result<(), Error> {
    let metrics = startup::metrics("token-issuer")?;
    token_issuer::metrics::describe();
    let settings = TokenIssuerSettings::from_env()?;
    let limits = StoreLimits::from_env()?;
    let client = dynamodb::lambda_client(&limits)?;
    let keys = Arc::new(DynamoKeyStore::new(client.clone(), settings.keys_table));
    if limits.warm_up {
        keys.warm_up().await;
    }
    // Nothing is read or decrypted here: the keys are read at the first JWT or JWKS.
    let keyring = match &settings.signing_keys_table {
        Some(table) => {
            let store = DynamoSigningKeyStore::new(client.clone(), table);
            let kms = Kms::lambda_client(&limits, |name| std::env::var(name).ok())?;
            let refresh = settings.signing_keys_refresh_seconds;
            Some(Arc::new(Keyring::new(Arc::new(store), Some(kms), refresh)))
        }
        None => None,
    };
    let service = TokenService::new(
        keys,
        Arc::new(DynamoTokenStore::new(client.clone(), settings.tokens_table)),
        settings.ttl_seconds,
    )
    .with_throttle(settings.throttle)
    .with_issuer(settings.issuer)
    .with_scopes_supported(settings.scopes_supported)
    .with_tokens(settings.format, keyring)
    .with_token_limits(settings.plan_tables.map(|(plans, usage)| {
        TokenLimits::new(
            Arc::new(DynamoPlanStore::new(client.clone(), plans)),
            Arc::new(DynamoUsageStore::new(client.clone(), usage)),
        )
    }));
    let handler = service_fn(|request: Request| {
        let request_id = request
            .lambda_context_ref()
            .map(|context| context.request_id.clone())
            .unwrap_or_default();
        let service = &service;
        async move { startup::measured(metrics, &request_id, handler::handle(service, request)).await }
    });
    lambda_http::run(handler).await
}
