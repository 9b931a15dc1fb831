//! Plans end to end: the `tokengate` binary against moto (DynamoDB, and API Gateway's usage
//! plans, API keys and usage plan keys), and `tokengate serve` counting a client's requests
//! against its plan (`rate_limits: tokengate`) in moto's DynamoDB.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use aws_sdk_apigateway::Client as ApiGateway;
use serde_json::{Value, json};
use tokengate_shared::KeyId;
use tokengate_shared::plan::usage_identifier;
use tokengate_tests::{Moto, ProcessGroup, unique_name};

struct Cli {
    moto: Moto,
    tables: Vec<(&'static str, String)>,
}

impl Cli {
    fn ready() -> Self {
        let tables = [
            "KEYS_TABLE",
            "TOKENS_TABLE",
            "SIGNING_KEYS_TABLE",
            "PLANS_TABLE",
            "USAGE_TABLE",
        ]
        .into_iter()
        .map(|name| (name, unique_name(&name.to_lowercase())))
        .collect();
        let cli = Self {
            moto: Moto::start(),
            tables,
        };
        cli.json(&["tables", "create"]);
        cli
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.moto.env();
        env.extend(
            self.tables
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone())),
        );
        env
    }

    fn table(&self, name: &str) -> String {
        self.tables
            .iter()
            .find(|(k, _)| *k == name)
            .unwrap()
            .1
            .clone()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tokengate"))
            .args(args)
            .envs(self.env())
            .output()
            .expect("tokengate runs")
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(&[args, &["--json"]].concat());
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }

    fn api_gateway(&self) -> ApiGateway {
        let config = aws_sdk_apigateway::Config::builder()
            .behavior_version(aws_sdk_apigateway::config::BehaviorVersion::latest())
            .region(aws_sdk_apigateway::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_apigateway::config::Credentials::for_tests())
            .endpoint_url(self.moto.endpoint())
            .http_client(
                tokengate_shared::store::dynamodb::sdk_http_client(&Default::default()).unwrap(),
            )
            .build();
        ApiGateway::from_conf(config)
    }
}

/// A REST API with a deployed stage `prod`, on moto: its id.
async fn rest_api(gateway: &ApiGateway) -> String {
    let api = gateway
        .create_rest_api()
        .name("orders")
        .send()
        .await
        .unwrap();
    let api_id = api.id().unwrap().to_owned();
    let resources = gateway
        .get_resources()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    let root = resources.items()[0].id().unwrap().to_owned();
    gateway
        .put_method()
        .rest_api_id(&api_id)
        .resource_id(&root)
        .http_method("GET")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    gateway
        .put_integration()
        .rest_api_id(&api_id)
        .resource_id(&root)
        .http_method("GET")
        .r#type(aws_sdk_apigateway::types::IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    gateway
        .create_deployment()
        .rest_api_id(&api_id)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    api_id
}

