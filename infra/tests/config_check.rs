//! `tokengate config check FILE`.

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

#[test]
fn an_invalid_file_fails_naming_the_key_at_fault() {
    let path = std::env::temp_dir().join(format!("{}.json", unique_name("bad-pre-inputs")));
    std::fs::write(
        &path,
        r#"{"token_validation_uri": {"defaultURI": "https://idp.example/u"}, "inject_headers": {"FR": {"X-Email": "$[?"}}}"#,
    )
    .unwrap();
    let out = check(&path, false);
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("inject_headers.FR.X-Email: not a JSONPath"),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = check(std::path::Path::new("/no/such/pre-inputs.json"), false);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /no/such/pre-inputs.json"));
}
