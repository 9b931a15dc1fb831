//! How the CLI prints: text for people, JSON with `--json`.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};
use tokengate_shared::grants::scope_text;
use tokengate_shared::{Audience, ClientKey, Scope, TokenFormat};

use crate::CliError;

/// A key as shown: never its hash. Failed authentications appear once there are any, so
/// that an operator can see why a key answers 429.
pub fn key_json(key: &ClientKey) -> Value {
    let mut shown = json!({
        "key": key.id.as_str(),
        "codes": key.codes.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "status": key.status.as_str(),
        "created_at": key.created_at,
        "updated_at": key.updated_at,
        "description": key.description,
    });
    shown["scopes"] = json!(
        key.grants
            .scopes_held()
            .iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>()
    );
    shown["audiences"] = json!(
        key.grants
            .audiences
            .iter()
            .map(Audience::as_str)
            .collect::<Vec<_>>()
    );
    shown["token_ttl"] = json!(key.grants.token_ttl);
    shown["token_format"] = json!(key.grants.token_format.map(TokenFormat::as_str));
    shown["plan"] = json!(key.grants.plan.as_ref().map(|p| p.as_str()));
    if key.failures.count > 0 {
        shown["failed_authentications"] =
            json!({"count": key.failures.count, "since": key.failures.since});
    }
    if key.tokens_revoked_at > 0 {
        shown["tokens_revoked_until"] = json!(key.tokens_revoked_at);
    }
    shown
}

/// Epoch seconds as RFC 3339 UTC.
pub fn timestamp(epoch: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(epoch)).to_string()
}

/// A key as lines of text.
pub fn key_text(key: &ClientKey) -> String {
    let codes: Vec<&str> = key.codes.iter().map(|c| c.as_str()).collect();
    let mut text = format!(
        "key:         {}\ncodes:       {}\nstatus:      {}\ncreated:     {}\nupdated:     {}",
        key.id,
        codes.join(", "),
        key.status.as_str(),
        timestamp(key.created_at),
        timestamp(key.updated_at),
    );
    if let Some(description) = &key.description {
        text.push_str(&format!("\ndescription: {description}"));
    }
    text.push_str(&format!(
        "\nscopes:      {}",
        scope_text(&key.grants.scopes_held())
    ));
    if !key.grants.audiences.is_empty() {
        let audiences: Vec<&str> = key.grants.audiences.iter().map(Audience::as_str).collect();
        text.push_str(&format!("\naudiences:   {}", audiences.join(" ")));
    }
    if let Some(ttl) = key.grants.token_ttl {
        text.push_str(&format!("\ntoken ttl:   {ttl} s"));
    }
    if let Some(format) = key.grants.token_format {
        text.push_str(&format!("\nformat:      {}", format.as_str()));
    }
    if let Some(plan) = &key.grants.plan {
        text.push_str(&format!("\nplan:        {plan}"));
    }
    if key.failures.count > 0 {
        text.push_str(&format!(
            "\nfailures:    {} since {}",
            key.failures.count,
            timestamp(key.failures.since)
        ));
    }
    if key.tokens_revoked_at > 0 {
        text.push_str(&format!(
            "
tokens:      revoked until {}",
            timestamp(key.tokens_revoked_at)
        ));
    }
    text
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Prints an error on stderr, as JSON when asked for.
pub fn error(json: bool, err: &CliError) {
    match (json, err) {
        (true, CliError::PreInputs { file, problems }) => {
            let problems: Vec<Value> = problems
                .iter()
                .map(|p| json!({"key": p.key, "problem": p.problem}))
                .collect();
            eprintln!(
                "{}",
                json!({"error": format!("{file}: invalid pre-inputs"), "kind": err.kind(), "problems": problems})
            );
        }
        (true, _) => eprintln!("{}", json!({"error": err.to_string(), "kind": err.kind()})),
        (false, _) => {
            for line in err.to_string().lines() {
                eprintln!("error: {line}");
            }
        }
    }
}