/// The values of the API keys in a usage plan.
async fn key_values(gateway: &ApiGateway, usage_plan: &str) -> Vec<String> {
    let keys = gateway
        .get_usage_plan_keys()
        .usage_plan_id(usage_plan)
        .send()
        .await
        .unwrap();
    keys.items()
        .iter()
        .map(|k| k.value().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_plan_on_a_stage_is_an_api_gateway_usage_plan_holding_its_keys_by_their_derived_value() {
    let cli = Cli::ready();
    let gateway = cli.api_gateway();
    let api_id = rest_api(&gateway).await;
    let plan = cli.json(&[
        "plans", "create", "gold", "--rate", "5", "--burst", "10", "--quota", "100/day",
        "--tokens", "3/hour", "--api-id", &api_id, "--stage", "prod",
    ]);
    let usage_plan = plan["api_gateway"]["usage_plan_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let made = gateway
        .get_usage_plan()
        .usage_plan_id(&usage_plan)
        .send()
        .await
        .unwrap();
    let throttle = made.throttle().unwrap();
    assert_eq!((throttle.rate_limit(), throttle.burst_limit()), (5.0, 10));
    let quota = made.quota().unwrap();
    assert_eq!(quota.limit(), 100);
    assert_eq!(
        quota.period(),
        Some(&aws_sdk_apigateway::types::QuotaPeriodType::Day)
    );
    assert_eq!(made.api_stages()[0].api_id(), Some(api_id.as_str()));
    assert_eq!(made.api_stages()[0].stage(), Some("prod"));

    let key = cli.json(&["keys", "create", "--scope", "orders.read", "--plan", "gold"]);
    let key_id = KeyId::parse(key["key"].as_str().unwrap()).unwrap();
    assert_eq!(key["plan"], "gold");
    assert_eq!(
        key_values(&gateway, &usage_plan).await,
        [usage_identifier(&key_id)]
    );
    let listed = cli.json(&["plans", "list"]);
    assert_eq!(listed[0]["plan"], "gold");
    assert_eq!(
        listed[0]["counted_window"],
        json!({"milliseconds": 2000, "requests": 10})
    );

    let refused = cli.fails(&["plans", "delete", "gold"]);
    assert!(
        refused.contains("used by 1 key") && refused.contains(key_id.as_str()),
        "{refused}"
    );
    let cleared = cli.json(&["keys", "update", key_id.as_str(), "--clear-plan"]);
    assert_eq!(cleared["plan"], Value::Null);
    assert!(key_values(&gateway, &usage_plan).await.is_empty());
    cli.json(&["plans", "delete", "gold"]);
    assert!(
        gateway
            .get_usage_plan()
            .usage_plan_id(&usage_plan)
            .send()
            .await
            .is_err()
    );
}

#[test]
fn bad_plans_and_unknown_plans_are_refused_naming_what_is_wrong() {
    let cli = Cli::ready();
    for (args, says) in [
        (
            vec!["--rate", "0", "--burst", "1"],
            "0 is not in 1..=1000000",
        ),
        (
            vec!["--rate", "1", "--burst", "1", "--quota", "5/week"],
            "COUNT/day or COUNT/month",
        ),
        (
            vec!["--rate", "1", "--burst", "4000"],
            "at most an hour of requests",
        ),
        (
            vec!["--rate", "1", "--burst", "1", "--api-id", "abc"],
            "--stage",
        ),
    ] {
        let stderr = cli.fails(&[&["plans", "create", "p"], args.as_slice()].concat());
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let stderr = cli.fails(&["keys", "create", "--plan", "nope"]);
    assert!(stderr.contains("plan 'nope' does not exist"), "{stderr}");
    assert!(
        cli.json(&["keys", "list"]).as_array().unwrap().is_empty(),
        "no key was made"
    );
}

/// `tokengate serve` on moto's DynamoDB with `config`: its base URL, once it listens.
fn serve(cli: &Cli, config: &std::path::Path) -> (ProcessGroup, String) {
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
        .arg("--config")
        .arg(config)
        .envs(cli.env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut process = ProcessGroup::spawn(&mut command).unwrap();
    let stdout = process.child().stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let base = lines
        .by_ref()
        .find_map(|line| {
            line.split("listening on ")
                .nth(1)
                .map(|r| r.split_whitespace().next().unwrap_or("").to_owned())
        })
        .expect("serve prints its address");
    // Its log goes on on stdout: read, so that serve never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (process, base)
}

/// Milliseconds since the epoch.
fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    u64::try_from(since.unwrap().as_millis()).unwrap()
}

/// A client of `tokengate serve`: its key, and a token got at `/oauth2/token`.
struct Client<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    key: String,
    token: String,
}

impl<'a> Client<'a> {
    async fn new(http: &'a reqwest::Client, base: &'a str, key: &Value) -> Self {
        let id = key["key"].as_str().unwrap().to_owned();
        let token: Value = http
            .post(format!("{base}/oauth2/token"))
            .basic_auth(&id, key["secret"].as_str())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_owned();
        Self {
            http,
            base,
            key: id,
            token,
        }
    }

    /// `n` calls in a row: each status, and the body of each refusal.
    async fn calls(&self, n: usize) -> Vec<(u16, Value)> {
        let mut answers = Vec::new();
        for _ in 0..n {
            let response = self
                .http
                .get(format!("{}/orders", self.base))
                .header("x-api-key", &self.key)
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            answers.push((status, response.json::<Value>().await.unwrap_or_default()));
        }
        answers
    }

    /// `n` calls within one two-second rate window, starting as it opens.
    async fn calls_in_one_window(&self, n: usize) -> Vec<(u16, Value)> {
        loop {
            let wait = 2_000 - now_ms() % 2_000 + 10;
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            let window = now_ms() / 2_000;
            let answers = self.calls(n).await;
            if now_ms() / 2_000 == window {
                return answers;
            }
        }
    }
}

#[tokio::test]
async fn serve_holds_a_client_to_its_rate_and_quota_and_leaves_a_client_without_a_plan_alone() {
    let cli = Cli::ready();
    cli.json(&["plans", "create", "small", "--rate", "2", "--burst", "4"]);
    cli.json(&[
        "plans", "create", "daily", "--rate", "100", "--burst", "100", "--quota", "3/day",
    ]);
    let create = |plan: Option<&str>| {
        let mut args = vec!["keys", "create", "--scope", "orders.read"];
        args.extend(plan.map(|p| ["--plan", p]).into_iter().flatten());
        cli.json(&args)
    };
    let (rated, quoted, free) = (create(Some("small")), create(Some("daily")), create(None));
    let config = std::env::temp_dir().join(format!("{}.json", unique_name("counted")));
    let pre_inputs = json!({"validation": {"style": "tokengate", "token_bound_to_api_key": false},
        "rate_limits": "tokengate"});
    std::fs::write(&config, pre_inputs.to_string()).unwrap();
    let (_server, base) = serve(&cli, &config);
    let http = reqwest::Client::new();

    // The rate: 4 per 2 s window (a burst of 4 at 2 a second); then the wait is named.
    let client = Client::new(&http, &base, &rated).await;
    let answers = client.calls_in_one_window(7).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 401, 401, 401], "{answers:?}");
    for (_, refused) in &answers[4..] {
        assert_eq!(refused["error"], "RateLimitExceeded", "{refused}");
        let description = refused["error_description"].as_str().unwrap();
        assert!(
            description.contains("allows 4 per 2 s; retry after"),
            "{description}"
        );
    }
    // The next window admits it again.
    let again = client.calls_in_one_window(1).await;
    assert_eq!(again[0].0, 200, "{again:?}");

    // The quota: 3 a day, then refused whatever the rate.
    let client = Client::new(&http, &base, &quoted).await;
    let answers = client.calls(5).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 200, 200, 401, 401], "{answers:?}");
    assert_eq!(answers[3].1["error"], "QuotaExceeded", "{answers:?}");
    let shown = cli.json(&["keys", "show", &client.key]);
    let windows = shown["usage"]["windows"].as_array().unwrap();
    let quota = windows.iter().find(|w| w["limit"] == "quota").unwrap();
    assert_eq!(
        (&quota["used"], &quota["remaining"]),
        (&json!(3), &json!(0)),
        "{shown}"
    );

    // A client without a plan: untouched, and nothing written for it.
    let client = Client::new(&http, &base, &free).await;
    assert!(client.calls(10).await.iter().all(|(s, _)| *s == 200));
    let items = cli
        .moto
        .client()
        .scan()
        .table_name(cli.table("USAGE_TABLE"))
        .send()
        .await
        .unwrap();
    assert!(!items.items().is_empty());
    assert!(
        items
            .items()
            .iter()
            .all(|i| !format!("{i:?}").contains(&client.key)),
        "nothing written for a key without a plan"
    );
    let _ = std::fs::remove_file(config);
}

