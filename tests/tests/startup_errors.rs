//! A function that cannot start says why in one line, naming the variable, and reports it to
//! the Lambda Runtime API so that the pending invocation is answered instead of left waiting.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tokengate_tests::coldstart::measure;

/// The workspace's debug binaries, built beside this package's own.
fn binary(name: &str) -> PathBuf {
    let coldstart = PathBuf::from(env!("CARGO_BIN_EXE_coldstart"));
    coldstart.parent().expect("the binaries' folder").join(name)
}

#[test]
fn a_function_that_cannot_start_prints_one_human_line_naming_the_variable() {
    for (function, env, expected) in [
        (
            "authorizer",
            vec![],
            "authorizer: cannot start: KEYS_TABLE must be set (the name of the DynamoDB table of client keys)",
        ),
        (
            "token-issuer",
            vec![("KEYS_TABLE", "keys")],
            "token-issuer: cannot start: TOKENS_TABLE must be set (the name of a DynamoDB table)",
        ),
        (
            "token-issuer",
            vec![("KEYS_TABLE", "keys"), ("TOKENS_TABLE", "tokens")],
            "token-issuer: cannot start: AWS_REGION must be set (Lambda sets it; set it to run the function elsewhere)",
        ),
        (
            "authorizer",
            vec![
                ("KEYS_TABLE", "keys"),
                ("AWS_REGION", "us-east-1"),
                ("DYNAMODB_WARM_UP", "later"),
            ],
            "authorizer: cannot start: DYNAMODB_WARM_UP must be true or false",
        ),
    ] {
        let output = Command::new(binary(function))
            .env_clear()
            .envs(env)
            .output()
            .unwrap_or_else(|e| panic!("{function} runs: {e}"));
        assert_eq!(output.status.code(), Some(1), "{function}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr, format!("{expected}\n"), "one line, no Debug form");
    }
}

#[tokio::test]
async fn a_function_that_cannot_start_reports_it_at_the_runtime_apis_init_error() {
    let event = br#"{"type": "REQUEST"}"#;
    let reported = measure(
        &binary("authorizer"),
        &[],
        &[],
        event,
        Duration::from_secs(20),
        || {},
    )
    .await
    .expect_err("the authorizer cannot start without KEYS_TABLE");
    assert!(
        reported.contains("the function reported")
            && reported.contains("KEYS_TABLE must be set")
            && reported.contains("Runtime.tokengate.ConfigurationError"),
        "{reported}"
    );
}
