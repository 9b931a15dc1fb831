//! `scale`: one hot client against authorizer processes sharing a DynamoDB whose items are
//! held to a scaled-down read and write rate ([`tokengate_tests::scale`]), for each of
//! `revocation_lag_seconds` 0 and 1, eventually consistent reads, and plans counted.
//! Prints a Markdown table: denials, reads per item per second, reads per 1,000 decisions.
//!
//! `infra/scripts/scale [OPTIONS]` builds the binaries and runs it.

use std::path::PathBuf;
use std::time::Duration;

use tokengate_tests::item_limits::ItemLimits;
use tokengate_tests::scale::{Load, Setting, report, run};
use tokengate_tests::{Moto, whole_number, workspace_root};

const USAGE: &str = "usage: scale [--processes N] [--rate RPS] [--seconds S] [--read-limit UNITS] \
                     [--write-limit UNITS] [--bin-dir DIR]";

fn args() -> Result<(Load, PathBuf), String> {
    let mut load = Load {
        processes: 4,
        rate: 300,
        duration: Duration::from_secs(5),
        limits: ItemLimits {
            reads_per_second: 100.0,
            writes_per_second: 100.0,
        },
    };
    let mut bin_dir = workspace_root().join("target/release");
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next();
        match flag.as_str() {
            "--processes" => load.processes = whole_number(&flag, value, 1..=64)? as usize,
            "--rate" => load.rate = whole_number(&flag, value, 1..=5_000)?,
            "--seconds" => {
                load.duration = Duration::from_secs(whole_number(&flag, value, 1..=600)?)
            }
            "--read-limit" => {
                load.limits.reads_per_second = whole_number(&flag, value, 1..=3_000)? as f64
            }
            "--write-limit" => {
                load.limits.writes_per_second = whole_number(&flag, value, 1..=1_000)? as f64
            }
            "--bin-dir" => bin_dir = PathBuf::from(value.ok_or("--bin-dir needs a value")?),
            other => return Err(format!("unknown argument {other}; {USAGE}")),
        }
    }
    if !bin_dir.join("authorizer").is_file() {
        return Err(format!(
            "{} is missing; build it first (infra/scripts/scale does)",
            bin_dir.join("authorizer").display()
        ));
    }
    Ok((load, bin_dir))
}

#[tokio::main]
async fn main() {
    let (load, bin_dir) = match args() {
        Ok(parsed) => parsed,
        Err(problem) => {
            eprintln!("error: {problem}");
            std::process::exit(2);
        }
    };
    let moto = Moto::start();
    let mut rows = Vec::new();
    for setting in Setting::COMPARED {
        eprintln!("scale: {}", setting.name());
        rows.push((setting, run(&moto, &bin_dir, setting, load).await));
    }
    print!("{}", report(load, &rows));
}
