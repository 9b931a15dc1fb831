//! `tokengate api render`.

use std::process::Command;

use tokengate_tests::{unique_name, workspace_root};

#[test]
fn the_committed_template_is_rendered_from_the_committed_pre_inputs() {
    let out = Command::new(env!("CARGO_BIN_EXE_tokengate"))
        .args(["api", "render", "--check"])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rendering_other_pre_inputs_changes_the_template_and_check_notices() {
    let dir = std::env::temp_dir().join(unique_name("render"));
    std::fs::create_dir_all(&dir).unwrap();
    let template = dir.join("template.yaml");
    std::fs::copy(workspace_root().join("template.yaml"), &template).unwrap();
    let config = workspace_root().join("infra/examples/pre-inputs-introspection.json");
    let run = |check: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tokengate"));
        command
            .args(["api", "render", "--config"])
            .arg(&config)
            .arg("--template")
            .arg(&template);
        if check {
            command.arg("--check");
        }
        command.output().unwrap()
    };
    let stale = run(true);
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("run `tokengate api render`"));
    assert!(run(false).status.success());
    assert!(run(true).status.success());
    let rendered = std::fs::read_to_string(&template).unwrap();
    assert!(rendered.contains(
        "\"integration.request.header.X-Client-Id\": \"context.authorizer.inject_x_client_id\""
    ));
    assert!(!rendered.contains("X-User-Email"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_pre_inputs_are_refused_naming_the_key() {
    let dir = std::env::temp_dir().join(unique_name("render-bad"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("bad.json");
    std::fs::write(&config, r#"{"token_validation_uri": {"defaultURI": "https://x.example"}, "inject_headers": {"Host": "$.a"}}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tokengate"))
        .args(["api", "render", "--check", "--config"])
        .arg(&config)
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inject_headers.Host"));
    let _ = std::fs::remove_dir_all(&dir);
}
