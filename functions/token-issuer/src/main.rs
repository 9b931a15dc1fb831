use std::process::ExitCode;
use std::sync::Arc;

use lambda_http::{Error, service_fn};
use token_issuer::{TokenIssuerConfig, TokenService, handler};
use tokengate_shared::startup;
use tokengate_shared::store::dynamodb::{self, DynamoKeyStore, DynamoTokenStore};

#[tokio::main]
async fn main() -> ExitCode {
    lambda_http::tracing::init_default_subscriber();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => startup::failed("token-issuer", &*e).await,
    }
}

async fn run() -> Result<(), Error> {
    let metrics = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace("tokengate")
        .with_dimension("FunctionName", function_name())
        .lambda_cold_start_metric("ColdStart")
        .with_lambda_request_id("RequestId")
        .init()?;
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

/// The metrics' one fixed dimension: Lambda's name for this function, so that two stacks'
/// metrics stay apart.
fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "token-issuer".into())
}