#[tokio::test]
async fn past_its_plans_token_limit_a_client_gets_429_with_retry_after_naming_the_limit() {
    let cli = Cli::ready();
    cli.json(&[
        "plans", "create", "few", "--rate", "10", "--burst", "10", "--tokens", "2/hour",
    ]);
    let limited = cli.json(&["keys", "create", "--scope", "orders.read", "--plan", "few"]);
    let free = cli.json(&["keys", "create", "--scope", "orders.read"]);
    let config = std::env::temp_dir().join(format!("{}.json", unique_name("tokens")));
    std::fs::write(
        &config,
        json!({"validation": {"style": "tokengate"}}).to_string(),
    )
    .unwrap();
    let (_server, base) = serve(&cli, &config);
    let http = reqwest::Client::new();
    let ask = async |key: &Value| {
        http.post(format!("{base}/oauth2/token"))
            .basic_auth(key["key"].as_str().unwrap(), key["secret"].as_str())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
    };
    for _ in 0..2 {
        assert_eq!(ask(&limited).await.status(), 200);
    }
    let refused = ask(&limited).await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("at most 2/hour tokens"),
        "{description}"
    );
    for _ in 0..3 {
        assert_eq!(ask(&free).await.status(), 200, "a key without a plan");
    }
    let _ = std::fs::remove_file(config);
}
