use std::process::ExitCode;
use std::sync::Arc;

use lambda_http::{Error, service_fn};
use token_issuer::{TokenIssuerConfig, TokenService, handler};
use tokengate_shared::startup;
use tokengate_shared::store::dynamodb::{self, DynamoKeyStore, DynamoTokenStore};

// Lambda hands a function one event at a time: one thread runs it, with no worker
// threads to start at init nor their memory to keep.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    lambda_http::tracing::init_default_subscriber();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => startup::failed("token-issuer", &*e).await,
    }
}

async fn run() -> Result<(), Error> {
    let metrics = startup::metrics("token-issuer")?;
    token_issuer::metrics::describe();
    let config = TokenIssuerConfig::from_env()?;
    let client = dynamodb::lambda_client()?;
    let keys = Arc::new(DynamoKeyStore::new(client.clone(), config.keys_table));
    keys.warm_up().await;
    let service = TokenService::new(
        keys,
        Arc::new(DynamoTokenStore::new(client, config.tokens_table)),
        config.ttl_seconds,
    )
    .with_throttle(config.throttle)
    .with_issuer(config.issuer);
    let handler = service_fn(|request| handler::handle(&service, request));
    metrics_cloudwatch_embedded::lambda::service::run_http(metrics, handler).await
}
