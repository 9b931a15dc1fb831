//! The signing-keys-rotator Lambda function: EventBridge Scheduler invokes it every
//! rotation period, and it rotates the JWT signing keys once. The event's content is not
//! read.

use std::process::ExitCode;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use token_issuer::rotator::{RotatorSettings, rotate_now};
use tokengate_shared::signing::DynamoSigningKeyStore;
use tokengate_shared::signing::kms::Kms;
use tokengate_shared::store::dynamodb::{self, StoreLimits};
use tokengate_shared::{clock, startup};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    startup::init_logging();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => startup::failed("signing-keys-rotator", &*e).await,
    }
}

async fn run() -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).ok();
    let settings = RotatorSettings::from_lookup(env)?;
    let limits = StoreLimits::from_env()?;
    let store = DynamoSigningKeyStore::new(dynamodb::lambda_client(&limits)?, &settings.table);
    let maker = settings.maker(Kms::lambda_client(&limits, env)?);
    let (store, maker, settings) = (&store, &maker, &settings);
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async move {
        let rotated = rotate_now(store, maker, settings, clock::now_epoch_seconds()).await;
        // The error's message, never key material, is what Scheduler's retry log shows.
        rotated.map_err(|e| Error::from(e.to_string()))
    }))
    .await
}
