//! `coldstart`: the cold-start benchmark. Spawns each function binary the way Lambda does,
//! behind a Lambda Runtime API on loopback, N alternating rounds of `hello-lambda` (the
//! smallest `lambda_runtime` function, the baseline), `authorizer` (forward style, its API
//! key in DynamoDB) and `token-issuer` (a token for the fixture key), with the tables on
//! moto. Prints medians, min–max and the ratios to the baseline.
//!
//! `infra/scripts/coldstart [ROUNDS]` builds the release binaries and runs it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokengate_tests::coldstart::{ColdStart, measure, median};
use tokengate_tests::{DynamoCounter, Moto, sdk_env, workspace_root};

struct Args {
    rounds: usize,
    bin_dir: PathBuf,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        rounds: 15,
        bin_dir: workspace_root().join("target/release"),
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
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: coldstart [--rounds N] [--bin-dir DIR]"
                ));
            }
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
    env: Vec<(String, String)>,
    event: Vec<u8>,
    accepts: fn(&Value) -> bool,
    runs: Vec<(ColdStart, Duration)>,
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

#[tokio::main]
async fn main() {
    let args = match args() {
        Ok(args) => args,
        Err(problem) => {
            eprintln!("error: {problem}");
            std::process::exit(2);
        }
    };
    for name in ["hello-lambda", "authorizer", "token-issuer"] {
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
    let dynamodb = DynamoCounter::start(moto.endpoint()).await;
    let idp_busy = Arc::new(AtomicU64::new(0));
    let idp = userinfo_endpoint(idp_busy.clone()).await;

    let mut tables = sdk_env(&dynamodb.endpoint());
    tables.push(("KEYS_TABLE".into(), keys_table));
    tables.push(("TOKENS_TABLE".into(), tokens_table));
    let pre_inputs = json!({
        "token_validation_uri": {"defaultURI": format!("{idp}/userinfo")},
        "inject_headers": {"X-User-Id": "$.sub", "X-User-Email": "$.email"},
        "block_authorization_header": true
    });
    let mut authorizer_env = tables.clone();
    authorizer_env.push(("AUTHORIZER_CONFIG".into(), pre_inputs.to_string()));

    let mut functions = [
        Function {
            name: "hello-lambda",
            binary: args.bin_dir.join("hello-lambda"),
            env: Vec::new(),
            event: br#"{"hello": "world"}"#.to_vec(),
            accepts: |answer| answer["hello"] == "world",
            runs: Vec::new(),
        },
        Function {
            name: "authorizer",
            binary: args.bin_dir.join("authorizer"),
            env: authorizer_env,
            event: event_file("functions/authorizer/events/rest-api-request.json"),
            accepts: |answer| answer["policyDocument"]["Statement"][0]["Effect"] == "Allow",
            runs: Vec::new(),
        },
        Function {
            name: "token-issuer",
            binary: args.bin_dir.join("token-issuer"),
            env: tables,
            event: event_file("functions/token-issuer/events/token-request-rest-api.json"),
            accepts: |answer| answer["statusCode"] == 200,
            runs: Vec::new(),
        },
    ];

    eprintln!(
        "coldstart: {} alternating rounds of {} from {}",
        args.rounds,
        functions
            .iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", "),
        args.bin_dir.display()
    );
    for round in 1..=args.rounds {
        for function in &mut functions {
            dynamodb.take_upstream_time();
            idp_busy.store(0, Ordering::SeqCst);
            let run = measure(
                &function.binary,
                &function.env,
                &function.event,
                Duration::from_secs(30),
            )
            .await
            .unwrap_or_else(|problem| panic!("round {round}: {problem}"));
            assert!(
                (function.accepts)(&run.answer),
                "round {round}: {} answered {}",
                function.name,
                run.answer
            );
            let peers = dynamodb.take_upstream_time()
                + Duration::from_nanos(idp_busy.load(Ordering::SeqCst));
            function.runs.push((run, peers));
        }
    }

    let column = |f: &Function, pick: fn(&(ColdStart, Duration)) -> Duration| {
        f.runs.iter().map(pick).collect::<Vec<_>>()
    };
    let own = |r: &(ColdStart, Duration)| r.0.first_answer.saturating_sub(r.1);
    println!(
        "| function | init, ms | first answer, ms | first answer − peers, ms | peers, ms | peak RSS, MiB | binary |"
    );
    println!("|---|---|---|---|---|---|---|");
    for function in &functions {
        let mut rss: Vec<u64> = function.runs.iter().map(|r| r.0.peak_rss_kib).collect();
        rss.sort_unstable();
        println!(
            "| {} | {} | {} | {} | {} | {:.1} ({:.1}–{:.1}) | {} |",
            function.name,
            spread(&column(function, |r| r.0.init)),
            spread(&column(function, |r| r.0.first_answer)),
            spread(&column(function, own)),
            ms(median(&column(function, |r| r.1))),
            rss[rss.len() / 2] as f64 / 1024.0,
            rss[0] as f64 / 1024.0,
            rss[rss.len() - 1] as f64 / 1024.0,
            size_mb(&function.binary),
        );
    }
    let baseline = &functions[0];
    let base_init = median(&column(baseline, |r| r.0.init)).as_secs_f64();
    let base_own = median(&column(baseline, own)).as_secs_f64();
    println!();
    for function in &functions[1..] {
        let init = median(&column(function, |r| r.0.init)).as_secs_f64();
        let own = median(&column(function, own)).as_secs_f64();
        println!(
            "{}: init {:.2}× hello-lambda's, first answer less the peers' time {:.2}× hello-lambda's",
            function.name,
            init / base_init,
            own / base_own,
        );
    }
}
