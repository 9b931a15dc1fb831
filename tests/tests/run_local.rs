//! The getting-started page's `infra/scripts/run-local` (docs/running-locally.md), from start to a token.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;
use tokengate_tests::docs::shell_block;
use tokengate_tests::{
    LambdaEmulator, ProcessGroup, basic, free_port, inn_reach_token_request, workspace_root,
};

#[tokio::test]
async fn run_local_starts_dynamodb_and_the_token_issuer_and_prints_a_working_demo_key() {
    let port = free_port();
    let mut command = Command::new(workspace_root().join("infra/scripts/run-local"));
    command
        .args(["--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut run = ProcessGroup::spawn(&mut command).expect("run-local starts");
    let stdout = run.child().stdout.take().expect("stdout is piped");

    let (mut key, mut secret) = (None, None);
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    for line in lines.by_ref() {
        let value = |prefix: &str| {
            line.strip_prefix(prefix)
                .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
        };
        key = key.or(value("Demo client key:"));
        secret = secret.or(value("Demo secret:"));
        if line.starts_with("run-local: ready") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    let (key, secret) = (
        key.expect("the demo key is printed"),
        secret.expect("the demo secret is printed"),
    );

    let url = format!("http://127.0.0.1:{port}/lambda-url/token-issuer/innreach/v2/oauth2/token");
    let response = inn_reach_token_request(&reqwest::Client::new(), &url, &basic(&key, &secret))
        .timeout(LambdaEmulator::FIRST_REQUEST_TIMEOUT)
        .send()
        .await
        .expect("the local token-issuer answers");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 599);
}

#[test]
fn run_local_try_ends_with_the_authorizer_allowing_the_fixture_with_the_injected_headers() {
    let documented = shell_block(
        "docs/running-locally.md",
        "run_local_try_ends_with_the_authorizer_allowing_the_fixture_with_the_injected_headers",
    );
    let words: Vec<&str> = documented.split_whitespace().collect();
    let port = free_port();
    // As documented, on a free port.
    let output = Command::new(workspace_root().join(words[0]))
        .args(&words[1..])
        .args(["--port", &port.to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("run-local --try runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer = stdout
        .split_once("Authorizer answer:")
        .map(|(_, answer)| answer)
        .unwrap_or_else(|| panic!("no answer printed:\n{stdout}"));
    let answer: Value = serde_json::from_str(answer.trim()).expect("the answer is JSON");
    assert_eq!(
        answer["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{answer}"
    );
    let context = &answer["context"];
    assert_eq!(context["inject_x_from_code"], "d2ir1", "{answer}");
    assert_eq!(context["inject_x_to_code"], "abcde", "{answer}");
    assert_eq!(
        context["inject_x_client_id"], answer["principalId"],
        "{answer}"
    );
}
