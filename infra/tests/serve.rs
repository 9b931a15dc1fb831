//! `tokengate serve` over real HTTP: the user journey, each 401 body, header forging, an
//! upstream, and DynamoDB as the store.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tokengate_shared::store::dynamodb::DynamoKeyStore;
use tokengate_shared::{KeyAdmin, KeyId, KeyReader, KeyStatus};
use tokengate_tests::docs::shell_block;
use tokengate_tests::{
    ClosedPort, Moto, ProcessGroup, basic, inn_reach_token_request, unique_name,
};
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Server {
    _process: ProcessGroup,
    base: String,
    admin: String,
    /// What serve printed after its banner: its log.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    key: String,
    secret: String,
    http: reqwest::Client,
}

impl Server {
    fn start(args: &[&str], env: &[(String, String)]) -> Self {
        Self::start_on(0, args, env)
    }

    /// The same on `port` (0 picks a free one).
    fn start_on(port: u16, args: &[&str], env: &[(String, String)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tokengate"));
        command
            .args(["serve", "--port", &port.to_string(), "--admin-port", "0"])
            .args(args)
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut process = ProcessGroup::spawn(&mut command).expect("tokengate serve starts");
        let stdout = process.child().stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let (mut base, mut key, mut secret, mut admin) = (None, None, None, None);
        for line in lines.by_ref() {
            let after = |prefix: &str| {
                line.split(prefix)
                    .nth(1)
                    .map(|r| r.split_whitespace().next().unwrap_or("").to_owned())
            };
            base = base.or(after("listening on "));
            admin = admin.or(after("admin           GET  ").map(|health| {
                health
                    .trim_end_matches(',')
                    .trim_end_matches("/health")
                    .to_owned()
            }));
            key = key.or(after("demo key"));
            secret = secret.or(after("demo secret"));
            if secret.is_some() {
                break;
            }
        }
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || lines.for_each(|line| kept.lock().unwrap().push(line)));
        Self {
            log,
            _process: process,
            base: base.expect("the address is printed"),
            admin: admin.expect("the admin address is printed"),
            key: key.expect("the demo key is printed"),
            secret: secret.expect("the demo secret is printed"),
            http: reqwest::Client::new(),
        }
    }

    /// GET `path` with the demo key and a fresh token of it.
    async fn get_with_a_token(&self, path: &str) -> (u16, Value) {
        let bearer = format!("Bearer {}", self.token().await);
        self.get(
            path,
            &[("x-api-key", &self.key), ("Authorization", &bearer)],
        )
        .await
    }

