//! A seconds-long smoke of the cold-start benchmark: one round of each function and of the
//! Python comparison, debug builds, through the same Runtime API harness that
//! `infra/scripts/coldstart` runs in release for the README's figures.

use std::path::Path;
use std::process::Command;

#[test]
fn one_cold_start_round_of_each_function_answers_and_prints_the_ratios() {
    let coldstart = Path::new(env!("CARGO_BIN_EXE_coldstart"));
    let bin_dir = coldstart.parent().expect("the binaries' folder");
    let venv_bin = tokengate_tests::workspace_root().join(".venv/bin");
    let path = std::env::var("PATH").unwrap_or_default();
    let output = Command::new(coldstart)
        .args(["--rounds", "1", "--bin-dir"])
        .arg(bin_dir)
        .env("PATH", format!("{}:{path}", venv_bin.display()))
        .output()
        .expect("coldstart runs");
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
