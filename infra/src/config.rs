//! `tokengate config check FILE`: the authorizer's pre-inputs, validated and compiled the
//! way the function does at cold start.

use std::path::PathBuf;

use authorizer::PreInputs;
use authorizer::pre_inputs::ValidationStyle;
use clap::Subcommand;
use serde_json::json;

use crate::CliError;
use crate::output::print_json;

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate pre-inputs and compile every JSONPath and XPath; exit 1 listing every
    /// problem, one a line, each naming its key path.
    Check {
        /// The pre-inputs file (JSON).
        file: PathBuf,
    },
}

/// Runs a configuration command.
pub fn run(command: ConfigCommand, json: bool) -> Result<(), CliError> {
    let ConfigCommand::Check { file } = command;
    let text = std::fs::read_to_string(&file).map_err(CliError::io("read", &file))?;
    let pre_inputs = PreInputs::parse_unresolved(&text).map_err(|e| CliError::PreInputs {
        file: file.display().to_string(),
        problems: e.problems,
    })?;
    let headers = pre_inputs.all_injected_headers();
    let style = pre_inputs.style.name();
    if json {
        print_json(&json!({
            "valid": true,
            "style": style,
            "default_uri": pre_inputs.default_uri.as_ref().map(|u| u.as_str()),
            "regions": pre_inputs.region_uris.keys().collect::<std::collections::BTreeSet<_>>(),
            "injected_headers": headers,
            "block_authorization_header": pre_inputs.block_authorization_header,
            "warnings": pre_inputs.warnings,
        }));
    } else {
        println!("{}: valid ({style} validation)", file.display());
        match &pre_inputs.default_uri {
            Some(uri) => println!("  defaultURI  {uri}"),
            None if matches!(pre_inputs.style, ValidationStyle::Tokengate { .. }) => {
                println!("  tokens      {}", tokengate_reads(&pre_inputs.style))
            }
            None => println!(
                "  defaultURI  none: a request whose region has no URI is denied DefaultTokenValidationURINotPresent"
            ),
        }
        let mut regions: Vec<_> = pre_inputs.region_uris.iter().collect();
        regions.sort();
        for (region, uri) in regions {
            println!("  region {region:<5} {uri}");
        }
        for (header, context_key) in &headers {
            println!("  injects {header} as context.authorizer.{context_key}");
        }
        println!(
            "  block_authorization_header: {}",
            pre_inputs.block_authorization_header
        );
        for warning in &pre_inputs.warnings {
            println!("  warning: {warning}");
        }
    }
    Ok(())
}

/// How the `tokengate` style reads, for `config check`.
fn tokengate_reads(style: &ValidationStyle) -> String {
    let ValidationStyle::Tokengate {
        revocation_lag_seconds: Some(lag @ 1..),
        eventually_consistent_reads,
        ..
    } = style
    else {
        return "read from TOKENS_TABLE with their keys, one round trip each decision".into();
    };
    let (consistency, plus) = if *eventually_consistent_reads {
        ("eventually consistent", " and DynamoDB's propagation")
    } else {
        ("strongly consistent", "")
    };
    format!(
        "read from TOKENS_TABLE with their keys, {consistency}, each record kept {lag} s per \
         environment: a revocation takes effect within {lag} s{plus}"
    )
}