    async fn token(&self) -> String {
        self.token_body().await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The body of a successful token response for the demo key.
    async fn token_body(&self) -> Value {
        let url = format!("{}/innreach/v2/oauth2/token", self.base);
        let response = inn_reach_token_request(&self.http, &url, &basic(&self.key, &self.secret))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        response.json().await.unwrap()
    }

    /// A GET on the admin port.
    async fn admin_get(&self, path: &str) -> reqwest::Response {
        let url = format!("{}{path}", self.admin);
        self.http.get(url).send().await.unwrap()
    }

    /// The request log line for `path`, once it is written.
    fn request_line(&self, path: &str) -> String {
        let needle = format!("path={path} ");
        for _ in 0..100 {
            let found = (self.log.lock().unwrap().iter())
                .find(|l| l.contains("reason=\"request\"") && l.contains(&needle))
                .cloned();
            if let Some(line) = found {
                return line;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!(
            "no request line for {path}: {:#?}",
            self.log.lock().unwrap()
        );
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

/// A pre-inputs file, removed when dropped.
struct TempConfig(std::path::PathBuf);

impl TempConfig {
    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn write_config(config: &Value) -> TempConfig {
    let path = std::env::temp_dir().join(format!("{}.json", unique_name("serve-pre-inputs")));
    std::fs::write(&path, config.to_string()).unwrap();
    TempConfig(path)
}

#[tokio::test]
async fn a_token_then_an_authorized_call_reaches_the_echo_with_injected_headers_and_no_authorization()
 {
    let server = Server::start(&[], &[]);
    let token = server.token().await;
    let bearer = format!("Bearer {token}");
    let (status, echo) = server
        .get(
            "/patrons/42?full=true",
            &[("x-api-key", &server.key), ("Authorization", &bearer)],
        )
        .await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/patrons/42");
    assert_eq!(echo["query"], "full=true");
    let headers = &echo["headers"];
    assert_eq!(headers["x-client-id"], server.key.as_str());
    assert_eq!(headers["x-from-code"], "d2ir1");
    assert_eq!(headers["x-to-code"], "abcde");
    assert!(
        headers.get("authorization").is_none(),
        "Authorization is blocked: {echo}"
    );
}

#[tokio::test]
async fn a_client_supplied_header_named_like_an_injected_one_is_dropped() {
    let server = Server::start(&[], &[]);
    let bearer = format!("Bearer {}", server.token().await);
    let (_, echo) = server
        .get(
            "/x",
            &[
                ("x-api-key", &server.key),
                ("Authorization", &bearer),
                ("X-Client-Id", "forged"),
                ("x-token-expires", "never"),
            ],
        )
        .await;
    assert_eq!(echo["headers"]["x-client-id"], server.key.as_str());
    assert_ne!(echo["headers"]["x-token-expires"], "never");
}

#[tokio::test]
async fn a_forged_header_is_dropped_even_when_the_path_injects_nothing() {
    let idp = MockServer::start().await;
    Mock::given(path("/userinfo"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"sub":"u-1"}"#, "application/json"),
        )
        .mount(&idp)
        .await;
    let config = write_config(&json!({
        "token_validation_uri": {"defaultURI": format!("{}/userinfo", idp.uri())},
        "inject_headers": {"X-User-Id": "$.sub", "X-User-Role": "$.role"}
    }));
    let server = Server::start(&["--config", config.arg()], &[]);
    let (status, echo) = server
        .get(
            "/x",
            &[
                ("x-api-key", &server.key),
                ("Authorization", "Bearer t"),
                ("X-User-Role", "admin"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(echo["headers"]["x-user-id"], "u-1");
    assert!(echo["headers"].get("x-user-role").is_none(), "{echo}");
    assert_eq!(
        echo["headers"]["authorization"], "Bearer t",
        "not blocked by this config"
    );
}

#[tokio::test]
async fn a_client_header_that_a_backend_could_read_as_an_injected_one_is_dropped() {
    let server = Server::start(&[], &[]);
    let bearer = format!("Bearer {}", server.token().await);
    let (status, echo) = server
        .get(
            "/x",
            &[
                ("x-api-key", &server.key),
                ("Authorization", &bearer),
                ("X_Client_Id", "evil"),
                ("x-token_expires", "never"),
                ("X-Unrelated", "kept"),
                ("X-Amzn-Oidc-Identity", "admin"),
                (
                    "X-Amzn-Trace-Id",
                    "Root=1-5759e988-bd862e3fe1be46a994272793",
                ),
            ],
        )
        .await;
    assert_eq!(status, 200, "{echo}");
    let headers = echo["headers"].as_object().unwrap();
    assert_eq!(headers["x-client-id"], server.key.as_str());
    assert!(!headers.contains_key("x_client_id"), "{echo}");
    assert!(!headers.contains_key("x-token_expires"), "{echo}");
    assert_eq!(headers["x-unrelated"], "kept");
    assert!(!headers.contains_key("x-amzn-oidc-identity"), "{echo}");
    assert!(headers.contains_key("x-amzn-trace-id"), "tracing goes on");
}

#[tokio::test]
async fn duplicate_credentials_over_http_are_denied_by_name_and_never_forwarded() {
    let idp = MockServer::start().await;
    Mock::given(path("/userinfo"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"sub":"u-1"}"#, "application/json"),
        )
        .mount(&idp)
        .await;
    let config = write_config(&json!({
        "token_validation_uri": {"defaultURI": format!("{}/userinfo", idp.uri())},
        "inject_headers": {"X-User-Id": "$.sub"}
    }));
    let server = Server::start(&["--config", config.arg()], &[]);
    let (status, body) = server
        .get(
            "/x",
            &[
                ("x-api-key", &server.key),
                ("Authorization", "Bearer forged"),
                ("Authorization", "Bearer good"),
            ],
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "MultipleAuthorizationHeadersInRequest");
    let (status, body) = server
        .get(
            "/x",
            &[
                ("X-Api-Key", "bogus"),
                ("x-api-key", &server.key),
                ("Authorization", "Bearer good"),
            ],
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "MultipleApiKeysInRequest");
    let key_query = format!("/x?api_key={}", "bogus");
    let (status, body) = server
        .get(
            &key_query,
            &[("x-api-key", &server.key), ("Authorization", "Bearer good")],
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "MultipleApiKeysInRequest");
    assert!(
        idp.received_requests().await.unwrap().is_empty(),
        "nothing ambiguous was validated"
    );
    let (status, echo) = server
        .get(
            "/x",
            &[("x-api-key", &server.key), ("Authorization", "Bearer good")],
        )
        .await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(echo["headers"]["authorization"], "Bearer good");
    assert_eq!(echo["headers"]["x-api-key"], server.key.as_str());
}

#[tokio::test]
async fn every_denial_is_a_401_with_the_gateway_responses_json_body() {
    let server = Server::start(&[], &[]);
    let no_default = write_config(
        &json!({"token_validation_uri": {"regionCodeHeader": "X-Region", "regionCodeValue": {"FR": "http://127.0.0.1:9/x"}}}),
    );
    let regional = Server::start(&["--config", no_default.arg()], &[]);
    let closed = ClosedPort::new();
    let dead = write_config(
        &json!({"token_validation_uri": {"defaultURI": format!("{}/x", closed.url())}}),
    );
    let unreachable = Server::start(&["--config", dead.arg()], &[]);

    type Case<'a> = (&'a Server, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            &server,
            vec![("Authorization", "Bearer x")],
            "ApiKeyNotPresentInRequest",
        ),
        (
            &server,
            vec![("x-api-key", "nobody"), ("Authorization", "Bearer x")],
            "ApiKeyNotValid",
        ),
        (
            &server,
            vec![("x-api-key", &server.key)],
            "AuthorizationHeaderNotPresentInRequest",
        ),
        (
            &server,
            vec![
                ("x-api-key", &server.key),
                ("Authorization", "Bearer never-issued"),
            ],
            "TokenValidationFails",
        ),
        (
            &regional,
            vec![("x-api-key", &regional.key), ("Authorization", "Bearer x")],
            "DefaultTokenValidationURINotPresent",
        ),
        (
            &unreachable,
            vec![
                ("x-api-key", &unreachable.key),
                ("Authorization", "Bearer x"),
            ],
            "TargetEndpointError",
        ),
    ];
    for (server, headers, error) in cases {
        let (status, body) = server.get("/patrons/42", &headers).await;
        assert_eq!(status, 401, "{error}: {body}");
        assert_eq!(body["error"], error);
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        assert_eq!(body.as_object().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn authorized_requests_are_forwarded_to_the_upstream_with_the_injected_headers() {
    let upstream = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/patrons/42"))
        .and(header("x-from-code", "d2ir1"))
        .and(header_exists("x-client-id"))
        .respond_with(
            ResponseTemplate::new(201).set_body_raw(r#"{"created":true}"#, "application/json"),
        )
        .expect(1)
        .mount(&upstream)
        .await;
    let upstream_url = format!("{}/api", upstream.uri());
    let server = Server::start(&["--upstream", &upstream_url], &[]);
    let bearer = format!("Bearer {}", server.token().await);
    let response = server
        .http
        .post(format!("{}/patrons/42", server.base))
        .header("x-api-key", &server.key)
        .header("Authorization", &bearer)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let requests = upstream.received_requests().await.unwrap();
    assert!(requests[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn with_the_dynamodb_store_keys_and_tokens_live_in_dynamodb() {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    let mut env = moto.env();
    env.push(("KEYS_TABLE".into(), keys_table.clone()));
    env.push(("TOKENS_TABLE".into(), tokens_table.clone()));
    let server = Server::start(&["--store", "dynamodb", "--demo-key"], &env);
    let token = server.token().await;
    let bearer = format!("Bearer {token}");
    let (status, _) = server
        .get(
            "/x",
            &[("x-api-key", &server.key), ("Authorization", &bearer)],
        )
        .await;
    assert_eq!(status, 200);
    let keys = moto
        .client()
        .scan()
        .table_name(&keys_table)
        .send()
        .await
        .unwrap();
    assert_eq!(keys.items().len(), 1, "the demo key is in DynamoDB");
    let tokens = moto
        .client()
        .scan()
        .table_name(&tokens_table)
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.items().len(), 1, "the token's hash is in DynamoDB");
}

#[tokio::test]
async fn the_readme_run_command_starts_the_whole_stack() {
    let test = "the_readme_run_command_starts_the_whole_stack";
    let documented = shell_block("README.md", test);
    assert_eq!(documented, shell_block("docs/running-locally.md", test));
    // As documented, on free ports: 3000 and 3001 may be taken where the suite runs.
    let words: Vec<&str> = documented.split_whitespace().collect();
    let mut command = Command::new(words[0]);
    command
        .current_dir(tokengate_tests::workspace_root())
        .args(&words[1..])
        .args(["--port", "0", "--admin-port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut process = ProcessGroup::spawn(&mut command).expect("cargo run starts");
    let stdout = process.child().stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let base = lines
        .find_map(|line| line.split("listening on ").nth(1).map(str::to_owned))
        .expect("the server says where it listens");
    std::thread::spawn(move || lines.for_each(drop));
    let (status, body): (u16, Value) = {
        let response = reqwest::get(format!("{base}/patrons/42")).await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    };
    assert_eq!(status, 401);
    assert_eq!(body["error"], "ApiKeyNotPresentInRequest");
    drop(process);
}

#[tokio::test]
async fn the_token_lifetime_follows_token_ttl_seconds_as_in_lambda() {
    let server = Server::start(&[], &[("TOKEN_TTL_SECONDS".into(), "42".into())]);
    let body = server.token_body().await;
    assert_eq!(body["expires_in"], 42);
}

/// Reads from `stream` until the server closes it, or `limit` passes; whether it closed.
fn closed_within(stream: &mut std::net::TcpStream, limit: std::time::Duration) -> bool {
    use std::io::Read as _;
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_client_that_sends_headers_too_slowly_or_idles_is_disconnected() {
    use std::io::Write as _;
    let server = Server::start(&["--header-timeout", "1s"], &[]);
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut slowloris = std::net::TcpStream::connect(&address).unwrap();
    slowloris
        .write_all(b"GET /x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    assert!(
        closed_within(&mut slowloris, std::time::Duration::from_secs(10)),
        "an unfinished header section is cut off"
    );
    println!("slow headers cut off after {:?}", started.elapsed());
    let mut idle = std::net::TcpStream::connect(&address).unwrap();
    assert!(
        closed_within(&mut idle, std::time::Duration::from_secs(10)),
        "an idle connection is closed"
    );
}

#[tokio::test]
async fn a_stalled_upstream_is_a_json_504_after_the_upstream_timeout() {
    let stalled = tokengate_tests::StalledPort::new();
    let server = Server::start(
        &["--upstream", &stalled.url(), "--upstream-timeout", "1s"],
        &[],
    );
    let bearer = format!("Bearer {}", server.token().await);
    let started = std::time::Instant::now();
    let (status, body) = server
        .get(
            "/x",
            &[("x-api-key", &server.key), ("Authorization", &bearer)],
        )
        .await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"], "upstream_timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn too_many_headers_and_too_large_a_body_get_json_answers() {
    let server = Server::start(&[], &[]);
    let mut request = server.http.get(format!("{}/x", server.base));
    for i in 0..101 {
        request = request.header(format!("x-extra-{i}"), "1");
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 431);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "request_header_fields_too_large");
    let response = server
        .http
        .post(format!("{}/x", server.base))
        .body(vec![b'x'; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "request_too_large");
}

#[tokio::test]
async fn the_jwt_example_enforces_oidc_provider_tokens_end_to_end() {
    let provider = tokengate_tests::OidcProvider::start("RS256");
    let example = std::fs::read_to_string(
        tokengate_tests::workspace_root().join("infra/examples/pre-inputs-jwt.json"),
    )
    .unwrap()
    .replace(
        "https://idp.example/.well-known/jwks.json",
        &provider.jwks_uri(),
    )
    .replace("https://idp.example/", provider.issuer())
    .replace("api://orders", tokengate_tests::OidcProvider::RESOURCE);
    let config = write_config(&serde_json::from_str(&example).unwrap());
    let server = Server::start(&["--config", config.arg()], &[]);
    let token = provider.access_token(&server.http, "orders.read").await;
    let bearer = format!("Bearer {token}");
    let (status, echo) = server
        .get(
            "/orders/7",
            &[("x-api-key", &server.key), ("Authorization", &bearer)],
        )
        .await;
    assert_eq!(status, 200, "{echo}");
    let client = tokengate_tests::OidcProvider::CLIENT_ID;
    assert_eq!(echo["headers"]["x-client-id"], client);
    assert_eq!(echo["headers"]["x-user-id"], client);
    assert!(echo["headers"].get("authorization").is_none(), "{echo}");

    let write_only = provider.access_token(&server.http, "orders.write").await;
    let (status, body) = server
        .get(
            "/orders/7",
            &[
                ("x-api-key", &server.key),
                ("Authorization", &format!("Bearer {write_only}")),
            ],
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"error": "TokenValidationFails", "error_description": "The token lacks a required scope."})
    );
}

#[tokio::test]
async fn brute_force_throttling_follows_the_token_settings_and_spares_the_right_secret() {
    let server = Server::start(
        &[],
        &[
            ("TOKEN_MAX_FAILURES".into(), "2".into()),
            ("TOKEN_FAILURE_WINDOW_SECONDS".into(), "60".into()),
        ],
    );
    let url = format!("{}/innreach/v2/oauth2/token", server.base);
    for _ in 0..2 {
        let wrong = inn_reach_token_request(&server.http, &url, &basic(&server.key, "wrong"));
        assert_eq!(wrong.send().await.unwrap().status(), 401);
    }
    let third = inn_reach_token_request(&server.http, &url, &basic(&server.key, "wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), 429);
    let retry_after: u64 = third.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    let right = inn_reach_token_request(&server.http, &url, &basic(&server.key, &server.secret));
    assert_eq!(right.send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_default_stack_enforces_its_own_tokens_and_denies_a_revoked_one_on_the_next_request() {
    let server = Server::start(&[], &[]);
    let token = server.token().await;
    let bearer = format!("Bearer {token}");
    let headers = [
        ("x-api-key", server.key.as_str()),
        ("Authorization", bearer.as_str()),
    ];
    assert_eq!(server.get("/x", &headers).await.0, 200);
    let revoked = server
        .http
        .post(format!("{}/oauth2/revoke", server.base))
        .basic_auth(&server.key, Some(&server.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let (status, body) = server.get("/x", &headers).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "TokenValidationFails", "{body}");
}

#[tokio::test]
async fn the_metadata_document_names_this_servers_own_endpoints_and_a_generic_client_gets_a_token()
{
    let server = Server::start(&[], &[]);
    let metadata: Value = server
        .http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], server.base.as_str());
    let token_endpoint = metadata["token_endpoint"].as_str().unwrap();
    assert_eq!(token_endpoint, format!("{}/oauth2/token", server.base));
    let response = server
        .http
        .post(token_endpoint)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", server.key.as_str()),
            ("client_secret", server.secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let (status, echo) = server
        .get(
            "/x",
            &[("x-api-key", &server.key), ("Authorization", &bearer)],
        )
        .await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(echo["headers"]["x-client-id"], server.key.as_str());
    assert!(echo["headers"].get("x-from-code").is_none(), "{echo}");
}

/// `tokengate serve` on free ports, and what it printed up to "Stop the server": it stops
/// when the returned process group is dropped.
fn serve_with_banner() -> (ProcessGroup, Vec<String>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokengate"));
    command
        .args(["serve", "--port", "0", "--admin-port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut process = ProcessGroup::spawn(&mut command).expect("tokengate serve starts");
    let stdout = process.child().stdout.take().expect("stdout is piped");
    let banner: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|line| !line.starts_with("Stop the server"))
        .collect();
    (process, banner)
}

/// What `script` prints, run in bash as a user pastes it: `expected` lines, or the failure
/// with both streams.
fn bash_lines(script: &str, expected: usize) -> Vec<String> {
    let output = Command::new("bash")
        .args(["-c", script])
        .output()
        .expect("bash runs the commands");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_eq!(
        lines.len(),
        expected,
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    lines
}

/// The commands of serve's printed walkthrough, as a user pastes them: each indented block
/// after "Try it", its `\` continuations joined.
fn walkthrough_commands(banner: &[String]) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    let walkthrough = banner.iter().skip_while(|l| !l.starts_with("Try it"));
    for line in walkthrough.filter(|l| l.starts_with("   ")) {
        match line.trim().strip_suffix('\\') {
            Some(continued) => current.push_str(continued),
            None => {
                current.push_str(line.trim());
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}

#[test]
fn the_printed_walkthrough_runs_as_pasted_from_a_token_to_an_allow_and_a_named_denial() {
    assert!(
        Command::new("curl").arg("--version").output().is_ok(),
        "the walkthrough uses curl: install it (apt-get install curl)"
    );
    let (_process, banner) = serve_with_banner();
    let commands = walkthrough_commands(&banner);
    assert_eq!(commands.len(), 6, "{banner:#?}");
    assert!(
        banner.iter().any(|l| l.contains("held in memory (no KMS)")),
        "the banner says how JWTs are signed: {banner:#?}"
    );

    let lines = bash_lines(&commands.join("\n"), 6);
    let token = lines[0]
        .strip_prefix("TOKEN=")
        .expect("the token is echoed");
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    let allowed: Value = serde_json::from_str(&lines[1]).expect("the echo answers JSON");
    assert_eq!(allowed["path"], "/patrons/42", "{allowed}");
    assert!(allowed["headers"]["x-client-id"].is_string(), "{allowed}");
    assert!(
        allowed["headers"].get("authorization").is_none(),
        "{allowed}"
    );
    let denied: Value = serde_json::from_str(&lines[2]).expect("the denial is JSON");
    assert_eq!(
        denied["error"], "AuthorizationHeaderNotPresentInRequest",
        "{denied}"
    );
    let reader = lines[3]
        .strip_prefix("READER=")
        .expect("the reader's token is echoed");
    assert_eq!(
        reader.len(),
        32,
        "a token for innreach_tp orders.read: {reader}"
    );
    let read: Value = serde_json::from_str(&lines[4]).expect("the echo answers JSON");
    assert_eq!(read["path"], "/orders/7", "{read}");
    let refused: Value = serde_json::from_str(&lines[5]).expect("the refusal is JSON");
    assert_eq!(refused["error"], "insufficient_scope", "{refused}");
    assert_eq!(
        refused["error_description"],
        "The token lacks the scopes this route requires. It needs all of orders.write.",
        "{refused}"
    );
}

#[test]
fn the_getting_started_oauth_client_commands_run_against_serve() {
    let block = shell_block(
        "docs/running-locally.md",
        "the_getting_started_oauth_client_commands_run_against_serve",
    );
    let (_process, banner) = serve_with_banner();
    let base = banner
        .iter()
        .find_map(|l| l.split("listening on ").nth(1))
        .expect("serve says where it listens");
    let export = banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("as variables"))
        .expect("serve prints the demo key as shell variables")
        .trim();
    // The commands as documented, on serve's free port instead of 3000.
    let script = format!("{export}\n{}", block.replace("http://127.0.0.1:3000", base));
    let lines = bash_lines(&script, 4);
    let metadata: Value = serde_json::from_str(&lines[0]).expect("the metadata is JSON");
    assert_eq!(metadata["token_endpoint"], format!("{base}/oauth2/token"));
    let allowed: Value = serde_json::from_str(&lines[1]).expect("the echo answers JSON");
    assert!(allowed["headers"]["x-client-id"].is_string(), "{allowed}");
    assert_eq!(lines[2], "{}", "revocation answers an empty object");
    let denied: Value = serde_json::from_str(&lines[3]).expect("the denial is JSON");
    assert_eq!(denied["error"], "TokenValidationFails", "{denied}");
}

#[test]
fn serve_on_dynamodb_that_cannot_be_reached_says_so_in_one_line_naming_the_endpoint_variable() {
    let closed = ClosedPort::new();
    for (env, cause) in [
        (
            vec![
                ("AWS_ENDPOINT_URL_DYNAMODB", closed.url()),
                ("AWS_ACCESS_KEY_ID", "test".into()),
                ("AWS_SECRET_ACCESS_KEY", "test".into()),
                ("AWS_REGION", "us-east-1".into()),
            ],
            "Connection refused",
        ),
        (vec![], "no credentials"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_tokengate"))
            .args([
                "serve",
                "--store",
                "dynamodb",
                "--port",
                "0",
                "--admin-port",
                "0",
            ])
            .env_clear()
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", std::env::temp_dir())
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .expect("tokengate runs");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: cannot reach DynamoDB at ")
                && stderr.contains(cause)
                && stderr.contains("AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:PORT"),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn the_admin_port_reports_health_and_counts_the_requests_sent_in_prometheus_text() {
    let server = Server::start(&[], &[]);
    let health = server.admin_get("/health").await;
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.unwrap();
    assert_eq!(
        health,
        json!({"status": "ok", "store": {"kind": "memory", "reachable": true}})
    );

    let token = server.token().await;
    let bearer = format!("Bearer {token}");
    for _ in 0..3 {
        let (status, _) = server
            .get(
                "/patrons/42",
                &[("x-api-key", &server.key), ("Authorization", &bearer)],
            )
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = server
        .get("/patrons/42", &[("x-api-key", "no-such-key")])
        .await;
    assert_eq!(status, 401);

    let metrics = server.admin_get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
    );
    let text = metrics.text().await.unwrap();
    let sample = |series: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
    };
    assert_eq!(
        sample(r#"tokengate_decisions_total{result="Allow",error="None"}"#),
        3.0,
        "{text}"
    );
    assert_eq!(
        sample(r#"tokengate_decisions_total{result="Deny",error="ApiKeyNotValid"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(sample("tokengate_tokens_issued_total"), 1.0, "{text}");
    assert!(
        text.contains("# TYPE tokengate_decisions_total counter"),
        "{text}"
    );
    // Every name follows Prometheus' conventions: snake case, namespaced, counters in
    // _total, and a unit on what is not a count.
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut words = line.split(' ').skip(2);
        let (name, kind) = (words.next().unwrap(), words.next().unwrap());
        assert!(name.starts_with("tokengate_"), "{line}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{line}"
        );
        match kind {
            "counter" => assert!(name.ends_with("_total"), "{line}"),
            _ => assert!(
                name.ends_with("_milliseconds") || name.ends_with("_seconds"),
                "{line}"
            ),
        }
    }

    let unknown = server.admin_get("/nothing").await;
    assert_eq!(unknown.status(), 404);
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(unknown["error"], "not_found");
}

#[tokio::test]
async fn the_admin_health_is_503_naming_the_problem_when_dynamodb_is_unreachable() {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    let mut env = moto.env();
    env.push(("KEYS_TABLE".into(), keys_table));
    env.push(("TOKENS_TABLE".into(), tokens_table));
    let server = Server::start(&["--store", "dynamodb", "--demo-key"], &env);
    let health: Value = server.admin_get("/health").await.json().await.unwrap();
    assert_eq!(health["store"]["reachable"], true, "{health}");

    drop(moto);
    let response = server.admin_get("/health").await;
    assert_eq!(response.status(), 503);
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "unavailable", "{health}");
    assert_eq!(health["store"]["kind"], "dynamodb", "{health}");
    assert_eq!(health["store"]["reachable"], false, "{health}");
    assert!(
        health["store"]["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{health}"
    );
}

#[tokio::test]
async fn each_request_line_has_a_timestamp_the_latency_the_decision_and_an_upstream_failure() {
    let closed = ClosedPort::new();
    let server = Server::start(&["--upstream", &closed.url()], &[]);
    let bearer = format!("Bearer {}", server.token().await);
    let (status, _) = server
        .get(
            "/to-nowhere",
            &[("x-api-key", &server.key), ("Authorization", &bearer)],
        )
        .await;
    assert_eq!(status, 502);
    let (status, _) = server.get("/denied", &[("x-api-key", &server.key)]).await;
    assert_eq!(status, 401);

    let failed = server.request_line("/to-nowhere");
    let timestamp = failed.split_whitespace().next().unwrap();
    assert!(
        timestamp.len() >= 20 && timestamp.starts_with("20") && timestamp.ends_with('Z'),
        "an RFC 3339 timestamp first: {failed}"
    );
    for field in [
        "status=502",
        "latency_ms=",
        "decision=allow",
        "decision_reason=\"allowed\"",
        "upstream_failure=",
        "Connection refused",
    ] {
        assert!(failed.contains(field), "{field} missing: {failed}");
    }
    let denied = server.request_line("/denied");
    for field in [
        "status=401",
        "latency_ms=",
        "decision=deny:AuthorizationHeaderNotPresentInRequest",
        "decision_reason=\"authorization_header_missing\"",
        "upstream_failure=\"\"",
    ] {
        assert!(denied.contains(field), "{field} missing: {denied}");
    }
}

#[tokio::test]
async fn on_dynamodb_serve_leaves_no_demo_key_unless_asked_and_disables_the_one_it_made_on_stop() {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    let mut env = moto.env();
    env.push(("KEYS_TABLE".into(), keys_table.clone()));
    env.push(("TOKENS_TABLE".into(), tokens_table));
    let keys = DynamoKeyStore::new(moto.client(), &keys_table);

    let mut command = Command::new(env!("CARGO_BIN_EXE_tokengate"));
    command
        .args([
            "serve",
            "--port",
            "0",
            "--admin-port",
            "0",
            "--store",
            "dynamodb",
        ])
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut plain = ProcessGroup::spawn(&mut command).unwrap();
    let stdout = plain.child().stdout.take().unwrap();
    let said: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|line| !line.contains("--demo-key"))
        .collect();
    assert!(said.join("\n").contains("no demo key"), "{said:?}");
    assert!(keys.list().await.unwrap().is_empty(), "no key was made");
    drop(plain);

    let server = Server::start(&["--store", "dynamodb", "--demo-key"], &env);
    let id = KeyId::parse(&server.key).unwrap();
    let made = keys.get(&id).await.unwrap().unwrap();
    assert_eq!(made.status, KeyStatus::Active);
    drop(server);
    let after = keys.get(&id).await.unwrap().unwrap();
    assert_eq!(
        after.status,
        KeyStatus::Disabled,
        "disabled when serve stopped"
    );
}

#[tokio::test]
async fn a_path_with_a_dot_segment_is_refused_before_the_authorizer_or_the_upstream_sees_it() {
    let upstream = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&upstream)
        .await;
    let base = format!("{}/base", upstream.uri());
    let server = Server::start(&["--upstream", &base], &[]);
    let token = server.token().await;
    let bearer = format!("Bearer {token}");
    for path in [
        "/../x",
        "/%2e%2e/x",
        "/a/%2E%2E/x",
        "/a/./x",
        "/a/.%2e/x",
        "/a/%2e",
    ] {
        let url = format!("{}{path}", server.base);
        let answer = raw_get(&url, &server.key, &bearer).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(answer.contains("application/json"), "{path}: {answer}");
        assert!(answer.contains("dot segment"), "{path}: {answer}");
    }
    let (status, _) = server
        .get(
            "/a/b..c/x",
            &[("x-api-key", &server.key), ("Authorization", &bearer)],
        )
        .await;
    assert_eq!(status, 200, "dots inside a segment are fine");
    let requests = upstream.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/base/a/b..c/x");
}

/// A GET sent as written: clients resolve dot segments before sending, an attacker does not.
async fn raw_get(url: &str, key: &str, bearer: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let url = url.strip_prefix("http://").unwrap();
    let (host, path) = url.split_at(url.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nx-api-key: {key}\r\nAuthorization: {bearer}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn heads_past_hypers_own_limits_and_malformed_requests_still_get_json_answers() {
    let server = Server::start(&[], &[]);
    let host = server.base.strip_prefix("http://").unwrap().to_owned();
    let many: String = (0..1_200).map(|i| format!("x-h{i}: 1\r\n")).collect();
    let huge = format!("x-big: {}\r\n", "a".repeat(500 * 1024));
    for (what, head) in [
        (
            "1,200 headers",
            format!("GET /x HTTP/1.1\r\nHost: {host}\r\n{many}\r\n"),
        ),
        (
            "a 500 KB header",
            format!("GET /x HTTP/1.1\r\nHost: {host}\r\n{huge}\r\n"),
        ),
        (
            "a malformed request line",
            "GET /x HTTP/9.9 nonsense\r\n\r\n".to_owned(),
        ),
    ] {
        let answer = raw_exchange(&host, head.as_bytes()).await;
        let status = answer.split(' ').nth(1).unwrap_or_default().to_owned();
        assert!(status == "431" || status == "400", "{what}: {answer}");
        assert!(
            answer.contains("content-type: application/json"),
            "{what}: {answer}"
        );
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{what}: {answer}"));
        assert!(body["error"].is_string(), "{what}: {body}");
    }
}

/// Sends `request` as written and reads the answer until the server closes.
async fn raw_exchange(host: &str, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    // The server may answer and close before it has read everything: not a failure here.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_strangers_hundred_wrong_secrets_for_the_rfc7662_authorizers_client_stop_neither_it_nor_the_api()
 {
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    let keys = DynamoKeyStore::new(moto.client(), &keys_table);
    let (authorizer_key, authorizer_secret) = tokengate_shared::ClientKey::generate(
        [tokengate_shared::SystemCode::parse("d2ir1").unwrap()].into(),
        Some("the rfc7662 authorizer's own client".into()),
        1,
    );
    keys.create(&authorizer_key).await.unwrap();
    let port = tokengate_tests::free_port();
    // The committed kind of pre-inputs: the client id is in the file, the secret is not.
    let config = std::env::temp_dir().join(format!("{}.json", unique_name("rfc7662-self")));
    let pre_inputs = json!({
        "token_validation_uri": {"defaultURI": format!("http://127.0.0.1:{port}/oauth2/introspect")},
        "validation": {"style": "rfc7662", "client_id": authorizer_key.id.as_str(),
            "client_secret": {"env": "AUTHORIZER_CLIENT_SECRET"}},
    });
    std::fs::write(&config, pre_inputs.to_string()).unwrap();
    let mut env = moto.env();
    env.push(("KEYS_TABLE".into(), keys_table));
    env.push(("TOKENS_TABLE".into(), tokens_table));
    env.push((
        "AUTHORIZER_CLIENT_SECRET".into(),
        authorizer_secret.expose().to_owned(),
    ));
    let config_arg = config.display().to_string();
    let server = Server::start_on(
        port,
        &["--store", "dynamodb", "--demo-key", "--config", &config_arg],
        &env,
    );
    let introspect = format!("{}/oauth2/introspect", server.base);
    let mut statuses = Vec::new();
    for _ in 0..100 {
        let wrong = server
            .http
            .post(&introspect)
            .basic_auth(authorizer_key.id.as_str(), Some("a-guess"))
            .form(&[("token", "x")]);
        statuses.push(wrong.send().await.unwrap().status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert!(
        statuses[10..].iter().all(|s| *s == 429),
        "the stranger is throttled"
    );

    let (status, body) = server.get_with_a_token("/x").await;
    assert_eq!(status, 200, "the API still allows a valid token: {body}");
    let _ = std::fs::remove_file(config);
}

#[test]
fn an_upstream_without_a_scheme_is_refused_at_start_saying_what_to_write() {
    for (upstream, says) in [
        ("localhost:8080", "http://localhost:8080"),
        ("ftp://example.com/x", "http or https URL"),
        ("not a url", "not a URL"),
    ] {
        let out = serve_until_it_stops(&["--upstream", upstream]);
        assert!(!out.status.success(), "{upstream}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--upstream") && stderr.contains(says),
            "{upstream}: {stderr}"
        );
    }
}

#[test]
fn invalid_pre_inputs_stop_serve_at_start_naming_every_problem() {
    // Until now serve started anyway and denied every request under its "Try it" banner; the
    // configuration errors' denials are the authorizer's, tested in its decision tests.
    let bad = write_config(
        &json!({"inject_headers": {"X-A": "$[?"}, "block_authorisation_header": true}),
    );
    let out = serve_until_it_stops(&["--config", bad.arg()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("Try it"), "no banner: {stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for problem in [
        "token_validation_uri",
        "inject_headers.X-A: not a JSONPath",
        "block_authorisation_header: unknown key",
    ] {
        assert!(stderr.contains(problem), "{problem}: {stderr}");
    }
}

/// `tokengate serve` on free ports with `args`, run until it exits by itself (a refusal at
/// start): its output.
fn serve_until_it_stops(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tokengate"))
        .args(["serve", "--port", "0", "--admin-port", "0"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Pre-inputs with routes: reading orders needs `orders.read`, writing them `orders.admin`,
/// which the demo key does not hold.
fn orders_routes() -> TempConfig {
    write_config(&json!({
        "validation": {"style": "tokengate"},
        "inject_headers": {"X-Client-Id": "$.client_id"},
        "routes": [
            {"method": "GET", "path": "/orders/{id}", "scopes": ["orders.read"]},
            {"method": "POST", "path": "/orders", "scopes": ["orders.admin", "orders.write"]},
            {"method": "*", "path": "/health", "public": true}
        ]
    }))
}

impl Server {
    /// A token of the demo key for `scope`, from `/oauth2/token`.
    async fn scoped_token(&self, scope: &str) -> String {
        let response = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .basic_auth(&self.key, Some(&self.secret))
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn call(&self, method: reqwest::Method, path: &str, bearer: &str) -> (u16, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", &self.key)
            .header("Authorization", bearer)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// The decision reasons of the request lines for `path`, once there are `count`.
    fn decision_reasons(&self, path: &str, count: usize) -> Vec<String> {
        let needle = format!("path={path} ");
        let reasons = || -> Vec<String> {
            (self.log.lock().unwrap().iter())
                .filter(|l| l.contains("reason=\"request\"") && l.contains(&needle))
                .map(|l| {
                    l.split("decision_reason=")
                        .nth(1)
                        .and_then(|r| r.split_whitespace().next())
                        .unwrap_or("")
                        .trim_matches('"')
                        .to_owned()
                })
                .collect()
        };
        for _ in 0..100 {
            if reasons().len() >= count {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        reasons()
    }
}

#[tokio::test]
async fn with_the_authorizer_cache_a_refused_route_then_an_allowed_one_are_each_answered_right_from_one_answer()
 {
    let config = orders_routes();
    let server = Server::start(
        &["--config", config.arg(), "--authorizer-cache-ttl", "300"],
        &[],
    );
    let bearer = format!("Bearer {}", server.scoped_token("orders.read").await);
    // Route A, refused: the authorizer is invoked, and its answer cached.
    let (status, body) = server.call(reqwest::Method::POST, "/orders", &bearer).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(
        body["error_description"],
        "The token lacks the scopes this route requires. It needs all of orders.admin orders.write."
    );
    // Route B, allowed from the same cached answer: no new invocation.
    let (status, echo) = server
        .call(reqwest::Method::GET, "/orders/7", &bearer)
        .await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(echo["headers"]["x-client-id"], server.key.as_str());
    assert_eq!(
        server.decision_reasons("/orders", 1),
        ["route_scope_missing"]
    );
    assert_eq!(
        server.decision_reasons("/orders/7", 1),
        ["authorizer_cache"]
    );
    // And route A again, still refused from the cache.
    let (status, body) = server.call(reqwest::Method::POST, "/orders", &bearer).await;
    assert_eq!(
        (status, &body["error"]),
        (401, &json!("insufficient_scope"))
    );
    assert_eq!(
        server.decision_reasons("/orders", 2),
        ["route_scope_missing", "authorizer_cache"]
    );
    // With the cache on, a request missing an identity source never reaches the authorizer.
    let (status, body) = server.get("/orders/7", &[("x-api-key", &server.key)]).await;
    assert_eq!(
        (status, &body["error"]),
        (401, &json!("IdentityNotPresentInRequest"))
    );
}

#[tokio::test]
async fn with_routes_each_route_is_held_to_its_own_scopes() {
    let config = orders_routes();
    let server = Server::start(&["--config", config.arg()], &[]);
    let reader = format!("Bearer {}", server.scoped_token("orders.read").await);
    let writer = format!("Bearer {}", server.scoped_token("orders.write").await);
    assert_eq!(
        server
            .call(reqwest::Method::GET, "/orders/1", &reader)
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .call(reqwest::Method::GET, "/orders/1", &writer)
            .await
            .0,
        401
    );
    let (status, body) = server
        .call(reqwest::Method::GET, "/elsewhere", &reader)
        .await;
    assert_eq!(
        (status, &body["error"]),
        (401, &json!("insufficient_scope"))
    );
    assert_eq!(
        body["error_description"],
        "No route of this API's table matches the request, and unmatched routes are denied."
    );
    // A public route calls no authorizer: no API key, no token.
    let (status, echo) = server.get("/health", &[]).await;
    assert_eq!((status, &echo["path"]), (200, &json!("/health")), "{echo}");
    assert_eq!(server.decision_reasons("/health", 1), ["public_route"]);
}

#[tokio::test]
async fn with_token_format_jwt_serve_issues_jwts_from_a_key_in_memory_that_verifiers_and_it_accept()
{
    let env = [
        ("TOKEN_FORMAT".to_owned(), "jwt".to_owned()),
        ("SIGNING_ALGORITHM".to_owned(), "ES256".to_owned()),
    ];
    let server = Server::start(&[], &env);
    let token = server.token().await;
    assert_eq!(token.split('.').count(), 3, "{token}");
    let metadata = server.http.get(format!(
        "{}/.well-known/oauth-authorization-server",
        server.base
    ));
    let metadata: Value = metadata.send().await.unwrap().json().await.unwrap();
    let jwks_url = metadata["jwks_uri"].as_str().unwrap().to_owned();
    assert_eq!(jwks_url, format!("{}/.well-known/jwks.json", server.base));
    let jwks: Value = server
        .http
        .get(&jwks_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "current and next: {jwks}"
    );
    // The INN-Reach demo key has no audience: its tokens are for the issuer.
    let issuer = metadata["issuer"].as_str().unwrap();
    for result in tokengate_tests::clients::jwt_verifiers(&jwks_url, &token, issuer, issuer) {
        assert_eq!(result["verified"], true, "{result}");
        assert_eq!(result["claims"]["from_code"], "d2ir1", "{result}");
    }
    let (status, echoed) = server.get_with_a_token("/patrons/42").await;
    assert_eq!(status, 200, "{echoed}");
    assert_eq!(echoed["headers"]["x-client-id"], server.key.as_str());
}
