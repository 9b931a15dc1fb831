//! The one API Gateway call: `FlushStageAuthorizersCache` (`DELETE
//! /restapis/{id}/stages/{stage}/cache/authorizers`), behind a trait so that the handler is
//! tested without the SDK.

use async_trait::async_trait;
use aws_sdk_apigateway::Client;
use tokengate_shared::store::dynamodb::StoreLimits;
use tokengate_shared::store::dynamodb::{
    InvalidStoreLimit, endpoint_override, lambda_region, sdk_http_client,
};

use crate::error::FlusherError;
use crate::stages::Stage;

/// Flushes one stage's authorizer cache.
#[async_trait]
pub trait StageFlusher: Send + Sync {
    /// Empties `stage`'s authorizer cache: its next request of each caller is decided anew.
    async fn flush(&self, stage: &Stage) -> Result<(), FlusherError>;
}

/// [`StageFlusher`] through the AWS SDK.
#[derive(Debug, Clone)]
pub struct ApiGatewayFlusher {
    client: Client,
}

impl ApiGatewayFlusher {
    /// A client as the functions' DynamoDB one is made: the environment's credentials and
    /// region, `AWS_ENDPOINT_URL_API_GATEWAY` or `AWS_ENDPOINT_URL`, within `limits`.
    pub fn lambda_client(
        limits: &StoreLimits,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, FlusherError> {
        let problem = |e: InvalidStoreLimit| FlusherError::Client(e.to_string());
        let region = lambda_region(&lookup).map_err(problem)?;
        let mut config = aws_sdk_apigateway::Config::builder()
            .behavior_version(aws_sdk_apigateway::config::BehaviorVersion::latest())
            .region(aws_sdk_apigateway::config::Region::new(region))
            .credentials_provider(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            )
            .http_client(sdk_http_client(limits).map_err(problem)?)
            .timeout_config(limits.timeout_config())
            .retry_config(limits.retry_config());
        if let Some(endpoint) = endpoint_override(&lookup, "AWS_ENDPOINT_URL_API_GATEWAY") {
            config = config.endpoint_url(endpoint);
        }
        Ok(Self {
            client: Client::from_conf(config.build()),
        })
    }
}

#[async_trait]
impl StageFlusher for ApiGatewayFlusher {
    async fn flush(&self, stage: &Stage) -> Result<(), FlusherError> {
        self.client
            .flush_stage_authorizers_cache()
            .rest_api_id(&stage.rest_api_id)
            .stage_name(&stage.stage_name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| FlusherError::Flush {
                stage: stage.to_string(),
                detail: aws_sdk_apigateway::error::DisplayErrorContext(&e).to_string(),
            })
    }
}
