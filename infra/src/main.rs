//! The `tokengate` command: a thin `main` over [`tokengate_cli::run`].

use std::process::ExitCode;

use clap::Parser;
use tokengate_cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tokengate_cli::output::error(json, &err);
            ExitCode::FAILURE
        }
    }
}
