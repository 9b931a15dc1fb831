//! Plans counted by tokengate across execution environments: four authorizer processes
//! under a Lambda Runtime API, sharing moto's DynamoDB, each writing its counts every five
//! requests. The stated bound: a window admits at most its limit plus environments × flush
//! size, and never fewer than its limit.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use tokengate_tests::plans_load::{PlanSpec, Scenario};

const ENVIRONMENTS: u64 = 4;
const FLUSH: u64 = 5;

fn bin_dir() -> PathBuf {
    let coldstart = PathBuf::from(env!("CARGO_BIN_EXE_coldstart"));
    coldstart.parent().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_at_three_times_its_rate_is_held_to_it_within_the_bound_and_one_within_it_is_untouched()
 {
    let rate = PlanSpec {
        rate: 20,
        burst: 20,
        quota: None,
    };
    let scenario = Scenario::start(&bin_dir(), ENVIRONMENTS as usize, FLUSH, &[rate, rate]).await;
    // Each process's cold start, and its first decision, before the clock starts.
    scenario.drive(&[8, 8], Duration::from_millis(500)).await;
    Scenario::next_second().await;
    let seconds = 3;
    let tallies = scenario.drive(&[60, 5], Duration::from_secs(seconds)).await;
    let (hot, calm) = (tallies[0], tallies[1]);
    assert_eq!(hot.sent, 180);
    assert_eq!(hot.other + calm.other, 0, "{hot:?} {calm:?}");
    let windows = seconds + 1; // the last requests may fall in the next second
    // At least the limit in every full window (the first and last may be cut short on a
    // slow machine); at most the limit and the bound in every window the run touched.
    assert!(
        hot.allowed >= (seconds - 1) * 20 && hot.allowed <= windows * (20 + ENVIRONMENTS * FLUSH),
        "{hot:?}"
    );
    assert_eq!(hot.allowed + hot.rate_limited, hot.sent, "{hot:?}");
    assert_eq!(
        calm.allowed, calm.sent,
        "a client at a quarter of its rate: {calm:?}"
    );
    let writes = scenario
        .counter
        .take()
        .iter()
        .filter(|o| *o == "UpdateItem")
        .count();
    assert!(writes > 0, "counts were written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_refuses_past_its_count_within_the_bound_across_environments() {
    let quota = PlanSpec {
        rate: 1_000,
        burst: 1_000,
        quota: Some(30),
    };
    let scenario = Scenario::start(&bin_dir(), ENVIRONMENTS as usize, FLUSH, &[quota]).await;
    let tally = scenario.drive(&[50], Duration::from_secs(2)).await[0];
    assert_eq!(tally.other, 0, "{tally:?}");
    assert!(
        tally.allowed >= 30 && tally.allowed <= 30 + ENVIRONMENTS * FLUSH,
        "{tally:?}"
    );
    assert_eq!(tally.allowed + tally.quota_exceeded, 100, "{tally:?}");
}

#[test]
fn the_load_command_reports_decisions_and_writes_per_thousand_requests() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_plans-load"))
        .args(["--bin-dir", bin_dir().to_str().unwrap()])
        .args(["--processes", "2", "--rps", "40", "--seconds", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("40 sent, 40 allowed"), "{stdout}");
    assert!(stdout.contains("per 1000 requests"), "{stdout}");
}
