//! `tokengate config check FILE`.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use tokengate_tests::{unique_name, workspace_root};

fn check(file: &std::path::Path, json: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokengate"));
    command.args(["config", "check"]).arg(file);
    if json {
        command.arg("--json");
    }
    command.output().expect("tokengate runs")
}

#[test]
fn the_example_pre_inputs_check_valid_and_list_what_they_inject() {
    let file = workspace_root().join("infra/examples/pre-inputs.json");
    let out = check(&file, false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("valid (forward validation)"), "{text}");
    assert!(text.contains("region FR"), "{text}");
    assert!(
        text.contains("injects X-User-Email as context.authorizer.inject_x_user_email"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(&check(&file, true).stdout).unwrap();
    assert_eq!(json["injected_headers"]["X-User-Org"], "inject_x_user_org");
    assert_eq!(json["block_authorization_header"], true);
}

fn temp_file(text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}.json", unique_name("bad-pre-inputs")));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_committed_pre_inputs_file_checks_valid() {
    for file in [
        "infra/examples/pre-inputs.json",
        "infra/examples/pre-inputs-top-level.json",
        "infra/examples/pre-inputs-introspection.json",
        "infra/examples/pre-inputs-jwt.json",
        "infra/examples/pre-inputs-tokengate.json",
        "infra/examples/pre-inputs-hot-client.json",
        "infra/api/pre-inputs.json",
    ] {
        let out = check(&workspace_root().join(file), false);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_file_with_three_mistakes_gets_three_lines_each_naming_its_key_path_and_exit_1() {
    let path = temp_file(
        r#"{"token_validation_uri": {"defaultURI": "https://idp.example/u"},
            "block_authorisation_header": true,
            "validation": {"style": "forward", "timeout": 5},
            "inject_headers": {"FR": {"X-Email": "$[?"}}}"#,
    );
    let out = check(&path, false);
    let json_out = check(&path, true);
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    let shown = path.display().to_string();
    for (line, expected) in lines.iter().zip([
        "block_authorisation_header: unknown key (did you mean block_authorization_header?)",
        "inject_headers.FR.X-Email: not a JSONPath",
        "validation.timeout: unknown key",
    ]) {
        assert!(
            line.starts_with(&format!("error: {shown}: {expected}")),
            "{line} / {expected}"
        );
    }
    assert_eq!(json_out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&json_out.stderr).unwrap();
    let keys: Vec<&str> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "block_authorisation_header",
            "inject_headers.FR.X-Email",
            "validation.timeout"
        ]
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = check(std::path::Path::new("/no/such/pre-inputs.json"), false);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /no/such/pre-inputs.json"));
}

#[test]
fn config_check_flags_what_weakens_the_checks_and_refuses_plain_http_and_a_missing_audience() {
    let any = temp_file(
        r#"{"defaultURI": "https://idp.example/jwks",
            "validation": {"style": "jwt", "issuer": "https://idp.example/", "audience": "any"}}"#,
    );
    let out = check(&any, false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("warning: validation.audience is \"any\""),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(&check(&any, true).stdout).unwrap();
    assert_eq!(json["warnings"].as_array().unwrap().len(), 1, "{json}");

    let missing = temp_file(
        r#"{"defaultURI": "https://idp.example/jwks",
            "validation": {"style": "jwt", "issuer": "https://idp.example/"}}"#,
    );
    let out = check(&missing, false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("validation.audience: is required"));

    let plain = temp_file(r#"{"defaultURI": "http://idp.example/userinfo"}"#);
    let out = check(&plain, false);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("defaultURI: is plain http to a remote host")
    );
    let allowed = temp_file(
        r#"{"defaultURI": "http://idp.example/userinfo", "validation": {"allow_insecure_http": true}}"#,
    );
    let out = check(&allowed, false);
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("warning: defaultURI: http://idp.example/userinfo is plain http")
    );
    for file in [any, missing, plain, allowed] {
        let _ = std::fs::remove_file(file);
    }
}

#[test]
fn the_hot_client_example_says_how_long_a_revocation_may_take() {
    let file = workspace_root().join("infra/examples/pre-inputs-hot-client.json");
    let out = check(&file, false);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("each record kept 1 s per environment")
            && said.contains("a revocation takes effect within 1 s and DynamoDB's propagation"),
        "{said}"
    );
}
