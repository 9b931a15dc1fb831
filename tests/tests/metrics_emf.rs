//! The authorizer's metrics as CloudWatch receives them: Embedded Metric Format documents in
//! the function's log, read from cargo-lambda's emulator with `AWS_LAMBDA_LOG_FORMAT=JSON`,
//! one set per invocation, for the decision just made.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokengate_tests::fixtures::{PreInputsFile, rest_api_event};
use tokengate_tests::{ClosedPort, LambdaEmulator, Moto};

/// Every EMF document in `log`, each checked against the specification: a timestamp, a
/// namespace, and each dimension and metric named present at the top level.
fn emf_documents(log: &str) -> Vec<Value> {
    let documents: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|doc| doc.get("_aws").is_some())
        .collect();
    for doc in &documents {
        let aws = &doc["_aws"];
        assert!(aws["Timestamp"].is_u64(), "{doc}");
        for directive in aws["CloudWatchMetrics"].as_array().expect("directives") {
            assert!(directive["Namespace"].is_string(), "{doc}");
            for set in directive["Dimensions"].as_array().expect("dimension sets") {
                for name in set.as_array().expect("a dimension set") {
                    let name = name.as_str().expect("a dimension name");
                    assert!(doc[name].is_string(), "dimension {name} missing: {doc}");
                }
            }
            for metric in directive["Metrics"].as_array().expect("metrics") {
                let name = metric["Name"].as_str().expect("a metric name");
                assert!(
                    doc[name].is_number() || doc[name].is_array(),
                    "metric {name} has no value: {doc}"
                );
            }
        }
    }
    documents
}

fn metric_names(doc: &Value) -> Vec<&str> {
    doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["Name"].as_str())
        .collect()
}

/// Waits until the log holds an EMF document that `wanted` accepts.
fn wait_for_emf(emulator: &LambdaEmulator, wanted: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        if let Some(doc) = emf_documents(&emulator.log())
            .into_iter()
            .find(|d| wanted(d))
        {
            return doc;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no such EMF document in the log:\n{}",
            emulator.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn each_decision_leaves_valid_emf_in_the_functions_json_log() {
    let moto = Moto::start();
    let (keys_table, _) = moto.fresh_tables().await;
    moto.provision_fixture_key(&keys_table).await;
    let closed = ClosedPort::new();
    let pre_inputs =
        json!({"token_validation_uri": {"defaultURI": format!("{}/userinfo", closed.url())}});
    let mut env = moto.env();
    env.push(("KEYS_TABLE".into(), keys_table));
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    let _pre_inputs = PreInputsFile::write(&mut env, &pre_inputs);
    let emulator = LambdaEmulator::start_logged(&env);
    let http = reqwest::Client::new();
    let event = rest_api_event();

    // An API key tokengate does not know: denied, ApiKeyNotValid.
    let mut unknown_key = event.clone();
    unknown_key["headers"]["X-Api-Key"] = json!("no-such-key");
    unknown_key["multiValueHeaders"]["X-Api-Key"] = json!(["no-such-key"]);
    let answer = LambdaEmulator::json_answer(
        http.post(emulator.invoke_url("authorizer"))
            .json(&unknown_key),
    )
    .await;
    assert_eq!(answer["context"]["error"], "ApiKeyNotValid", "{answer}");
    let decision = wait_for_emf(&emulator, |d| d["Decisions"] == 1);
    assert_eq!(
        decision["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "tokengate"
    );
    assert_eq!(decision["result"], "Deny", "{decision}");
    assert_eq!(decision["error"], "ApiKeyNotValid", "{decision}");
    assert_eq!(decision["FunctionName"], "authorizer", "{decision}");
    let dimensions = &decision["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0];
    for name in ["FunctionName", "result", "error"] {
        assert!(
            dimensions.as_array().unwrap().contains(&json!(name)),
            "{decision}"
        );
    }

    // The fixture's own key, and a validation endpoint that refuses connections: denied,
    // TargetEndpointError, with the endpoint's error and its latency.
    let answer =
        LambdaEmulator::json_answer(http.post(emulator.invoke_url("authorizer")).json(&event))
            .await;
    assert_eq!(
        answer["context"]["error"], "TargetEndpointError",
        "{answer}"
    );
    let decision = wait_for_emf(&emulator, |d| d["error"] == "TargetEndpointError");
    assert_eq!(decision["Decisions"], 1, "{decision}");
    let endpoint = wait_for_emf(&emulator, |d| {
        metric_names(d).contains(&"ValidationEndpointErrors")
    });
    assert_eq!(endpoint["ValidationEndpointErrors"], 1, "{endpoint}");
    let latency = endpoint["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Name"] == "ValidationLatency")
        .unwrap_or_else(|| panic!("ValidationLatency beside the error: {endpoint}"));
    assert_eq!(latency["Unit"], "Milliseconds", "{endpoint}");
}
