//! API Gateway's usage plans, mirroring tokengate's plans (`"rate_limits": "api_gateway"`):
//! a usage plan per plan on one stage, and an API key per client key in it, whose value is
//! derived from the key id ([`usage_identifier`]) and which the authorizer names as
//! `usageIdentifierKey`. The client never sees or sends it.

use async_trait::async_trait;
use aws_sdk_apigateway::Client;
use aws_sdk_apigateway::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_apigateway::types::{
    ApiStage, Op, PatchOperation, QuotaPeriodType, QuotaSettings, ThrottleSettings,
};
use tokengate_shared::KeyId;
use tokengate_shared::plan::{Period, Plan, UsagePlanLink, usage_identifier};
use tokio::sync::OnceCell;

use crate::CliError;

/// What the CLI does with API Gateway's usage plans.
#[async_trait]
pub trait UsagePlans: Send + Sync {
    /// Makes the usage plan for `plan` on `api_id`'s `stage`: its id.
    async fn create(&self, plan: &Plan, api_id: &str, stage: &str) -> Result<String, CliError>;
    /// Takes the usage plan off its stage and deletes it.
    async fn delete(&self, link: &UsagePlanLink) -> Result<(), CliError>;
    /// Moves `key`'s API key out of `from`'s usage plan and into `to`'s, making the API key
    /// the first time.
    async fn register(
        &self,
        key: &KeyId,
        from: Option<&UsagePlanLink>,
        to: Option<&UsagePlanLink>,
    ) -> Result<(), CliError>;
}

/// API Gateway through the SDK's environment (`AWS_ENDPOINT_URL_API_GATEWAY`, credentials,
/// region), made at the first call: most commands never need it.
#[derive(Debug, Default)]
pub struct ApiGatewayUsagePlans(OnceCell<Client>);

fn failed<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    what: &'static str,
) -> impl FnOnce(SdkError<E, R>) -> CliError {
    move |e| {
        CliError::Setup(format!(
            "API Gateway could not {what}: {}",
            DisplayErrorContext(&e)
        ))
    }
}

impl ApiGatewayUsagePlans {
    async fn client(&self) -> Result<&Client, CliError> {
        self.0
            .get_or_try_init(|| async {
                let limits = tokengate_shared::store::dynamodb::StoreLimits::from_env()?;
                let http = tokengate_shared::store::dynamodb::sdk_http_client(&limits)?;
                let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .http_client(http)
                    .load()
                    .await;
                Ok(Client::new(&config))
            })
            .await
    }

    /// The id of `key`'s API key, made if there is none.
    async fn api_key(&self, key: &KeyId) -> Result<String, CliError> {
        let client = self.client().await?;
        let name = format!("tokengate-{key}");
        let found = client
            .get_api_keys()
            .name_query(&name)
            .send()
            .await
            .map_err(failed("list API keys"))?;
        if let Some(id) = found
            .items()
            .iter()
            .find(|k| k.name() == Some(name.as_str()))
            .and_then(|k| k.id())
        {
            return Ok(id.to_owned());
        }
        let made = client
            .create_api_key()
            .name(&name)
            .description("tokengate client key: its usage plan's identifier (usageIdentifierKey)")
            .value(usage_identifier(key))
            .enabled(true)
            .send()
            .await
            .map_err(failed("create an API key"))?;
        made.id()
            .map(str::to_owned)
            .ok_or_else(|| CliError::Setup("API Gateway made an API key without an id".into()))
    }
}

#[async_trait]
impl UsagePlans for ApiGatewayUsagePlans {
    async fn create(&self, plan: &Plan, api_id: &str, stage: &str) -> Result<String, CliError> {
        let client = self.client().await?;
        let throttle = ThrottleSettings::builder()
            .rate_limit(plan.rate as f64)
            .burst_limit(i32::try_from(plan.burst).unwrap_or(i32::MAX))
            .build();
        let mut request = client
            .create_usage_plan()
            .name(format!("tokengate-{}", plan.name))
            .description(format!("tokengate plan {}", plan.name))
            .throttle(throttle)
            .api_stages(ApiStage::builder().api_id(api_id).stage(stage).build());
        if let Some(quota) = plan.quota {
            let period = match quota.period {
                Period::Month => QuotaPeriodType::Month,
                _ => QuotaPeriodType::Day,
            };
            request = request.quota(
                QuotaSettings::builder()
                    .limit(i32::try_from(quota.count).unwrap_or(i32::MAX))
                    .period(period)
                    .build(),
            );
        }
        let made = request
            .send()
            .await
            .map_err(failed("create the usage plan"))?;
        made.id()
            .map(str::to_owned)
            .ok_or_else(|| CliError::Setup("API Gateway made a usage plan without an id".into()))
    }

    async fn delete(&self, link: &UsagePlanLink) -> Result<(), CliError> {
        let client = self.client().await?;
        // A usage plan on a stage cannot be deleted: off the stage first.
        let off_stage = PatchOperation::builder()
            .op(Op::Remove)
            .path("/apiStages")
            .value(format!("{}:{}", link.api_id, link.stage))
            .build();
        client
            .update_usage_plan()
            .usage_plan_id(&link.usage_plan_id)
            .patch_operations(off_stage)
            .send()
            .await
            .map_err(failed("take the usage plan off its stage"))?;
        client
            .delete_usage_plan()
            .usage_plan_id(&link.usage_plan_id)
            .send()
            .await
            .map_err(failed("delete the usage plan"))?;
        Ok(())
    }

    async fn register(
        &self,
        key: &KeyId,
        from: Option<&UsagePlanLink>,
        to: Option<&UsagePlanLink>,
    ) -> Result<(), CliError> {
        if from.map(|l| &l.usage_plan_id) == to.map(|l| &l.usage_plan_id) {
            return Ok(());
        }
        let client = self.client().await?;
        let api_key = self.api_key(key).await?;
        if let Some(from) = from {
            let removed = client
                .delete_usage_plan_key()
                .usage_plan_id(&from.usage_plan_id)
                .key_id(&api_key)
                .send()
                .await;
            match removed {
                Ok(_) => {}
                Err(SdkError::ServiceError(e)) if e.err().code() == Some("NotFoundException") => {}
                Err(e) => return Err(failed("take the API key out of its usage plan")(e)),
            }
        }
        if let Some(to) = to {
            client
                .create_usage_plan_key()
                .usage_plan_id(&to.usage_plan_id)
                .key_id(&api_key)
                .key_type("API_KEY")
                .send()
                .await
                .map_err(failed("put the API key in the usage plan"))?;
        }
        Ok(())
    }
}
