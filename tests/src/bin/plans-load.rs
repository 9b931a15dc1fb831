//! The counted mode's cost under load: one client at `--rps` over `--processes` authorizer
//! processes (execution environments) sharing moto's DynamoDB, its plan generous enough that
//! nothing is refused, each process writing its counts every `--flush` requests. Prints the
//! decisions and the DynamoDB writes per 1,000 requests.
//!
//! `cargo build --release --workspace && cargo run --release -p tokengate-tests --bin plans-load`
//! (docs/performance.md). Needs `moto_server` on PATH (`pip install -r tests/requirements.txt`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tokengate_tests::plans_load::{PlanSpec, Scenario};
use tokengate_tests::{whole_number, workspace_root};

struct Args {
    bin_dir: PathBuf,
    processes: usize,
    rps: u64,
    seconds: u64,
    flush: u64,
    rate: u64,
}

const USAGE: &str = "usage: plans-load [--bin-dir DIR] [--processes N] [--rps N] [--seconds N] [--flush N] [--rate N]";

fn args() -> Result<Args, String> {
    let mut args = Args {
        bin_dir: workspace_root().join("target/release"),
        processes: 4,
        rps: 500,
        seconds: 10,
        flush: 10,
        rate: 1_000,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--bin-dir" => {
                args.bin_dir = PathBuf::from(given.next().ok_or("--bin-dir needs a value")?)
            }
            "--processes" => args.processes = whole_number(&arg, given.next(), 1..=64)? as usize,
            "--rps" => args.rps = whole_number(&arg, given.next(), 1..=10_000)?,
            "--seconds" => args.seconds = whole_number(&arg, given.next(), 1..=3_600)?,
            "--flush" => args.flush = whole_number(&arg, given.next(), 1..=10_000)?,
            "--rate" => args.rate = whole_number(&arg, given.next(), 1..=1_000_000)?,
            other => return Err(format!("unknown argument {other}; {USAGE}")),
        }
    }
    Ok(args)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("plans-load: {e}");
            return ExitCode::from(2);
        }
    };
    let plan = PlanSpec {
        rate: args.rate,
        burst: args.rate,
        quota: None,
    };
    let scenario = Scenario::start(&args.bin_dir, args.processes, args.flush, &[plan]).await;
    // Every process's cold start, before counting.
    scenario
        .drive(&[args.processes as u64 * 4], Duration::from_secs(1))
        .await;
    scenario.counter.take();
    let started = Instant::now();
    let tally = scenario
        .drive(&[args.rps], Duration::from_secs(args.seconds))
        .await[0];
    let took = started.elapsed().as_secs_f64();
    let operations = scenario.counter.take();
    let writes = operations.iter().filter(|o| *o == "UpdateItem").count() as f64;
    let reads = operations.len() as f64 - writes;
    let per_thousand = |n: f64| n * 1_000.0 / tally.sent.max(1) as f64;
    println!(
        "plans-load: {} processes, flush every {} requests, one client at {} requests/s for {} s (took {took:.1} s)",
        args.processes, args.flush, args.rps, args.seconds
    );
    println!(
        "decisions: {} sent, {} allowed, {} rate limited, {} quota exceeded, {} other",
        tally.sent, tally.allowed, tally.rate_limited, tally.quota_exceeded, tally.other
    );
    println!(
        "dynamodb: {writes} writes ({:.1} per 1000 requests), {reads} other calls ({:.1} per 1000 requests)",
        per_thousand(writes),
        per_thousand(reads)
    );
    if tally.other > 0 {
        eprintln!("plans-load: {} requests got no usable answer", tally.other);
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
