use std::sync::Arc;

use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::settings::AuthorizerSettings;
use authorizer::{Authorizer, handler};
use lambda_runtime::{Error, service_fn};
use tokengate_shared::store::dynamodb::{self, DynamoKeyStore};
use tracing::error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = AuthorizerSettings::from_env()?;
    if let Err(invalid) = &settings.pre_inputs {
        // Logged once; every request is then denied with the named configuration error.
        error!(reason = "config_invalid", problems = invalid.problems.len(), detail = %invalid);
    }
    let endpoint = HttpValidationEndpoint::new(settings.pre_inputs.as_ref().ok())?;
    let keys = DynamoKeyStore::new(dynamodb::client_from_env().await?, settings.keys_table);
    let authorizer = Authorizer::new(settings.pre_inputs, Arc::new(keys), Arc::new(endpoint));
    authorizer.warm_up().await;
    lambda_runtime::run(service_fn(|event| handler::handle(&authorizer, event))).await
}
