//! What both Lambda functions do first: their metrics collector, and, when they cannot
//! start, one line saying why, told to Lambda too.
//!
//! Returning the error from `main` would print its `Debug` form (`Error: Missing(…)`) and
//! leave the pending invocation to time out: Lambda, and `cargo lambda watch`, only learn of
//! an init failure when the runtime reports it at the Runtime API's `init/error`.

use std::process::ExitCode;
use std::time::Duration;

/// The `errorType` reported to Lambda for a function that cannot start.
pub const INIT_ERROR_TYPE: &str = "Runtime.tokengate.ConfigurationError";

/// The functions' EMF collector: namespace `tokengate`, with the one dimension every metric
/// carries, `FunctionName` (Lambda's name for the function, `function` outside Lambda), so
/// that two stacks' metrics stay apart; a `ColdStart` count; each document tagged with the
/// invocation's request id. The Lambda runtime flushes it after each invocation.
///
/// # Errors
/// When a metrics recorder is already installed.
pub fn metrics(
    function: &str,
) -> Result<&'static metrics_cloudwatch_embedded::Collector, metrics_cloudwatch_embedded::Error> {
    let name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| function.to_owned());
    metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace("tokengate")
        .with_dimension("FunctionName", name)
        .lambda_cold_start_metric("ColdStart")
        .with_lambda_request_id("RequestId")
        .init()
}

/// Prints `function: cannot start: <error>` on one line to stderr (the function's log),
/// reports it to the Runtime API when there is one, and gives the exit code to return.
pub async fn failed(function: &str, error: &(dyn std::error::Error + Send + Sync)) -> ExitCode {
    let message = one_line(error);
    eprintln!("{function}: cannot start: {message}");
    if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") {
        report(&api, &message).await;
    }
    ExitCode::FAILURE
}

/// The error and its causes, as one line.
pub fn one_line(error: &(dyn std::error::Error + Send + Sync)) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = inner.source();
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn report(api: &str, message: &str) {
    let body = serde_json::json!({
        "errorMessage": message,
        "errorType": INIT_ERROR_TYPE,
        "stackTrace": [],
    });
    let Ok(client) = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
    else {
        return;
    };
    let _ = client
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", INIT_ERROR_TYPE)
        .header("content-type", "application/vnd.aws.lambda.error+json")
        .body(body.to_string())
        .send()
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer problem\n  on two lines")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn an_error_and_its_causes_make_one_line() {
        let error = Outer(std::io::Error::other("the cause"));
        assert_eq!(
            one_line(&error),
            "outer problem on two lines: the cause",
            "no Debug form, no newline"
        );
    }
}
