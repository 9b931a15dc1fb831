//! A seconds-long smoke of the cold-start benchmark: one round of each function and of the
//! Python comparison, debug builds, through the same Runtime API harness that
//! `infra/scripts/coldstart` runs in release for the README's figures.

use std::path::Path;
use std::process::Command;

#[test]
fn one_cold_start_round_of_each_function_answers_and_prints_the_ratios() {
    let output = coldstart(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for row in [
        "| hello-lambda |",
        "| authorizer |",
        "| token-issuer |",
        "| python-authorizer |",
    ] {
        assert!(stdout.contains(row), "{row} missing:\n{stdout}");
    }
    assert!(stdout.contains("authorizer: init "), "{stdout}");
    assert!(stdout.contains("token-issuer: init "), "{stdout}");
    assert!(
        stdout.contains("python-authorizer: first answer "),
        "{stdout}"
    );
}

/// Runs the harness from the debug build's folder with `args` after `--rounds 1 --bin-dir`.
fn coldstart(args: &[&str]) -> std::process::Output {
    let coldstart = Path::new(env!("CARGO_BIN_EXE_coldstart"));
    let bin_dir = coldstart.parent().expect("the binaries' folder");
    let venv_bin = tokengate_tests::workspace_root().join(".venv/bin");
    let path = std::env::var("PATH").unwrap_or_default();
    Command::new(coldstart)
        .args(["--rounds", "1", "--bin-dir"])
        .arg(bin_dir)
        .args(args)
        .env("PATH", format!("{}:{path}", venv_bin.display()))
        .output()
        .expect("coldstart runs")
}

#[test]
fn only_measures_the_named_function_beside_the_floor_with_its_cpu_time_and_page_faults() {
    let output = coldstart(&["--only", "authorizer"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("| hello-lambda |"), "the floor: {stdout}");
    assert!(!stdout.contains("| token-issuer |"), "{stdout}");
    assert!(!stdout.contains("| python-authorizer |"), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("| authorizer |"))
        .unwrap_or_else(|| panic!("no authorizer row: {stdout}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let header: Vec<&str> = stdout
        .lines()
        .next()
        .unwrap_or("")
        .split('|')
        .map(str::trim)
        .collect();
    let cell = |name: &str| {
        let at = header.iter().position(|h| *h == name);
        at.and_then(|i| cells.get(i))
            .unwrap_or_else(|| panic!("no {name} column: {stdout}"))
    };
    let cpu_ms: f64 = cell("CPU, ms")
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("CPU is not a number: {row}"));
    let faults: u64 = cell("page faults")
        .parse()
        .unwrap_or_else(|_| panic!("page faults is not a count: {row}"));
    assert!(cpu_ms > 0.0, "a cold start takes CPU: {row}");
    assert!(faults > 0, "a cold start touches pages: {row}");
    assert!(
        stdout.contains("authorizer: CPU to the first answer "),
        "{stdout}"
    );
}

#[test]
fn only_refuses_a_function_it_does_not_know_and_names_the_ones_it_does() {
    let output = coldstart(&["--only", "authoriser"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no function named \"authoriser\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("hello-lambda, authorizer, token-issuer, python-authorizer"),
        "{stderr}"
    );
}
