//! The authorizer Lambda function: settings, stores and the authorizer built once at cold
//! start, then the runtime's loop over [`authorizer::handler::handle`].

use std::process::ExitCode;
use std::sync::Arc;

use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::metering::Metering;
use authorizer::settings::AuthorizerSettings;
use authorizer::{Authorizer, handler};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tokengate_shared::plan::dynamodb::{DynamoPlanStore, DynamoUsageStore};
use tokengate_shared::store::dynamodb::{self, DynamoKeyStore, DynamoTokenLookup, StoreLimits};
use tokengate_shared::{NoKeyStore, startup};
use tracing::{error, warn};

// Lambda hands a function one event at a time: one thread runs it, with no worker
// threads to start at init nor their memory to keep.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    startup::init_logging();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => startup::failed("authorizer", &*e).await,
    }
}

async fn run() -> Result<(), Error> {
    let metrics = startup::metrics("authorizer")?;
    authorizer::metrics::describe();
    let settings = AuthorizerSettings::from_env()?;
    match &settings.pre_inputs {
        // Logged once; every request is then denied with the named configuration error.
        Err(invalid) => {
            error!(reason = "config_invalid", problems = invalid.problems.len(), detail = %invalid)
        }
        Ok(valid) => {
            for warning in &valid.warnings {
                warn!(reason = "config_weakened", detail = %warning);
            }
        }
    }
    let endpoint = Arc::new(HttpValidationEndpoint::new(
        settings.pre_inputs.as_ref().ok(),
    )?);
    // Read, and refused when wrong, whether or not a store is built.
    let limits = StoreLimits::from_env()?;
    let (authorizer, keys) = if settings.needs_store() {
        with_store(settings, &limits, endpoint)?
    } else {
        // No decision reads DynamoDB: no SDK client is built, and none of its work runs.
        let keys = Arc::new(NoKeyStore);
        (Authorizer::new(settings.pre_inputs, keys, endpoint), None)
    };
    tokio::join!(authorizer.warm_up(), async {
        if let Some(keys) = keys {
            keys.warm_up().await;
        }
    });
    let handler = service_fn(|event: LambdaEvent<_>| {
        let request_id = event.context.request_id.clone();
        let authorizer = &authorizer;
        async move { startup::measured(metrics, &request_id, handler::handle(authorizer, event)).await }
    });
    lambda_runtime::run(handler).await
}

/// The authorizer over DynamoDB, with the key store to warm up when `DYNAMODB_WARM_UP` asks.
fn with_store(
    settings: AuthorizerSettings,
    limits: &StoreLimits,
    endpoint: Arc<HttpValidationEndpoint>,
) -> Result<(Authorizer, Option<Arc<DynamoKeyStore>>), Error> {
    let client = dynamodb::lambda_client(limits)?;
    let keys = Arc::new(DynamoKeyStore::new(client.clone(), &settings.keys_table));
    let eventually = settings.eventually_consistent_reads();
    let mut authorizer = Authorizer::new(settings.pre_inputs, keys.clone(), endpoint);
    if let Some(metering) = settings.metering {
        let plans = DynamoPlanStore::new(client.clone(), metering.plans_table);
        let usage = DynamoUsageStore::new(client.clone(), metering.usage_table);
        let metering = Metering::new(Arc::new(plans), Arc::new(usage), metering.flush);
        authorizer = authorizer.with_metering(metering);
    }
    if let Some(tokens_table) = settings.tokens_table {
        let lookup = DynamoTokenLookup::new(client, settings.keys_table, tokens_table)
            .eventually_consistent(eventually);
        authorizer = authorizer.with_token_lookup(Arc::new(lookup));
    }
    Ok((authorizer, limits.warm_up.then_some(keys)))
}
