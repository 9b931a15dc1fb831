//! What every test crate builds its cases from: the event fixtures' key and secret, a
//! key builder, HTTP Basic credentials, the INN-Reach token request, the authorizer's REST
//! event, pre-inputs in a file, and a log capture.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokengate_shared::{ClientKey, KeyId, KeyStatus, Secret, SecretHash, SystemCode};

/// The client key the event fixtures in `functions/*/events/` carry.
pub const FIXTURE_KEY: &str = "0b9c0e0a-7f3e-4e0a-9f39-4d2b6f0d1a11";
/// Its secret.
pub const FIXTURE_SECRET: &str = "example-secret-rotate-me";

/// System codes from their text.
pub fn codes(list: &[&str]) -> BTreeSet<SystemCode> {
    list.iter()
        .map(|c| SystemCode::parse(c).expect("a five-character code"))
        .collect()
}

/// A client key with this id, secret, status and codes.
pub fn client_key(id: &str, secret: &str, status: KeyStatus, valid_for: &[&str]) -> ClientKey {
    ClientKey {
        id: KeyId::parse(id).expect("a key id"),
        secret_hash: SecretHash::of(&Secret::from(secret.to_owned())),
        codes: codes(valid_for),
        status,
        created_at: 1,
        updated_at: 1,
        description: None,
        failures: tokengate_shared::FailedAttempts::default(),
        tokens_revoked_at: 0,
        grants: Default::default(),
    }
}

/// An in-memory key store holding one active API key with this id, as the authorizer's
/// tests and benchmarks use it.
pub async fn memory_keys_with(id: &str) -> Arc<tokengate_shared::store::memory::MemoryKeyStore> {
    use tokengate_shared::KeyAdmin;
    let keys = Arc::new(tokengate_shared::store::memory::MemoryKeyStore::new());
    keys.create(&client_key(id, "unused-secret", KeyStatus::Active, &[]))
        .await
        .expect("the key is stored");
    keys
}

/// The fixtures' key: active, valid for `d2ir1`.
pub fn fixture_key() -> ClientKey {
    client_key(FIXTURE_KEY, FIXTURE_SECRET, KeyStatus::Active, &["d2ir1"])
}

/// HTTP Basic credentials as RFC 6749 §2.3.1 spells them (for keys and secrets that need no
/// form-encoding, as generated ones do not).
pub fn basic(key: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"))
    )
}

/// A token request at INN-Reach's path as token-issuer's handler receives it, with every
/// header the contract requires: for in-process tests.
///
/// # Panics
/// Never: the parts are constant and valid.
pub fn inn_reach_lambda_request(key: &str, secret: &str) -> lambda_http::Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/innreach/v2/oauth2/token?grant_type=client_credentials&scope=innreach_tp")
        .header("Authorization", basic(key, secret))
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("X-From-Code", "d2ir1")
        .header("X-To-Code", "abcde")
        .header("X-Request-Creation-Time", "1544466568")
        .body(lambda_http::Body::Empty)
        .expect("a valid request")
}

/// A complete, valid INN-Reach token request (`X-From-Code: d2ir1`) to `url`, with the
/// given `Authorization` header.
pub fn inn_reach_token_request(
    client: &reqwest::Client,
    url: &str,
    authorization: &str,
) -> reqwest::RequestBuilder {
    client
        .post(url)
        .query(&[
            ("grant_type", "client_credentials"),
            ("scope", "innreach_tp"),
        ])
        .header("Authorization", authorization)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("X-From-Code", "d2ir1")
        .header("X-To-Code", "abcde")
        .header("X-Request-Creation-Time", "1544466568")
}

/// Everything logged on this thread while the guard lives, as text.
#[derive(Debug, Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Starts capturing every level on the current thread (a `#[tokio::test]` runs on one).
    pub fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("the log buffer")).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("the log buffer")
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A stand-in for the process environment holding exactly these variables, for the
/// functions' `from_lookup` constructors.
pub fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// The authorizer's REST API event fixture (`functions/authorizer/events/rest-api-request.json`).
pub fn rest_api_event() -> serde_json::Value {
    let fixture = crate::workspace_root().join("functions/authorizer/events/rest-api-request.json");
    serde_json::from_str(&std::fs::read_to_string(fixture).expect("the fixture"))
        .expect("the fixture is JSON")
}

/// The pre-inputs in a file named in `env` as `AUTHORIZER_CONFIG_FILE` (the emulator's
/// `--env-vars` are comma-separated, and so is JSON), removed when dropped.
#[derive(Debug)]
pub struct PreInputsFile(std::path::PathBuf);

impl PreInputsFile {
    /// Writes `pre_inputs` and names the file in `env`.
    pub fn write(env: &mut Vec<(String, String)>, pre_inputs: &serde_json::Value) -> Self {
        let name = format!("{}.json", crate::unique_name("pre-inputs"));
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, pre_inputs.to_string()).expect("a file in the temporary folder");
        env.push(("AUTHORIZER_CONFIG_FILE".into(), path.display().to_string()));
        Self(path)
    }
}

impl Drop for PreInputsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Grants of these scopes and audiences, with the default token lifetime.
///
/// # Panics
/// When a scope or an audience does not parse: the tests name good ones.
pub fn grants(scopes: &[&str], audiences: &[&str]) -> tokengate_shared::Grants {
    tokengate_shared::Grants {
        scopes: scopes
            .iter()
            .map(|s| tokengate_shared::Scope::parse(s).expect("a scope"))
            .collect(),
        audiences: audiences
            .iter()
            .map(|a| tokengate_shared::Audience::parse(a).expect("an audience"))
            .collect(),
        ..Default::default()
    }
}

/// The in-memory stores the `tokengate` style reads, counting its round trips: batch
/// lookups and single key reads.
#[derive(Debug)]
pub struct CountingStores {
    /// The keys.
    pub keys: Arc<tokengate_shared::store::memory::MemoryKeyStore>,
    /// The tokens.
    pub tokens: Arc<tokengate_shared::store::memory::MemoryTokenStore>,
    lookups: std::sync::atomic::AtomicUsize,
    key_reads: std::sync::atomic::AtomicUsize,
}

impl CountingStores {
    /// Empty stores.
    pub fn new() -> Self {
        Self {
            keys: Arc::default(),
            tokens: Arc::default(),
            lookups: Default::default(),
            key_reads: Default::default(),
        }
    }

    /// Batch lookups and single key reads since the last call.
    pub fn round_trips(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::SeqCst;
        (self.lookups.swap(0, SeqCst), self.key_reads.swap(0, SeqCst))
    }
}

impl Default for CountingStores {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl tokengate_shared::KeyReader for CountingStores {
    async fn get(&self, id: &KeyId) -> Result<Option<ClientKey>, tokengate_shared::StoreError> {
        self.key_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.keys.get(id).await
    }
}

#[async_trait::async_trait]
impl tokengate_shared::TokenLookup for CountingStores {
    async fn token_and_keys(
        &self,
        token: &tokengate_shared::TokenHash,
        keys: &[KeyId],
    ) -> Result<tokengate_shared::TokenAndKeys, tokengate_shared::StoreError> {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let each = tokengate_shared::ReadEach {
            keys: self.keys.clone(),
            tokens: self.tokens.clone(),
        };
        each.token_and_keys(token, keys).await
    }
}
