//! The cache-flusher Lambda function: settings and the API Gateway client built once at
//! cold start, then the runtime's loop over [`cache_flusher::handler::handle`].

use std::process::ExitCode;

use aws_lambda_events::event::dynamodb::Event;
use cache_flusher::flusher::ApiGatewayFlusher;
use cache_flusher::handler;
use cache_flusher::stages::parse_stages;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tokengate_shared::startup;
use tokengate_shared::store::dynamodb::StoreLimits;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    startup::init_logging();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => startup::failed("cache-flusher", &*e).await,
    }
}

async fn run() -> Result<(), Error> {
    let metrics = startup::metrics("cache-flusher")?;
    cache_flusher::describe_metrics();
    let env = |name: &str| std::env::var(name).ok();
    let stages = parse_stages(env("FLUSH_STAGES").as_deref())?;
    let flusher = ApiGatewayFlusher::lambda_client(&StoreLimits::from_env()?, env)?;
    let (flusher, stages) = (&flusher, &stages);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| async move {
        let request_id = event.context.request_id.clone();
        let handled = handler::handle(flusher, stages, &event.payload);
        startup::measured(metrics, &request_id, handled)
            .await
            .map_err(Error::from)
    }))
    .await
}
