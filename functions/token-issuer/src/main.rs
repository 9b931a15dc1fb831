use std::sync::Arc;

use lambda_http::{Error, service_fn};
use token_issuer::{TokenIssuerConfig, TokenService, handler};
use tokengate_shared::store::dynamodb::{self, DynamoKeyStore, DynamoTokenStore};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = TokenIssuerConfig::from_env()?;
    let client = dynamodb::lambda_client()?;
    let service = TokenService::new(
        Arc::new(DynamoKeyStore::new(client.clone(), config.keys_table)),
        Arc::new(DynamoTokenStore::new(client, config.tokens_table)),
        config.ttl_seconds,
    )
    .with_throttle(config.throttle)
    .with_issuer(config.issuer);
    lambda_http::run(service_fn(|request| handler::handle(&service, request))).await
}
