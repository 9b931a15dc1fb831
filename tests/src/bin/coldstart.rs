//! `coldstart`: the cold-start benchmark. Spawns each function binary the way Lambda does,
//! behind a Lambda Runtime API on loopback, N alternating rounds of `hello-lambda` (the
//! smallest `lambda_runtime` function, the baseline), `authorizer` (forward style, its API
//! key in DynamoDB), `token-issuer` (a token for the fixture key) and `token-issuer-jwt` (the
//! same binary issuing a JWT: the signing keys read and the current key decrypted with KMS
//! at the first request), `authorizer-jwt` (the same binary in the `jwt` style with a local
//! JWKS and API keys checked by API Gateway: no store, so no SDK client), `cache-flusher`
//! (a disabled key's stream record to one flush of a loopback API Gateway), with the tables
//! and KMS on moto, and a Python authorizer doing the forward style's work. Prints medians, min–max and the ratios
//! to the baseline. `--only authorizer` measures one function beside the baseline (for a
//! profiler, say). `--tls` puts DynamoDB behind HTTPS, as it is in AWS, so that the TLS
//! handshake is in the figures; `--no-warm-up` sets `DYNAMODB_WARM_UP=false`, so that the
//! functions open DynamoDB's connection at their first request instead of during init.
//!
//! `infra/scripts/coldstart [ROUNDS] [PROFILE] [OPTIONS]` builds the binaries and runs it.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokengate_tests::coldstart::{ColdStart, measure, median};
use tokengate_tests::loopback_tls::LoopbackTls;
use tokengate_tests::{DynamoCounter, Moto, sdk_env, workspace_root};

/// The functions measured, the baseline first.
const FUNCTIONS: [&str; 7] = [
    "hello-lambda",
    "authorizer",
    JWT_AUTHORIZER,
    "token-issuer",
    JWT_ISSUER,
    "cache-flusher",
    PYTHON,
];

/// The authorizer again, in the `jwt` style with no store.
const JWT_AUTHORIZER: &str = "authorizer-jwt";

/// token-issuer again, with `TOKEN_FORMAT=jwt`.
const JWT_ISSUER: &str = "token-issuer-jwt";

/// The one that is a script, not a binary of the build.
const PYTHON: &str = "python-authorizer";

struct Args {
    rounds: usize,
    bin_dir: PathBuf,
    /// The functions to measure beside the `hello-lambda` baseline; empty means all.
    only: Vec<String>,
    /// DynamoDB over HTTPS, trusted through `SSL_CERT_FILE`.
    tls: bool,
    /// `DYNAMODB_WARM_UP=false` for both functions.
    no_warm_up: bool,
}

const USAGE: &str =
    "usage: coldstart [--rounds N] [--bin-dir DIR] [--only NAME[,NAME…]] [--tls] [--no-warm-up]";

fn args() -> Result<Args, String> {
    let mut args = Args {
        rounds: 15,
        bin_dir: workspace_root().join("target/release"),
        only: Vec::new(),
        tls: false,
        no_warm_up: false,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        let mut value = || given.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => {
                args.rounds = value()?
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or("--rounds must be a whole number from 1 to 1000")?;
            }
            "--bin-dir" => args.bin_dir = PathBuf::from(value()?),
            "--only" => {
                for name in value()?.split(',') {
                    if !FUNCTIONS.contains(&name) {
                        return Err(format!(
                            "--only: no function named {name:?}; the functions are {}",
                            FUNCTIONS.join(", ")
                        ));
                    }
                    args.only.push(name.to_owned());
                }
            }
            "--tls" => args.tls = true,
            "--no-warm-up" => args.no_warm_up = true,
            other => return Err(format!("unknown argument {other}; {USAGE}")),
        }
    }
    Ok(args)
}

