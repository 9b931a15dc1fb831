//! A seconds-long run of every fuzz target (`infra/scripts/fuzz 5`): the targets build, run
//! from their seeds, and find no crash in that time. Long runs are DEVELOP.md's command.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use tokengate_tests::workspace_root;

#[test]
fn every_fuzz_target_runs_from_its_seeds_without_a_crash() {
    let out = Command::new(workspace_root().join("infra/scripts/fuzz"))
        .arg("5")
        .env("FUZZ_PROFILE", "dev")
        .current_dir(workspace_root())
        .output()
        .expect("infra/scripts/fuzz runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for target in [
        "pre_inputs",
        "authorizer_event",
        "token_request",
        "injection",
        "jwt",
    ] {
        assert!(
            stderr.contains(&format!("fuzz: {target} for 5s")),
            "{target} ran: {stderr}"
        );
    }
    let runs = stderr.matches("stat::number_of_executed_units:").count();
    assert_eq!(runs, 5, "each target reported its executions: {stderr}");
}
