//! The SDK client the stores use, configured from the environment within tokengate's
//! [`StoreLimits`].

use aws_sdk_dynamodb::Client;

use super::limits::{InvalidStoreLimit, StoreLimits};

/// An SDK client configured from the environment, as the AWS SDK reads it everywhere
/// (credentials, region, and `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`), with
/// tokengate's [`StoreLimits`] from theirs.
pub async fn client_from_env() -> Result<Client, InvalidStoreLimit> {
    let limits = StoreLimits::from_env()?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(sdk_http_client(&limits)?)
        .timeout_config(limits.timeout_config())
        .retry_config(limits.retry_config())
        .load()
        .await;
    Ok(Client::new(&config))
}

/// The client the Lambda functions use: what Lambda puts in the environment and nothing
/// else. Credentials are `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, the
/// region `AWS_REGION`, the endpoint override the SDK's own `AWS_ENDPOINT_URL_DYNAMODB` /
/// `AWS_ENDPOINT_URL`: no profile files, SSO, STS or instance metadata are consulted, so
/// none of their code runs at cold start. The CLI and `serve` keep the SDK's full chain
/// ([`client_from_env`]). Its bounds are `limits` ([`StoreLimits::from_env`], read once:
/// the functions act on its `warm_up` themselves).
///
/// # Errors
/// An `SSL_CERT_FILE` that is not usable, or no region.
pub fn lambda_client(limits: &StoreLimits) -> Result<Client, InvalidStoreLimit> {
    lambda_client_with(limits, |name| std::env::var(name).ok())
}

/// [`lambda_client`] through `lookup`, a stand-in for the environment (credentials aside:
/// the provider reads them from the process environment when a request is signed).
pub fn lambda_client_with(
    limits: &StoreLimits,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Client, InvalidStoreLimit> {
    let region = lambda_region(&lookup)?;
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(region))
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .http_client(sdk_http_client(limits)?)
        .timeout_config(limits.timeout_config())
        .retry_config(limits.retry_config());
    if let Some(endpoint) = endpoint_override(&lookup, "AWS_ENDPOINT_URL_DYNAMODB") {
        config = config.endpoint_url(endpoint);
    }
    Ok(Client::from_conf(config.build()))
}

/// The region a Lambda function's SDK clients use: `AWS_REGION`, which Lambda sets.
pub fn lambda_region(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<String, InvalidStoreLimit> {
    let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .ok_or(InvalidStoreLimit {
            variable: "AWS_REGION",
            problem: "must be set (Lambda sets it; set it to run the function elsewhere)".into(),
        })
}

/// The SDK's own endpoint override for one service: its variable, else `AWS_ENDPOINT_URL`.
pub fn endpoint_override(
    lookup: &impl Fn(&str) -> Option<String>,
    service_variable: &str,
) -> Option<String> {
    let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    var(service_variable).or_else(|| var("AWS_ENDPOINT_URL"))
}

/// The SDK's HTTP client: [`crate::transport::SdkTransport`] within these limits' connect
/// timeout, over the same TLS configuration as the authorizer's own client.
///
/// # Errors
/// An `SSL_CERT_FILE` that is not usable.
pub fn sdk_http_client(
    limits: &StoreLimits,
) -> Result<aws_sdk_dynamodb::config::SharedHttpClient, InvalidStoreLimit> {
    crate::transport::SdkTransport::new(limits.connect)
        .map(crate::transport::SdkTransport::shared)
        .map_err(|problem| InvalidStoreLimit {
            variable: "SSL_CERT_FILE",
            problem: problem.trim_start_matches("SSL_CERT_FILE ").to_owned(),
        })
}

/// The DynamoDB endpoint the SDK will use, for messages: the override if one is set.
pub fn endpoint_description() -> String {
    ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "the AWS DynamoDB endpoint of the configured region".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_lambda_client_takes_its_region_from_the_environment_and_names_a_missing_one() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let limits = StoreLimits::default();
        let missing = lambda_client_with(&limits, env(&[])).unwrap_err();
        assert_eq!(missing.variable, "AWS_REGION");
        let client = lambda_client_with(
            &limits,
            env(&[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
            ]),
        )
        .unwrap();
        // The endpoint override is exercised by every test that runs a function on moto.
        let config = client.config();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
    }

    #[test]
    fn store_limits_default_to_one_second_attempts_inside_two_and_a_half_seconds() {
        let limits = StoreLimits::from_lookup(|_| None).unwrap();
        assert_eq!(limits, StoreLimits::default());
        assert_eq!(limits.attempt, Duration::from_secs(1));
        assert_eq!(limits.operation, Duration::from_millis(2_500));
    }

    #[test]
    fn store_limits_are_read_from_the_environment_and_refused_by_name_when_wrong() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let limits = StoreLimits::from_lookup(env(&[
            ("DYNAMODB_ATTEMPT_TIMEOUT_MS", "300"),
            ("DYNAMODB_OPERATION_TIMEOUT_MS", "700"),
            ("DYNAMODB_MAX_ATTEMPTS", "2"),
        ]))
        .unwrap();
        assert_eq!(limits.attempt, Duration::from_millis(300));
        assert_eq!(limits.max_attempts, 2);
        assert!(limits.warm_up, "on unless turned off");
        let off = StoreLimits::from_lookup(env(&[("DYNAMODB_WARM_UP", " FALSE ")])).unwrap();
        assert!(!off.warm_up);
        let unclear = StoreLimits::from_lookup(env(&[("DYNAMODB_WARM_UP", "no")])).unwrap_err();
        assert_eq!(
            unclear.to_string(),
            "DYNAMODB_WARM_UP must be true or false"
        );
        let wrong = StoreLimits::from_lookup(env(&[("DYNAMODB_OPERATION_TIMEOUT_MS", "soon")]));
        assert_eq!(wrong.unwrap_err().variable, "DYNAMODB_OPERATION_TIMEOUT_MS");
        let inverted = StoreLimits::from_lookup(env(&[
            ("DYNAMODB_ATTEMPT_TIMEOUT_MS", "3000"),
            ("DYNAMODB_OPERATION_TIMEOUT_MS", "2000"),
        ]));
        assert_eq!(
            inverted.unwrap_err().variable,
            "DYNAMODB_ATTEMPT_TIMEOUT_MS"
        );
    }
}
