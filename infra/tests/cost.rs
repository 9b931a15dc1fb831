//! `tokengate cost`: the model of docs/cost.md for the user's numbers, as text and JSON, and
//! bad input refused by name.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

fn tokengate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tokengate"))
        .args(args)
        .output()
        .unwrap()
}

fn priced(args: &[&str]) -> Value {
    let mut all = vec!["--json", "cost"];
    all.extend_from_slice(args);
    let out = tokengate(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn row<'a>(rows: &'a Value, name: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {rows}"))
}

#[test]
fn the_month_is_the_cost_per_million_times_the_millions_in_every_style_and_format() {
    let model = priced(&[
        "--requests-per-month",
        "250000000",
        "--tokens-per-month",
        "2000000",
    ]);
    for style in [
        "tokengate",
        "jwt",
        "jwt, keys checked by API Gateway",
        "rfc7662",
        "forward",
    ] {
        let row = row(&model["decisions"], style);
        let per_million = row["per_million"]["total"].as_f64().unwrap();
        let per_month = row["per_month"].as_f64().unwrap();
        assert!((per_month - per_million * 250.0).abs() < 1e-6, "{row}");
        assert_eq!(row["per_million"]["api_gateway"], 3.5, "{row}");
    }
    let strict = row(&model["decisions"], "tokengate");
    assert_eq!(
        strict["per_million"]["dynamodb"], 0.25,
        "two read units a decision"
    );
    let no_store = row(&model["decisions"], "jwt, keys checked by API Gateway");
    assert_eq!(no_store["per_million"]["dynamodb"], 0.0);
    let kms = row(&model["tokens"], "JWT, kms");
    let signing = kms["per_million"]["kms"].as_f64().unwrap();
    assert!((signing - 15.0).abs() < 1e-9, "{kms}");
    assert_eq!(model["compare"]["cognito_m2m_tokens_per_million"], 2250.0);
    assert_eq!(
        model["compare"]["api_gateway_jwt_authorizer_per_million"],
        1.0
    );
    assert!(model["prices"].as_array().unwrap().iter().all(|p| {
        p["source"]
            .as_str()
            .unwrap()
            .starts_with("https://aws.amazon.com/")
    }));
}

#[test]
fn a_lag_cuts_the_tokengate_styles_reads_and_the_text_names_the_model_page() {
    let strict = priced(&["--requests-per-month", "2592000000", "--style", "tokengate"]);
    let lagging = priced(&[
        "--requests-per-month",
        "2592000000",
        "--style",
        "tokengate",
        "--revocation-lag-seconds",
        "1",
    ]);
    let reads = |model: &Value| {
        model["decisions"][0]["per_million"]["dynamodb"]
            .as_f64()
            .unwrap()
    };
    assert!(reads(&lagging) < reads(&strict) / 50.0, "{lagging}");
    let out = tokengate(&["cost", "--requests-per-month", "1000000"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("| tokengate | $3.50 |") && text.contains("docs/cost.md"),
        "{text}"
    );
}

#[test]
fn bad_numbers_are_refused_as_json_naming_the_option() {
    let out = tokengate(&["--json", "cost", "--requests-per-month=-5"]);
    assert_eq!(out.status.code(), Some(1));
    let error: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(error["kind"], "usage");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("--requests-per-month")
    );
    let out = tokengate(&[
        "--json",
        "cost",
        "--requests-per-month",
        "5",
        "--eventually-consistent-reads",
    ]);
    let error: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("--revocation-lag-seconds"),
        "{error}"
    );
}
