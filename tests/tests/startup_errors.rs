//! A function that cannot start says why in one line, naming the variable, and reports it to
//! the Lambda Runtime API so that the pending invocation is answered instead of left waiting.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tokengate_shared::signing::local::generate;
use tokengate_shared::signing::{Jwks, LocalKey, SigningAlg};
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

#[tokio::test]
async fn the_jwt_style_with_keys_checked_by_api_gateway_starts_with_no_aws_settings_at_all() {
    // No region: a DynamoDB client could not be built (it would stop the function, as
    // above), so this starts only because none is.
    let jwks = std::env::temp_dir().join(format!("tokengate-nostore-{}.json", std::process::id()));
    let key = LocalKey::from_pkcs8(
        "k",
        SigningAlg::Es256,
        &generate(SigningAlg::Es256).unwrap(),
    );
    let published = Jwks {
        keys: vec![key.unwrap().public_jwk("k")],
    };
    std::fs::write(&jwks, serde_json::to_vec(&published).unwrap()).unwrap();
    let config = format!(
        r#"{{"token_validation_uri": {{"defaultURI": "https://idp.example/jwks"}},
            "api_key": {{"checked_by": "api_gateway"}},
            "validation": {{"style": "jwt", "issuer": "https://idp.example", "audience": "any",
                           "jwks_file": "{}"}}}}"#,
        jwks.display()
    );
    let event = br#"{"type": "REQUEST", "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/x",
        "headers": {"Authorization": "Bearer not-a-jwt"},
        "requestContext": {"stage": "prod", "httpMethod": "GET"}}"#;
    let answered = measure(
        &binary("authorizer"),
        &[],
        &[
            ("KEYS_TABLE".into(), "keys".into()),
            ("AWS_REGION".into(), String::new()),
            ("AWS_DEFAULT_REGION".into(), String::new()),
            ("AUTHORIZER_CONFIG".into(), config),
        ],
        event,
        Duration::from_secs(20),
        || {},
    )
    .await
    .unwrap();
    let _ = std::fs::remove_file(&jwks);
    // Denied by the token check itself, not for a configuration or store problem.
    let context = &answered.answer["context"];
    assert_eq!(
        context["error"], "TokenValidationFails",
        "{}",
        answered.answer
    );
}
