//! What both Lambda functions do first and around each invocation: their log lines, their
//! metrics collector, the metrics flushed after each invocation, and, when they cannot
//! start, one line saying why, told to Lambda too.
//!
//! Returning the error from `main` would print its `Debug` form (`Error: Missing(…)`) and
//! leave the pending invocation to time out: Lambda, and `cargo lambda watch`, only learn of
//! an init failure when the runtime reports it at the Runtime API's `init/error`.

use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;

/// The `errorType` reported to Lambda for a function that cannot start.
pub const INIT_ERROR_TYPE: &str = "Runtime.tokengate.ConfigurationError";

/// The functions' log lines, as the Lambda runtime's own subscriber writes them: to stdout,
/// without timestamps (CloudWatch adds them) or targets, as JSON when Lambda's
/// `AWS_LAMBDA_LOG_FORMAT` is `JSON`. The level is `AWS_LAMBDA_LOG_LEVEL`'s, else a bare
/// level in `RUST_LOG`, else `INFO`; `RUST_LOG`'s `target=level` directives apply on top.
///
/// The runtime's subscriber also takes span and field filters, which bring a regex engine
/// into the binary: these directives need none (docs/decisions/0002-cold-start.md).
pub fn init_logging() {
    let lookup = |name: &str| std::env::var(name).ok();
    let json = lookup("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let filter = log_filter(
        lookup("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        lookup("RUST_LOG").as_deref(),
    );
    let logs = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(LevelFilter::TRACE);
    let _ = if json {
        tracing::subscriber::set_global_default(logs.json().finish().with(filter))
    } else {
        tracing::subscriber::set_global_default(logs.finish().with(filter))
    };
}

/// The filter [`init_logging`] installs, and `tokengate serve` with no Lambda level: the
/// level is `lambda_level`, else `rust_log`'s last bare level, else `INFO`, with `rust_log`'s
/// `target=level` directives on top. A directive that does not parse is left out, as the
/// runtime's subscriber does.
pub fn log_filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    let level = |text: &str| match text.trim() {
        // Lambda's levels include FATAL, which tracing has not.
        fatal if fatal.eq_ignore_ascii_case("fatal") => Some(LevelFilter::ERROR),
        other => LevelFilter::from_str(other).ok(),
    };
    let directives: Vec<&str> = rust_log
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    let default = lambda_level
        .and_then(level)
        .or_else(|| directives.iter().rev().find_map(|d| level(d)))
        .unwrap_or(LevelFilter::INFO);
    let targets = directives
        .iter()
        .filter(|d| d.contains('='))
        .filter_map(|d| Targets::from_str(d).ok())
        .flat_map(|t| {
            t.iter()
                .map(|(target, level)| (target.to_owned(), level))
                .collect::<Vec<_>>()
        });
    Targets::new().with_default(default).with_targets(targets)
}

/// The functions' EMF collector: namespace `tokengate`, with the one dimension every metric
/// carries, `FunctionName` (Lambda's name for the function, `function` outside Lambda), so
/// that two stacks' metrics stay apart. [`measured`] writes it out after each invocation.
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
        .init()
}

/// One invocation's `handler`, its metrics then written to stdout as one EMF document
/// tagged with the invocation's `RequestId`, before the runtime posts the answer; the
/// first invocation also writes `ColdStart` = 1. A document that cannot be written is
/// logged, never fatal.
pub async fn measured<F: Future>(
    metrics: &metrics_cloudwatch_embedded::Collector,
    request_id: &str,
    handler: F,
) -> F::Output {
    static COLD_START: Once = Once::new();
    metrics.set_property("RequestId", request_id.to_owned());
    COLD_START.call_once(|| {
        let written = metrics.write_single(
            "ColdStart",
            Some(metrics::Unit::Count),
            1,
            std::io::stdout(),
        );
        unwritten(written);
    });
    let output = handler.await;
    unwritten(metrics.flush(std::io::stdout()));
    output
}

fn unwritten(written: std::io::Result<()>) {
    if let Err(e) = written {
        tracing::warn!(reason = "metrics_unwritten", detail = %e);
    }
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
        .tls_backend_preconfigured(crate::tls::trusting_nothing())
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
    fn the_log_level_is_lambdas_else_rust_logs_bare_level_else_info() {
        let default = |lambda, rust_log| log_filter(lambda, rust_log).default_level();
        assert_eq!(default(None, None), Some(LevelFilter::INFO));
        assert_eq!(default(Some("DEBUG"), None), Some(LevelFilter::DEBUG));
        assert_eq!(default(Some("FATAL"), None), Some(LevelFilter::ERROR));
        assert_eq!(
            default(Some("WARN"), Some("trace")),
            Some(LevelFilter::WARN)
        );
        assert_eq!(default(None, Some("warn")), Some(LevelFilter::WARN));
        assert_eq!(
            default(None, Some("authorizer=debug")),
            Some(LevelFilter::INFO)
        );
        assert_eq!(
            default(Some("LOUD"), Some("nonsense")),
            Some(LevelFilter::INFO)
        );
    }

    #[test]
    fn rust_log_target_directives_apply_and_one_that_does_not_parse_is_left_out() {
        let filter = log_filter(
            Some("WARN"),
            Some("authorizer=debug, aws_smithy_runtime=off, bad=loud, [span]=trace"),
        );
        assert!(filter.would_enable("authorizer::jwt", &tracing::Level::DEBUG));
        assert!(!filter.would_enable("authorizer::jwt", &tracing::Level::TRACE));
        assert!(!filter.would_enable("aws_smithy_runtime::client", &tracing::Level::ERROR));
        assert!(!filter.would_enable("bad", &tracing::Level::INFO));
        assert!(filter.would_enable("bad", &tracing::Level::WARN));
        assert!(!filter.would_enable("token_issuer", &tracing::Level::INFO));
    }

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
