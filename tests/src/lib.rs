//! The harness the end-to-end tests share: real peers on loopback ports.
//!
//! - [`Moto`]: moto's DynamoDB-protocol server, one per test process, on a free port.
//! - [`LambdaEmulator`]: `cargo lambda watch`, running the real function binaries under the
//!   Lambda runtime API emulator.
//! - [`OidcProvider`]: node `oidc-provider`, a real OpenID provider issuing JWT access tokens.
//!
//! A missing tool is a failure that says how to install it, never a skipped test.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

pub mod clients;
pub mod coldstart;
pub mod docs;
pub mod dynamo_counter;
pub mod environments;
pub mod fixtures;
pub mod idp;
pub mod item_limits;
pub mod loopback_tls;
mod moto_kms;
pub mod plans_load;
pub mod scale;
pub use dynamo_counter::DynamoCounter;
pub use fixtures::{FIXTURE_KEY, FIXTURE_SECRET, basic, inn_reach_token_request};
pub use idp::OidcProvider;

/// How to install the tools when one is missing.
pub const INSTALL_HINT: &str =
    "run `infra/scripts/install-test-tools` (it installs the pinned versions into .venv/)";

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Every file below `dir` whose name ends in `.extension`, in order.
pub fn files_below(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A tool from the project's virtualenv, or from `PATH` if it is not there.
///
/// # Panics
/// When the tool is in neither place, with the command that installs it.
pub fn tool(name: &str) -> PathBuf {
    let local = workspace_root().join(".venv/bin").join(name);
    if local.is_file() {
        return local;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not installed: {INSTALL_HINT}"))
}

/// A command-line option's whole number within `range`, or the message naming it.
///
/// # Errors
/// When the value is missing, not a number, or out of range.
pub fn whole_number(
    flag: &str,
    value: Option<String>,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, String> {
    value
        .and_then(|v| v.parse().ok())
        .filter(|n| range.contains(n))
        .ok_or(format!(
            "{flag} must be a whole number from {} to {}",
            range.start(),
            range.end()
        ))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// A loopback port that refuses connections for as long as this value lives: a socket is
/// bound to it but never listens, so no other test can take the port meanwhile.
#[derive(Debug)]
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    port: u16,
}

impl ClosedPort {
    /// Reserves a closed port.
    pub fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind("127.0.0.1:0".parse().expect("an address"))
            .expect("a loopback port");
        let port = socket.local_addr().expect("a bound address").port();
        Self {
            _socket: socket,
            port,
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, where nothing answers.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

/// A loopback port that accepts connections and never answers on them, for as long as this
/// value lives: a stalled peer, not a dead one.
#[derive(Debug)]
pub struct StalledPort {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl StalledPort {
    /// Starts accepting, and holding, connections.
    pub fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let port = listener.local_addr().expect("a bound address").port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Self { port, stop }
    }

    /// `http://127.0.0.1:PORT`, where connections are accepted and nothing is ever said.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Default for StalledPort {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for StalledPort {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A table name no other test in this process uses.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The environment the AWS SDK needs against a local endpoint (DynamoDB and KMS): dummy
/// credentials, a region, and no instance-metadata probing (which stalls for seconds).
pub fn sdk_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
        ("AWS_ENDPOINT_URL_KMS", endpoint),
        ("AWS_ENDPOINT_URL_API_GATEWAY", endpoint),
        ("AWS_ACCESS_KEY_ID", "tokengate-test"),
        ("AWS_SECRET_ACCESS_KEY", "tokengate-test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// An SDK client for `endpoint` with dummy credentials and the functions' default
/// [`StoreLimits`](tokengate_shared::store::dynamodb::StoreLimits).
pub fn dynamodb_client(endpoint: &str) -> Client {
    dynamodb_client_with(
        endpoint,
        &tokengate_shared::store::dynamodb::StoreLimits::default(),
    )
}

/// The same with other limits.
pub fn dynamodb_client_with(
    endpoint: &str,
    limits: &tokengate_shared::store::dynamodb::StoreLimits,
) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .timeout_config(limits.timeout_config())
        .retry_config(limits.retry_config())
        .http_client(
            tokengate_shared::store::dynamodb::sdk_http_client(limits)
                .expect("the compiled-in roots make a TLS configuration"),
        )
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(test_credentials())
        .build();
    Client::from_conf(config)
}

/// The dummy credentials every SDK client of the tests signs with (moto accepts any).
pub fn test_credentials() -> Credentials {
    Credentials::new(
        "tokengate-test",
        "tokengate-test",
        None,
        None,
        "tokengate-tests",
    )
}

/// A child in a process group of its own, killed with everything it started on drop, so
/// nothing outlives the test.
#[derive(Debug)]
pub struct ProcessGroup(Child);

impl ProcessGroup {
    /// Spawns `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> std::io::Result<Self> {
        use std::os::unix::process::CommandExt as _;
        command.process_group(0).spawn().map(Self)
    }
}

impl ProcessGroup {
    /// The child, to take its pipes.
    pub fn child(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        let group = i32::try_from(self.0.id()).ok().map(Pid::from_raw);
        if let Some(group) = group {
            let _ = killpg(group, Signal::SIGTERM);
        }
        // The leader cleans up after itself on SIGTERM; give it a moment, then make sure.
        for _ in 0..50 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if let Some(group) = group {
            let _ = killpg(group, Signal::SIGKILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto's DynamoDB server on a free loopback port, stopped on drop.
#[derive(Debug)]
pub struct Moto {
    _process: ProcessGroup,
    endpoint: String,
}

impl Moto {
    /// Starts `moto_server` and waits for it to print its port.
    ///
    /// # Panics
    /// When moto is not installed (with the install command) or does not start.
    pub fn start() -> Self {
        let mut command = Command::new(tool("moto_server"));
        command
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut process = ProcessGroup::spawn(&mut command)
            .unwrap_or_else(|e| panic!("moto_server did not start ({e}): {INSTALL_HINT}"));
        let stderr = process.0.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split("Running on http://127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.trim().parse::<u16>().ok())
            })
            .expect("moto_server exited without printing its port");
        // Keep draining its request log, or the pipe fills and moto blocks.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            _process: process,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The server's URL, for `AWS_ENDPOINT_URL_DYNAMODB`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An SDK client for this server.
    pub fn client(&self) -> Client {
        dynamodb_client(&self.endpoint)
    }

    /// Environment variables that point the SDK (in a child process) here.
    pub fn env(&self) -> Vec<(String, String)> {
        sdk_env(&self.endpoint)
    }

    /// Creates a fresh pair of tables through tokengate's own code and returns their names
    /// (keys, tokens).
    pub async fn fresh_tables(&self) -> (String, String) {
        let keys = unique_name("keys");
        let tokens = unique_name("tokens");
        tokengate_shared::store::dynamodb::create_tables(&self.client(), &keys, &tokens)
            .await
            .expect("tables are created on moto");
        (keys, tokens)
    }
}

/// A plain-HTTP forward proxy on a free loopback port, counting the requests it relays:
/// the proof that a client really went through it.
#[derive(Debug)]
pub struct ForwardProxy {
    port: u16,
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ForwardProxy {
    /// Starts the proxy on the current tokio runtime.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the proxy");
        let port = listener.local_addr().expect("a bound address").port();
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let _ = relay(client, counter).await;
                });
            }
        });
        Self {
            port,
            requests,
            task,
        }
    }

    /// The proxy's host, for `http_proxy_server`.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The proxy's port, for `http_proxy_port`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many requests it has relayed.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Relays one proxied connection: rewrites the absolute-form request line to origin form,
/// then copies bytes both ways.
async fn relay(
    mut client: tokio::net::TcpStream,
    counter: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await? == 0 || head.len() > 65_536 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let Some((request_line, rest)) = text.split_once("\r\n") else {
        return Ok(());
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(());
    };
    let Some(without_scheme) = target.strip_prefix("http://") else {
        client
            .write_all(b"HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let (authority, path) = match without_scheme.find('/') {
        Some(i) => (&without_scheme[..i], &without_scheme[i..]),
        None => (without_scheme, "/"),
    };
    counter.fetch_add(1, Ordering::SeqCst);
    let mut upstream = tokio::net::TcpStream::connect(authority).await?;
    upstream
        .write_all(format!("{method} {path} {version}\r\n{rest}").as_bytes())
        .await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

impl Moto {
    /// Stores the fixtures' client key, valid for `d2ir1`, in `keys_table`.
    pub async fn provision_fixture_key(&self, keys_table: &str) {
        use tokengate_shared::KeyAdmin;
        let store =
            tokengate_shared::store::dynamodb::DynamoKeyStore::new(self.client(), keys_table);
        store
            .create(&fixtures::fixture_key())
            .await
            .expect("the fixture key is stored");
    }
}

/// `cargo lambda watch` serving the workspace's functions on a free loopback port.
#[derive(Debug)]
pub struct LambdaEmulator {
    _process: ProcessGroup,
    port: u16,
    log: Option<PathBuf>,
}

impl Drop for LambdaEmulator {
    fn drop(&mut self) {
        if let Some(log) = &self.log {
            let _ = std::fs::remove_file(log);
        }
    }
}

impl LambdaEmulator {
    /// How long a first request may wait: it compiles the function, which takes minutes
    /// on a cold target folder.
    pub const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(900);

    /// Starts the emulator with `env` passed to the functions. The functions compile on the
    /// first request, which can take minutes on a cold target directory.
    ///
    /// # Panics
    /// When cargo-lambda is not installed (with the install command).
    pub fn start(env: &[(String, String)]) -> Self {
        Self::start_on(free_port(), env)
    }

    /// The same, on a port chosen beforehand (when a function's configuration must name
    /// the emulator's own address).
    pub fn start_on(port: u16, env: &[(String, String)]) -> Self {
        Self::spawn(port, env, None)
    }

    /// The same, with the emulator's output (the functions' logs among it) kept for
    /// [`Self::log`].
    pub fn start_logged(env: &[(String, String)]) -> Self {
        let log = std::env::temp_dir().join(format!("{}.log", unique_name("cargo-lambda-watch")));
        Self::spawn(free_port(), env, Some(log))
    }

    /// What the emulator and its functions have printed so far (for [`Self::start_logged`]).
    ///
    /// # Panics
    /// When the emulator was not started logged.
    pub fn log(&self) -> String {
        let log = self.log.as_ref().expect("started with start_logged");
        std::fs::read_to_string(log).unwrap_or_default()
    }

    fn spawn(port: u16, env: &[(String, String)], log: Option<PathBuf>) -> Self {
        let venv_bin = workspace_root().join(".venv/bin");
        let path = std::env::var("PATH").unwrap_or_default();
        let env_vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut command = Command::new(tool("cargo-lambda"));
        command
            .current_dir(workspace_root())
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(port.to_string())
            .args(["--env-vars", &env_vars.join(",")])
            .env("PATH", format!("{}:{path}", venv_bin.display()))
            .env("CARGO_LAMBDA_COMPILER", "cargo")
            .stdin(Stdio::null());
        if let Some(log) = &log {
            let file = std::fs::File::create(log).expect("a log file in the temporary folder");
            command.stdout(file);
        }
        let process = ProcessGroup::spawn(&mut command)
            .unwrap_or_else(|e| panic!("cargo lambda watch did not start ({e}): {INSTALL_HINT}"));
        let emulator = Self {
            _process: process,
            port,
            log,
        };
        emulator.wait_until_listening(Duration::from_secs(60));
        emulator
    }

    fn wait_until_listening(&self, limit: Duration) {
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < limit,
                "cargo lambda watch did not listen on port {} within {limit:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The emulator's address, `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Runs `cargo lambda invoke FUNCTION --data-file FILE` against this emulator and
    /// returns what the function answered (the raw Lambda response, as JSON).
    ///
    /// # Panics
    /// When the invocation fails.
    pub fn invoke(&self, function: &str, data_file: &Path) -> serde_json::Value {
        let output = Command::new(tool("cargo-lambda"))
            .current_dir(workspace_root())
            .args([
                "lambda",
                "invoke",
                function,
                "--invoke-address",
                "127.0.0.1",
            ])
            .args([
                "--invoke-port",
                &self.port.to_string(),
                "--output-format",
                "json",
            ])
            .arg("--data-file")
            .arg(data_file)
            .output()
            .unwrap_or_else(|e| panic!("cargo lambda invoke did not run ({e}): {INSTALL_HINT}"));
        assert!(
            output.status.success(),
            "cargo lambda invoke failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "cargo lambda invoke printed no JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// The Lambda Invoke API URL of `function`, for events that are not HTTP requests.
    pub fn invoke_url(&self, function: &str) -> String {
        format!(
            "http://127.0.0.1:{}/2015-03-31/functions/{function}/invocations",
            self.port
        )
    }

    /// Sends `request` with the time a first request may take (it may compile the
    /// function) and reads its JSON answer.
    ///
    /// # Panics
    /// When there is no answer, or it is not JSON.
    pub async fn json_answer(request: reqwest::RequestBuilder) -> serde_json::Value {
        let response = request
            .timeout(Self::FIRST_REQUEST_TIMEOUT)
            .send()
            .await
            .expect("the emulator answers");
        response.json().await.expect("a JSON answer")
    }

    /// The function URL of `function` for `path` (which starts with `/`).
    pub fn function_url(&self, function: &str, path: &str) -> String {
        format!("http://127.0.0.1:{}/lambda-url/{function}{path}", self.port)
    }
}