/// The authorizer's validation endpoint: a fixed userinfo answer, timed.
async fn userinfo_endpoint(busy: Arc<AtomicU64>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port for the validation endpoint");
    let address = listener.local_addr().expect("an address");
    let router = axum::Router::new().fallback(move || {
        let busy = busy.clone();
        async move {
            let started = Instant::now();
            let body = json!({"sub": "u-42", "email": "claes@example.org"}).to_string();
            busy.fetch_add(started.elapsed().as_nanos() as u64, Ordering::SeqCst);
            ([("content-type", "application/json")], body)
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}")
}

struct Function {
    name: &'static str,
    binary: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    event: Vec<u8>,
    accepts: fn(&Value) -> bool,
    runs: Vec<Run>,
}

/// One cold start, and the time its peers (DynamoDB, the validation endpoint) spent serving
/// it before it asked for its first event and in all.
struct Run {
    cold: ColdStart,
    peers_in_init: Duration,
    peers: Duration,
}

fn event_file(path: &str) -> Vec<u8> {
    std::fs::read(workspace_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn size_mb(path: &Path) -> String {
    std::fs::metadata(path).map_or("?".into(), |m| {
        format!("{:.1} MB", m.len() as f64 / 1_000_000.0)
    })
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn spread(values: &[Duration]) -> String {
    let min = values.iter().min().copied().unwrap_or_default();
    let max = values.iter().max().copied().unwrap_or_default();
    format!("{} ({}–{})", ms(median(values)), ms(min), ms(max))
}

/// `tables` with JWTs on: a signing keys table on moto with a first rotation of envelope
/// keys (RS256) under a moto KMS key, and `TOKEN_FORMAT=jwt`.
async fn jwt_signing_env(moto: &Moto, tables: &[(String, String)]) -> Vec<(String, String)> {
    use tokengate_shared::signing::SigningAlg;
    use tokengate_shared::signing::rotation::{KeyMaker, rotate};
    let table = moto.fresh_signing_table().await;
    let store = tokengate_shared::signing::DynamoSigningKeyStore::new(moto.client(), &table);
    let maker = KeyMaker::Envelope {
        kms: moto.kms(),
        kms_key_id: moto.kms_key().await,
    };
    let now = tokengate_shared::clock::now_epoch_seconds();
    rotate(&store, &maker, SigningAlg::Rs256, 600, now)
        .await
        .expect("a first rotation on moto");
    let mut env = tables.to_vec();
    env.push(("TOKEN_FORMAT".into(), "jwt".into()));
    env.push(("SIGNING_KEYS_TABLE".into(), table));
    env
}

/// A loopback API Gateway answering `FlushStageAuthorizersCache` (moto lacks it) at once:
/// its time is not counted as a peer's.
async fn flush_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port for API Gateway");
    let address = listener.local_addr().expect("an address");
    let route = "/restapis/{api}/stages/{stage}/cache/authorizers";
    let router = axum::Router::new().route(
        route,
        axum::routing::delete(|| async { axum::http::StatusCode::ACCEPTED }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}")
}

/// The `jwt` style with API keys checked by API Gateway, its JWKS in a file: the env and a
/// REST API event carrying an ES256 JWT that the JWKS verifies.
fn jwt_authorizer(dir: &Path) -> (Vec<(String, String)>, Vec<u8>) {
    use tokengate_shared::signing::jwt::{self, Aud, Claims, Header};
    use tokengate_shared::signing::local::generate;
    use tokengate_shared::signing::{Jwks, LocalKey, SigningAlg};
    let issuer = "https://auth.example/prod";
    let pkcs8 = generate(SigningAlg::Es256).expect("a P-256 key");
    let key = LocalKey::from_pkcs8("cold", SigningAlg::Es256, &pkcs8).expect("the key loads");
    let jwks = dir.join(format!("coldstart-jwks-{}.json", std::process::id()));
    let published = Jwks {
        keys: vec![key.public_jwk("cold")],
    };
    std::fs::write(&jwks, serde_json::to_vec(&published).expect("JSON")).expect("a JWKS file");
    let now = tokengate_shared::clock::now_epoch_seconds();
    let claims = Claims {
        iss: issuer,
        sub: "client-42",
        client_id: "client-42",
        aud: Aud::One(issuer),
        exp: now + 3_600,
        iat: now,
        jti: jwt::new_jti(),
        scope: "innreach_tp",
        from_code: None,
        to_code: None,
    };
    let input = jwt::signing_input(&Header::new(key.alg(), "cold"), &claims);
    let token = jwt::compact(
        input.clone(),
        &key.sign(input.as_bytes()).expect("a signature"),
    );
    let pre_inputs = json!({
        "token_validation_uri": {"defaultURI": format!("{issuer}/.well-known/jwks.json")},
        "api_key": {"checked_by": "api_gateway"},
        "validation": {"style": "jwt", "issuer": issuer, "audience": issuer,
                       "algorithms": ["ES256"], "jwks_file": jwks.display().to_string()},
        "inject_headers": {"X-Client-Id": "$.client_id"}
    });
    let mut event: Value = serde_json::from_slice(&event_file(
        "functions/authorizer/events/rest-api-request.json",
    ))
    .expect("the event is JSON");
    let bearer = format!("Bearer {token}");
    event["headers"]["Authorization"] = json!(bearer);
    event["multiValueHeaders"]["Authorization"] = json!([bearer]);
    // KEYS_TABLE is named, as the template names it; no region, so that a client built by
    // mistake would stop the function at init.
    let env = [
        ("KEYS_TABLE", "keys"),
        ("AWS_REGION", ""),
        ("AWS_DEFAULT_REGION", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([("AUTHORIZER_CONFIG".to_owned(), pre_inputs.to_string())])
    .collect();
    (env, serde_json::to_vec(&event).expect("JSON"))
}

#[tokio::main]
async fn main() {
    let args = match args() {
        Ok(args) => args,
        Err(problem) => {
            eprintln!("error: {problem}");
            std::process::exit(2);
        }
    };
    let python = workspace_root().join(".venv/bin/python3");
    let python_authorizer = workspace_root().join("tests/coldstart/python_authorizer.py");
    let measured = |name: &str| {
        name == FUNCTIONS[0] || args.only.is_empty() || args.only.iter().any(|o| o == name)
    };
    let binaries = FUNCTIONS
        .iter()
        .filter(|name| ![PYTHON, JWT_ISSUER, JWT_AUTHORIZER].contains(*name));
    for name in binaries.filter(|name| measured(name)) {
        if !args.bin_dir.join(name).is_file() {
            eprintln!(
                "error: {} is missing; build the binaries first (infra/scripts/coldstart does)",
                args.bin_dir.join(name).display()
            );
            std::process::exit(1);
        }
    }
    let moto = Moto::start();
    let (keys_table, tokens_table) = moto.fresh_tables().await;
    moto.provision_fixture_key(&keys_table).await;
    let tls = args.tls.then(LoopbackTls::generate);
    let dynamodb = Arc::new(match &tls {
        Some(tls) => DynamoCounter::start_https(moto.endpoint(), tls).await,
        None => DynamoCounter::start(moto.endpoint()).await,
    });
    let idp_busy = Arc::new(AtomicU64::new(0));
    let idp = userinfo_endpoint(idp_busy.clone()).await;

    let mut tables = sdk_env(&dynamodb.endpoint());
    tables.push(("KEYS_TABLE".into(), keys_table));
    tables.push(("TOKENS_TABLE".into(), tokens_table));
    if let Some(tls) = &tls {
        tables.push(("SSL_CERT_FILE".into(), tls.ca_file().display().to_string()));
        // boto3 reads its own variable.
        tables.push(("AWS_CA_BUNDLE".into(), tls.ca_file().display().to_string()));
    }
    if args.no_warm_up {
        tables.push(("DYNAMODB_WARM_UP".into(), "false".into()));
    }
    let pre_inputs = json!({
        "token_validation_uri": {"defaultURI": format!("{idp}/userinfo")},
        "inject_headers": {"X-User-Id": "$.sub", "X-User-Email": "$.email"},
        "block_authorization_header": true
    });
    let jwt_env = jwt_signing_env(&moto, &tables).await;
    let mut authorizer_env = tables.clone();
    authorizer_env.push(("AUTHORIZER_CONFIG".into(), pre_inputs.to_string()));
    let mut python_env = authorizer_env.clone();
    python_env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
    let allows = |answer: &Value| answer["policyDocument"]["Statement"][0]["Effect"] == "Allow";
    let (jwt_authorizer_env, jwt_authorizer_event) = jwt_authorizer(&std::env::temp_dir());
    let gateway = flush_endpoint().await;
    let flusher_env = vec![
        ("FLUSH_STAGES".to_owned(), "abc123defg/prod".to_owned()),
        ("AWS_ENDPOINT_URL_API_GATEWAY".to_owned(), gateway),
    ];

    let functions = [
        Function {
            name: "hello-lambda",
            binary: args.bin_dir.join("hello-lambda"),
            args: Vec::new(),
            env: Vec::new(),
            event: br#"{"hello": "world"}"#.to_vec(),
            accepts: |answer| answer["hello"] == "world",
            runs: Vec::new(),
        },
        Function {
            name: "authorizer",
            binary: args.bin_dir.join("authorizer"),
            args: Vec::new(),
            env: authorizer_env,
            event: event_file("functions/authorizer/events/rest-api-request.json"),
            accepts: allows,
            runs: Vec::new(),
        },
        Function {
            name: JWT_AUTHORIZER,
            binary: args.bin_dir.join("authorizer"),
            args: Vec::new(),
            env: jwt_authorizer_env,
            event: jwt_authorizer_event,
            accepts: allows,
            runs: Vec::new(),
        },
        Function {
            name: "token-issuer",
            binary: args.bin_dir.join("token-issuer"),
            args: Vec::new(),
            env: tables,
            event: event_file("functions/token-issuer/events/token-request-rest-api.json"),
            accepts: |answer| answer["statusCode"] == 200,
            runs: Vec::new(),
        },
        Function {
            name: JWT_ISSUER,
            binary: args.bin_dir.join("token-issuer"),
            args: Vec::new(),
            env: jwt_env,
            event: event_file("functions/token-issuer/events/token-request-rest-api.json"),
            accepts: |answer| {
                answer["statusCode"] == 200
                    && answer["body"]
                        .as_str()
                        .is_some_and(|b| b.matches('.').count() >= 2)
            },
            runs: Vec::new(),
        },
        Function {
            name: "cache-flusher",
            binary: args.bin_dir.join("cache-flusher"),
            args: Vec::new(),
            env: flusher_env,
            event: event_file("functions/cache-flusher/events/key-disabled.json"),
            accepts: |answer| answer["flushed"][0] == "abc123defg/prod",
            runs: Vec::new(),
        },
        Function {
            name: PYTHON,
            binary: python,
            args: vec![python_authorizer.display().to_string()],
            env: python_env,
            event: event_file("functions/authorizer/events/rest-api-request.json"),
            accepts: allows,
            runs: Vec::new(),
        },
    ];
    let mut functions: Vec<Function> = functions.into_iter().filter(|f| measured(f.name)).collect();

    eprintln!(
        "coldstart: {} alternating rounds of {} from {}; DynamoDB over {}{}",
        args.rounds,
        functions
            .iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", "),
        args.bin_dir.display(),
        if args.tls { "HTTPS" } else { "HTTP" },
        if args.no_warm_up {
            ", not opened during init (DYNAMODB_WARM_UP=false)"
        } else {
            ""
        },
    );
    for round in 1..=args.rounds {
        for function in &mut functions {
            dynamodb.take_upstream_time();
            idp_busy.store(0, Ordering::SeqCst);
            let in_init = Arc::new(AtomicU64::new(0));
            let at_init = {
                let (dynamodb, idp_busy, in_init) =
                    (dynamodb.clone(), idp_busy.clone(), in_init.clone());
                move || {
                    let peers = dynamodb.take_upstream_time()
                        + Duration::from_nanos(idp_busy.swap(0, Ordering::SeqCst));
                    in_init.store(peers.as_nanos() as u64, Ordering::SeqCst);
                }
            };
            let cold = measure(
                &function.binary,
                &function.args,
                &function.env,
                &function.event,
                Duration::from_secs(30),
                at_init,
            )
            .await
            .unwrap_or_else(|problem| panic!("round {round}: {problem}"));
            assert!(
                (function.accepts)(&cold.answer),
                "round {round}: {} answered {}",
                function.name,
                cold.answer
            );
            let peers_in_init = Duration::from_nanos(in_init.load(Ordering::SeqCst));
            let peers = peers_in_init
                + dynamodb.take_upstream_time()
                + Duration::from_nanos(idp_busy.load(Ordering::SeqCst));
            function.runs.push(Run {
                cold,
                peers_in_init,
                peers,
            });
        }
    }

    let column =
        |f: &Function, pick: fn(&Run) -> Duration| f.runs.iter().map(pick).collect::<Vec<_>>();
    let own_init = |r: &Run| r.cold.init.saturating_sub(r.peers_in_init);
    let own = |r: &Run| r.cold.first_answer.saturating_sub(r.peers);
    println!(
        "| function | init, ms | init − peers, ms | first answer, ms | first answer − peers, ms | peers, ms | CPU, ms | page faults | peak RSS, MiB | binary |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for function in &functions {
        let mut rss: Vec<u64> = function.runs.iter().map(|r| r.cold.peak_rss_kib).collect();
        rss.sort_unstable();
        let mut faults: Vec<u64> = function.runs.iter().map(|r| r.cold.page_faults).collect();
        faults.sort_unstable();
        let binary = if function.args.is_empty() {
            size_mb(&function.binary)
        } else {
            "—".to_owned()
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} ({:.1}–{:.1}) | {binary} |",
            function.name,
            spread(&column(function, |r| r.cold.init)),
            spread(&column(function, own_init)),
            spread(&column(function, |r| r.cold.first_answer)),
            spread(&column(function, own)),
            ms(median(&column(function, |r| r.peers))),
            spread(&column(function, |r| r.cold.cpu)),
            faults[faults.len() / 2],
            rss[rss.len() / 2] as f64 / 1024.0,
            rss[0] as f64 / 1024.0,
            rss[rss.len() - 1] as f64 / 1024.0,
        );
    }
    let ratio = |f: &Function, pick: fn(&Run) -> Duration| median(&column(f, pick)).as_secs_f64();
    let baseline = &functions[0];
    println!();
    for function in &functions[1..] {
        println!(
            "{}: init less the peers' time {:.2}× hello-lambda's, first answer less the peers' time {:.2}× hello-lambda's",
            function.name,
            ratio(function, own_init) / ratio(baseline, own_init),
            ratio(function, own) / ratio(baseline, own),
        );
        println!(
            "{}: CPU to the first answer {:.2}× hello-lambda's",
            function.name,
            ratio(function, |r| r.cold.cpu) / ratio(baseline, |r| r.cold.cpu),
        );
    }
    let ours = functions.iter().find(|f| f.name == "authorizer");
    let python = functions.iter().find(|f| f.name == PYTHON);
    if let (Some(ours), Some(python)) = (ours, python) {
        println!(
            "python-authorizer: first answer {:.1}× the authorizer's, init {:.1}×",
            ratio(python, |r| r.cold.first_answer) / ratio(ours, |r| r.cold.first_answer),
            ratio(python, |r| r.cold.init) / ratio(ours, |r| r.cold.init),
        );
    }
}
