//! node `oidc-provider`, a real OpenID provider, on a loopback port: client credentials and
//! resource indicators, so that it issues JWT access tokens for a resource.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{INSTALL_HINT, ProcessGroup, tool, workspace_root};

/// A running provider, stopped on drop.
#[derive(Debug)]
pub struct OidcProvider {
    _process: ProcessGroup,
    issuer: String,
}

impl OidcProvider {
    /// The client the provider knows (`client_credentials` only).
    pub const CLIENT_ID: &'static str = "tokengate-test-client";
    /// Its secret.
    pub const CLIENT_SECRET: &'static str = "tokengate-test-client-secret";
    /// The resource its JWT access tokens are for (their `aud`).
    pub const RESOURCE: &'static str = "api://orders";

    /// Starts `tests/idp/server.mjs`, signing access tokens with `alg` (RS256 or ES256), and
    /// waits until it serves.
    ///
    /// # Panics
    /// When node or the provider's packages are missing (with the install command).
    pub fn start(alg: &str) -> Self {
        let folder = workspace_root().join("tests/idp");
        assert!(
            folder.join("node_modules/oidc-provider").is_dir(),
            "node oidc-provider is not installed in tests/idp: {INSTALL_HINT}"
        );
        let mut command = Command::new(tool("node"));
        command
            .current_dir(&folder)
            .arg("server.mjs")
            .env("IDP_PORT", "0")
            .env("IDP_ALG", alg)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut process = ProcessGroup::spawn(&mut command)
            .unwrap_or_else(|e| panic!("node did not start ({e}): {INSTALL_HINT}"));
        let stdout = process.child().stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let issuer = lines
            .by_ref()
            .find_map(|line| line.strip_prefix("listening on ").map(str::to_owned))
            .expect("oidc-provider exited without printing its address");
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            _process: process,
            issuer,
        }
    }

    /// The issuer, `http://127.0.0.1:PORT` (also the base of its metadata).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Its JWKS URI.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// A JWT access token for [`Self::RESOURCE`] with `scope`, by `client_credentials`.
    ///
    /// # Panics
    /// When the provider does not issue one.
    pub async fn access_token(&self, http: &reqwest::Client, scope: &str) -> String {
        let response: Value = http
            .post(format!("{}/token", self.issuer))
            .basic_auth(Self::CLIENT_ID, Some(Self::CLIENT_SECRET))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", scope),
                ("resource", Self::RESOURCE),
            ])
            .send()
            .await
            .expect("the provider answers")
            .json()
            .await
            .expect("a JSON token response");
        response["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {response}"))
            .to_owned()
    }

    /// What the provider's own introspection says of `token`.
    ///
    /// # Panics
    /// When the provider does not answer JSON.
    pub async fn introspect(&self, http: &reqwest::Client, token: &str) -> Value {
        http.post(format!("{}/token/introspection", self.issuer))
            .basic_auth(Self::CLIENT_ID, Some(Self::CLIENT_SECRET))
            .form(&[("token", token)])
            .send()
            .await
            .expect("the provider answers")
            .json()
            .await
            .expect("a JSON introspection response")
    }
}
