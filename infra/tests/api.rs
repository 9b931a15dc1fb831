//! `tokengate api render`.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use std::path::{Path, PathBuf};

use tokengate_tests::{tool, unique_name, workspace_root};

/// A scratch folder holding a copy of the committed template: the folder and the copy.
fn scratch_template(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(unique_name(name));
    std::fs::create_dir_all(&dir).unwrap();
    let template = dir.join("template.yaml");
    std::fs::copy(workspace_root().join("template.yaml"), &template).unwrap();
    (dir, template)
}

/// Asserts that cfn-lint passes `template`.
fn assert_cfn_lint_passes(template: &Path) {
    let lint = Command::new(tool("cfn-lint"))
        .arg(template)
        .output()
        .unwrap();
    assert!(
        lint.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}

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
    let (dir, template) = scratch_template("render");
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
    // The client secret is named by reference: the template reads it from Secrets Manager
    // at deploy time, and holds no secret itself.
    assert!(rendered.contains(
        r#"AUTHORIZER_CLIENT_SECRET: !Sub "{{resolve:secretsmanager:${AuthorizerClientSecret}:SecretString}}""#
    ));
    assert!(rendered.contains("  AuthorizerClientSecret:\n    Type: String"));
    assert_cfn_lint_passes(&template);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_literal_client_secret_is_never_rendered_into_the_template() {
    let (dir, template) = scratch_template("render-secret");
    let before = std::fs::read_to_string(&template).unwrap();
    let config = dir.join("literal.json");
    std::fs::write(
        &config,
        r#"{"token_validation_uri": {"defaultURI": "https://tokens.example/oauth2/introspect"},
            "validation": {"style": "rfc7662", "client_id": "authorizer", "client_secret": "s3cret-in-git"}}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tokengate"))
        .args(["api", "render", "--config"])
        .arg(&config)
        .arg("--template")
        .arg(&template)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"{"env": "AUTHORIZER_CLIENT_SECRET"}"#),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret-in-git"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&template).unwrap(), before);
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

#[test]
fn the_jwt_example_renders_a_template_with_no_secret_parameter_that_passes_cfn_lint() {
    let (dir, template) = scratch_template("render-jwt");
    let out = Command::new(env!("CARGO_BIN_EXE_tokengate"))
        .args(["api", "render", "--config"])
        .arg(workspace_root().join("infra/examples/pre-inputs-jwt.json"))
        .arg("--template")
        .arg(&template)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = std::fs::read_to_string(&template).unwrap();
    assert!(
        rendered.contains(r#"\"style\":\"jwt\""#),
        "the pre-inputs are in the template"
    );
    assert!(rendered.contains(
        "\"integration.request.header.X-User-Id\": \"context.authorizer.inject_x_user_id\""
    ));
    assert!(
        !rendered.contains("AuthorizerClientSecret:"),
        "a JWKS is public: no secret"
    );
    assert_cfn_lint_passes(&template);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cache_rule_and_the_usage_plan_render_templates_that_pass_cfn_lint() {
    for (name, pre_inputs) in [
        (
            "tokengate-strict",
            r#"{"validation": {"style": "tokengate", "required_scopes": ["innreach_tp"]}}"#,
        ),
        (
            "tokengate-lag",
            r#"{"validation": {"style": "tokengate", "revocation_lag_seconds": 30}}"#,
        ),
        (
            "gateway-keys",
            r#"{"defaultURI": "https://idp.example/userinfo", "api_key": {"checked_by": "api_gateway"}}"#,
        ),
    ] {
        let (dir, template) = scratch_template(name);
        let config = dir.join("pre-inputs.json");
        std::fs::write(&config, pre_inputs).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_tokengate"))
            .args(["api", "render", "--config"])
            .arg(&config)
            .arg("--template")
            .arg(&template)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rendered = std::fs::read_to_string(&template).unwrap();
        let expected = if name == "gateway-keys" {
            "ApiKeyUsagePlan:"
        } else {
            "AuthorizerCacheWithinRevocationLag:"
        };
        assert!(rendered.contains(expected), "{name}");
        assert_cfn_lint_passes(&template);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn the_deployable_pre_inputs_are_the_ones_serve_runs_with() {
    // serve's tests issue and enforce tokens with its built-in pre-inputs; the template
    // deploys the same, so a stack deployed as it is behaves as serve does.
    let deployable: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("infra/api/pre-inputs.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(deployable, tokengate_cli::serve::default_pre_inputs());
}
