//! A seconds-long smoke of the cold-start benchmark: one round of each function and of the
//! Python comparison, debug builds, through the same Runtime API harness that
//! `infra/scripts/coldstart` runs in release for docs/performance.md's figures; and the functions'
//! DynamoDB warm-up, seen from the harness's DynamoDB.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokengate_tests::coldstart::measure;
use tokengate_tests::loopback_tls::LoopbackTls;
use tokengate_tests::{ClosedPort, DynamoCounter, Moto, sdk_env, workspace_root};

#[test]
fn one_cold_start_round_of_each_function_with_dynamodb_and_kms_over_https_answers_and_prints_the_ratios()
 {
    let output = coldstart(&["--tls", "--no-warm-up"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for row in [
        "| hello-lambda |",
        "| authorizer |",
        "| authorizer-jwt |",
        "| token-issuer |",
        "| token-issuer-jwt |",
        "| cache-flusher |",
        "| python-authorizer |",
    ] {
        assert!(stdout.contains(row), "{row} missing:\n{stdout}");
    }
    assert!(stdout.contains("authorizer: init "), "{stdout}");
    assert!(stdout.contains("token-issuer: init "), "{stdout}");
    assert!(
        stdout.contains("python-authorizer: first answer "),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DynamoDB over HTTPS, not opened during init (DYNAMODB_WARM_UP=false)"),
        "{stderr}"
    );
}

/// Runs the harness from the debug build's folder with `args` after `--rounds 1 --bin-dir`.
fn coldstart(args: &[&str]) -> std::process::Output {
    let coldstart = Path::new(env!("CARGO_BIN_EXE_coldstart"));
    let bin_dir = bin_dir();
    let venv_bin = tokengate_tests::workspace_root().join(".venv/bin");
    let path = std::env::var("PATH").unwrap_or_default();
    Command::new(coldstart)
        .args(["--rounds", "1", "--bin-dir"])
        .arg(&bin_dir)
        .args(args)
        .env("PATH", format!("{}:{path}", venv_bin.display()))
        .output()
        .expect("coldstart runs")
}

#[test]
fn only_measures_the_named_function_beside_the_floor_with_its_cpu_time_and_page_faults() {
    let output = coldstart(&["--only", "authorizer"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("| hello-lambda |"), "the floor: {stdout}");
    assert!(!stdout.contains("| token-issuer |"), "{stdout}");
    assert!(!stdout.contains("| python-authorizer |"), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("| authorizer |"))
        .unwrap_or_else(|| panic!("no authorizer row: {stdout}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let header: Vec<&str> = stdout
        .lines()
        .next()
        .unwrap_or("")
        .split('|')
        .map(str::trim)
        .collect();
    let cell = |name: &str| {
        let at = header.iter().position(|h| *h == name);
        at.and_then(|i| cells.get(i))
            .unwrap_or_else(|| panic!("no {name} column: {stdout}"))
    };
    let cpu_ms: f64 = cell("CPU, ms")
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("CPU is not a number: {row}"));
    let faults: u64 = cell("page faults")
        .parse()
        .unwrap_or_else(|_| panic!("page faults is not a count: {row}"));
    assert!(cpu_ms > 0.0, "a cold start takes CPU: {row}");
    assert!(faults > 0, "a cold start touches pages: {row}");
    assert!(
        stdout.contains("authorizer: CPU to the first answer "),
        "{stdout}"
    );
}

#[test]
fn only_refuses_a_function_it_does_not_know_and_names_the_ones_it_does() {
    let output = coldstart(&["--only", "authoriser"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no function named \"authoriser\""),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "hello-lambda, authorizer, authorizer-jwt, token-issuer, token-issuer-jwt, cache-flusher, python-authorizer"
        ),
        "{stderr}"
    );
}

/// The debug build's folder, where the workspace's binaries are.
fn bin_dir() -> PathBuf {
    let coldstart = Path::new(env!("CARGO_BIN_EXE_coldstart"));
    coldstart.parent().expect("the binaries' folder").to_owned()
}

#[tokio::test]
async fn over_https_each_function_reads_dynamodb_during_init_unless_dynamodb_warm_up_is_false() {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    moto.provision_fixture_key(&keys_table).await;
    let tls = LoopbackTls::generate();
    let dynamodb = Arc::new(DynamoCounter::start_https(moto.endpoint(), &tls).await);
    let mut env = sdk_env(&dynamodb.endpoint());
    env.push(("KEYS_TABLE".into(), keys_table));
    env.push(("TOKENS_TABLE".into(), tokens_table));
    env.push(("SSL_CERT_FILE".into(), tls.ca_file().display().to_string()));
    // No validation endpoint listens there: the authorizer denies, after its key check.
    let closed = ClosedPort::new();
    let pre_inputs =
        json!({"token_validation_uri": {"defaultURI": format!("{}/userinfo", closed.url())}});
    let functions = [
        (
            "authorizer",
            "functions/authorizer/events/rest-api-request.json",
            Some(("AUTHORIZER_CONFIG", pre_inputs.to_string())),
        ),
        (
            "token-issuer",
            "functions/token-issuer/events/token-request-rest-api.json",
            None,
        ),
    ];
    for (name, event, config) in functions {
        let event = std::fs::read(workspace_root().join(event)).expect("the event fixture");
        for warm_up in [None, Some("false")] {
            let mut env = env.clone();
            env.extend(config.clone().map(|(k, v)| (k.to_owned(), v)));
            env.extend(warm_up.map(|v| ("DYNAMODB_WARM_UP".to_owned(), v.to_owned())));
            dynamodb.take();
            let during_init = Arc::new(Mutex::new(Vec::new()));
            let at_init = {
                let (dynamodb, during_init) = (dynamodb.clone(), during_init.clone());
                move || *during_init.lock().unwrap() = dynamodb.take()
            };
            let cold = measure(
                &bin_dir().join(name),
                &[],
                &env,
                &event,
                Duration::from_secs(30),
                at_init,
            )
            .await
            .unwrap_or_else(|problem| panic!("{name}, DYNAMODB_WARM_UP={warm_up:?}: {problem}"));
            let during_init = during_init.lock().unwrap().clone();
            let at_first_request = dynamodb.take();
            let expected_at_init: &[&str] = if warm_up.is_none() { &["GetItem"] } else { &[] };
            assert_eq!(during_init, expected_at_init, "{name}, {warm_up:?}");
            assert_eq!(
                at_first_request.first().map(String::as_str),
                Some("GetItem"),
                "{name}, {warm_up:?}: the key is read over HTTPS at the first request: {}",
                cold.answer
            );
        }
    }
}
