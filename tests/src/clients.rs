//! Standard OAuth 2.0 client libraries as real peers: authlib and requests-oauthlib (from
//! `.venv/`), and openid-client (from `tests/idp/node_modules`), each run as its own
//! program against a token service URL.

use std::process::Command;

use serde_json::Value;

use crate::{INSTALL_HINT, tool, workspace_root};

fn run(command: &mut Command, what: &str) -> Vec<Value> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what} did not start ({e}): {INSTALL_HINT}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{what} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: {e}: {line}")))
        .collect()
}

/// authlib and requests-oauthlib, each with `client_secret_basic` and
/// `client_secret_post`, against the token service at `base` (its routes are
/// `{base}/oauth2/…`): one JSON result per library and method.
///
/// # Panics
/// When a library is missing (with the install command), or any run fails.
pub fn python_clients(base: &str, client_id: &str, client_secret: &str) -> Vec<Value> {
    let script = workspace_root().join("tests/clients/python_clients.py");
    run(
        Command::new(tool("python3"))
            .arg(script)
            .args([base, client_id, client_secret]),
        "the Python OAuth clients (authlib, requests-oauthlib)",
    )
}

/// authlib and requests-oauthlib asking for `scope` and `resource`, then for a scope and a
/// resource beyond the client's: one JSON result per library (the introspected `scope` and
/// `aud`, and the two errors each library reported).
///
/// # Panics
/// When a library is missing (with the install command), or a run fails unexpectedly.
pub fn python_grants(
    base: &str,
    (client_id, client_secret): (&str, &str),
    scope: &str,
    resource: &str,
) -> Vec<Value> {
    let script = workspace_root().join("tests/clients/python_grants.py");
    run(
        Command::new(tool("python3")).arg(script).args([
            base,
            client_id,
            client_secret,
            scope,
            resource,
        ]),
        "the Python OAuth clients asking for scopes (authlib, requests-oauthlib)",
    )
}

/// openid-client asking for `scope` and `resource`, then beyond them, as
/// [`python_grants`] does.
///
/// # Panics
/// When node or openid-client is missing (with the install command), or the run fails.
pub fn openid_client_grants(
    server: &str,
    (client_id, client_secret): (&str, &str),
    scope: &str,
    resource: &str,
) -> Value {
    openid_client_script(
        "grants.mjs",
        &[server, client_id, client_secret, scope, resource],
        "openid-client asking for scopes",
    )
}

/// openid-client with discovery from `server` (an issuer URL, or the metadata document's
/// own URL), then token, introspection, revocation and introspection again, with `method`.
///
/// # Panics
/// When node or openid-client is missing (with the install command), or the run fails.
pub fn openid_client(server: &str, client_id: &str, client_secret: &str, method: &str) -> Value {
    openid_client_script(
        "client.mjs",
        &[server, client_id, client_secret, method],
        "openid-client",
    )
}

/// One of `tests/idp`'s openid-client programs, and the one JSON result it prints.
fn openid_client_script(script: &str, args: &[&str], what: &str) -> Value {
    let folder = workspace_root().join("tests/idp");
    assert!(
        folder.join("node_modules/openid-client").is_dir(),
        "openid-client is not installed in tests/idp: {INSTALL_HINT}"
    );
    run(
        Command::new(tool("node"))
            .current_dir(folder)
            .arg(script)
            .args(args),
        what,
    )
    .remove(0)
}

/// Checks one client run's result: a Bearer token for `client_id`, active until revoked.
///
/// # Panics
/// When the result says otherwise.
pub fn assert_client_run(result: &Value, client_id: &str) {
    assert!(
        result["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        "{result}"
    );
    assert_eq!(result["active_before"], true, "{result}");
    assert_eq!(result["client_id"], client_id, "{result}");
    assert_eq!(result["active_after_revocation"], false, "{result}");
}

/// PyJWT, jose and aws-jwt-verify each verifying `token` against the JWKS at `jwks_url`,
/// for `issuer` and `audience`, with `typ: at+jwt`: one JSON result per library, whether
/// it verified and the claims or the error.
///
/// # Panics
/// When a library is missing (with the install command).
pub fn jwt_verifiers(jwks_url: &str, token: &str, issuer: &str, audience: &str) -> Vec<Value> {
    let args = [jwks_url, token, issuer, audience];
    let script = workspace_root().join("tests/clients/verify_jwt.py");
    let mut results = run(
        Command::new(tool("python3")).arg(script).args(args),
        "PyJWT",
    );
    let folder = workspace_root().join("tests/idp");
    assert!(
        folder.join("node_modules/aws-jwt-verify").is_dir(),
        "jose and aws-jwt-verify are not installed in tests/idp: {INSTALL_HINT}"
    );
    results.extend(run(
        Command::new(tool("node"))
            .current_dir(folder)
            .arg("verify.mjs")
            .args(args),
        "jose and aws-jwt-verify",
    ));
    results
}
