//! The scale simulation's smoke run, in seconds: the `scale` binary (what
//! `infra/scripts/scale` runs) with the debug authorizer, two processes, one hot client at
//! three times an item's read limit. A lag of 0 reads both items on every decision, and
//! past the limit DynamoDB's throttling denies the client; a lag of 1 reads each item at
//! most once a second per process, counted by the proxy, and nothing is denied.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

/// The report's row for `setting`, split into its cells.
fn row<'a>(report: &'a str, setting: &str) -> Vec<&'a str> {
    let line = report
        .lines()
        .find(|l| l.starts_with(&format!("| {setting} |")))
        .unwrap_or_else(|| panic!("no row {setting:?} in:\n{report}"));
    line.trim_matches('|').split('|').map(str::trim).collect()
}

fn number(cell: &str) -> f64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("not a number: {cell}"))
}

#[test]
fn a_hot_client_is_throttled_without_a_lag_and_read_once_a_second_per_process_with_one() {
    let scale = Path::new(env!("CARGO_BIN_EXE_scale"));
    let bin_dir = scale.parent().unwrap();
    let processes = 2.0;
    let output = Command::new(scale)
        .args(["--bin-dir", &bin_dir.display().to_string()])
        .args(["--processes", "2", "--rate", "150", "--seconds", "2"])
        .args(["--read-limit", "50", "--write-limit", "50"])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Cells: setting, decisions, allowed, denied, throttled, peak reads/item/s,
    // reads per 1,000, peak writes/item/s.
    let strict = row(&report, "revocation_lag_seconds 0");
    assert_eq!(strict[1], "300", "{report}");
    assert!(
        number(strict[4]) > 0.0,
        "throttled past the limit: {report}"
    );
    assert!(
        strict[3].contains("ApiKeyCheckUnavailable"),
        "the throttled are denied by name: {report}"
    );
    assert!(
        number(strict[5]) <= 50.0,
        "the proxy holds the limit: {report}"
    );

    let lagging = row(&report, "revocation_lag_seconds 1");
    assert_eq!(lagging[3], "0", "nothing denied: {report}");
    assert_eq!(lagging[4], "0", "nothing throttled: {report}");
    assert!(
        number(lagging[5]) <= processes,
        "at most one read per item per second per process: {report}"
    );
    let eventual = row(&report, "revocation_lag_seconds 1, eventually consistent");
    assert!(
        number(eventual[5]) <= processes / 2.0,
        "half a unit a read: {report}"
    );
    let counted = row(&report, "revocation_lag_seconds 1, plans counted");
    assert_eq!(counted[3], "0", "{report}");
    assert!(number(counted[7]) > 0.0, "the counts are written: {report}");
}
