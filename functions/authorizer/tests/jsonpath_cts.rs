//! RFC 9535's compliance test suite (jsonpath-standard/jsonpath-compliance-test-suite,
//! commit `7be7c1f`, BSD-2: `fixtures/jsonpath-cts/LICENSE`), run case by case against the
//! authorizer's JSONPath, its `match` and `search` included.

#![allow(clippy::unwrap_used)]

use authorizer::jsonpath::JsonPath;
use serde_json::Value;

#[test]
fn every_case_of_the_rfc_9535_compliance_test_suite_passes() {
    let suite: Value =
        serde_json::from_str(include_str!("fixtures/jsonpath-cts/cts.json")).unwrap();
    let cases = suite["tests"].as_array().unwrap();
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let selector = case["selector"].as_str().unwrap();
        let parsed = JsonPath::parse(selector);
        if case["invalid_selector"] == Value::Bool(true) {
            if parsed.is_ok() {
                failures.push(format!("{name}: {selector:?} parsed, but is invalid"));
            }
            continue;
        }
        let path = match parsed {
            Ok(path) => path,
            Err(e) => {
                failures.push(format!("{name}: {selector:?} did not parse: {e}"));
                continue;
            }
        };
        let found: Vec<Value> = path
            .query(&case["document"])
            .all()
            .into_iter()
            .cloned()
            .collect();
        let found = Value::Array(found);
        let expected: Vec<&Value> = match case.get("result") {
            Some(result) => vec![result],
            None => case["results"].as_array().unwrap().iter().collect(),
        };
        if !expected.contains(&&found) {
            failures.push(format!("{name}: {selector:?} gave {found}"));
        }
    }
    assert_eq!(cases.len(), 703);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
