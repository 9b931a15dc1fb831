//! `tokengate cost`: the cost model of docs/cost.md for a user's own numbers: a million
//! decisions in each validation style, a million tokens in each format, and the month's
//! bill, beside API Gateway's JWT authorizer and Cognito's machine-to-machine tokens.

pub mod model;

use serde_json::json;

use crate::CliError;
use crate::output::print_json;
use model::{Assumptions, COGNITO_M2M, HTTP_API, PRICES, PerMillion, Style, TokenKind};

/// What to price.
#[derive(Debug, Clone, clap::Args)]
pub struct CostOptions {
    /// Authorizer decisions a month.
    #[arg(long)]
    pub requests_per_month: f64,
    /// Tokens issued a month.
    #[arg(long, default_value_t = 0.0)]
    pub tokens_per_month: f64,
    /// One validation style only (default: all).
    #[arg(long, value_enum)]
    pub style: Option<Style>,
    /// The `tokengate` style's `revocation_lag_seconds`.
    #[arg(long, default_value_t = 0.0)]
    pub revocation_lag_seconds: f64,
    /// The `tokengate` style's `eventually_consistent_reads` (needs a lag).
    #[arg(long)]
    pub eventually_consistent_reads: bool,
    /// Lambda memory, MB.
    #[arg(long, default_value_t = 256.0)]
    pub memory_mb: f64,
    /// x86_64 instead of arm64.
    #[arg(long)]
    pub x86_64: bool,
    /// Assumed: one DynamoDB round trip from Lambda, ms.
    #[arg(long, default_value_t = 4.0)]
    pub store_ms: f64,
    /// Assumed: one validation endpoint round trip (`rfc7662`, `forward`), ms.
    #[arg(long, default_value_t = 20.0)]
    pub upstream_ms: f64,
    /// Assumed: one KMS `Sign` round trip, ms.
    #[arg(long, default_value_t = 10.0)]
    pub kms_ms: f64,
    /// Assumed: hours an execution environment lives (each life starts with a billed init).
    #[arg(long, default_value_t = 1.0)]
    pub environment_hours: f64,
}

impl CostOptions {
    fn assumptions(&self) -> Result<Assumptions, CliError> {
        let usage = |problem: &str| Err(CliError::Usage(problem.to_owned()));
        let counts = [self.requests_per_month, self.tokens_per_month];
        if counts.iter().any(|n| !n.is_finite() || *n < 0.0) {
            return usage("--requests-per-month and --tokens-per-month must be 0 or more");
        }
        let positive = [self.memory_mb, self.environment_hours];
        let durations = [
            self.store_ms,
            self.upstream_ms,
            self.kms_ms,
            self.revocation_lag_seconds,
        ];
        if positive.iter().any(|n| !n.is_finite() || *n <= 0.0)
            || durations.iter().any(|n| !n.is_finite() || *n < 0.0)
        {
            return usage(
                "--memory-mb and --environment-hours must be above 0; the other durations 0 or more",
            );
        }
        if self.eventually_consistent_reads && self.revocation_lag_seconds < 1.0 {
            return usage(
                "--eventually-consistent-reads needs --revocation-lag-seconds of 1 or more",
            );
        }
        Ok(Assumptions {
            memory_mb: self.memory_mb,
            arm64: !self.x86_64,
            store_ms: self.store_ms,
            upstream_ms: self.upstream_ms,
            kms_ms: self.kms_ms,
            lag_seconds: self.revocation_lag_seconds,
            eventual: self.eventually_consistent_reads,
            environment_hours: self.environment_hours,
        })
    }
}

const STYLES: [Style; 5] = [
    Style::Tokengate,
    Style::Jwt,
    Style::JwtGatewayKeys,
    Style::Rfc7662,
    Style::Forward,
];

const TOKENS: [TokenKind; 3] = [TokenKind::Opaque, TokenKind::JwtEnvelope, TokenKind::JwtKms];

fn style_name(style: Style, assumed: &Assumptions) -> String {
    match style {
        Style::Tokengate if assumed.lag_seconds > 0.0 => format!(
            "tokengate, lag {} s{}",
            assumed.lag_seconds,
            if assumed.eventual {
                ", eventual reads"
            } else {
                ""
            }
        ),
        Style::Tokengate => "tokengate".into(),
        Style::Jwt => "jwt".into(),
        Style::JwtGatewayKeys => "jwt, keys checked by API Gateway".into(),
        Style::Rfc7662 => "rfc7662".into(),
        Style::Forward => "forward".into(),
    }
}

fn token_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Opaque => "opaque",
        TokenKind::JwtEnvelope => "JWT, envelope (RS256)",
        TokenKind::JwtKms => "JWT, kms",
    }
}

/// Prints the model for `options`.
pub fn run(options: &CostOptions, json: bool) -> Result<(), CliError> {
    let assumed = options.assumptions()?;
    let styles: Vec<Style> = options.style.map_or(STYLES.to_vec(), |s| vec![s]);
    let decisions: Vec<(String, PerMillion)> = styles
        .iter()
        .map(|s| {
            (
                style_name(*s, &assumed),
                assumed.decisions(*s, options.requests_per_month),
            )
        })
        .collect();
    let tokens: Vec<(&str, PerMillion)> = TOKENS
        .iter()
        .map(|k| (token_name(*k), assumed.tokens(*k, options.tokens_per_month)))
        .collect();
    let (requests, issued) = (
        options.requests_per_month / 1e6,
        options.tokens_per_month / 1e6,
    );
    if json {
        let rows = |rows: &[(String, PerMillion)], millions: f64| {
            rows.iter()
                .map(|(name, cost)| json!({"name": name, "per_million": cost, "per_month": cost.total * millions}))
                .collect::<Vec<_>>()
        };
        let tokens: Vec<(String, PerMillion)> =
            tokens.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect();
        print_json(&json!({
            "requests_per_month": options.requests_per_month,
            "tokens_per_month": options.tokens_per_month,
            "assumptions": assumed,
            "decisions": rows(&decisions, requests),
            "tokens": rows(&tokens, issued),
            "compare": {
                "api_gateway_jwt_authorizer_per_million": HTTP_API.usd * 1e6,
                "cognito_m2m_tokens_per_million": COGNITO_M2M.usd * 1e6,
            },
            "prices": PRICES,
        }));
        return Ok(());
    }
    print!("{}", text(options, &assumed, &decisions, &tokens));
    Ok(())
}

fn text(
    options: &CostOptions,
    assumed: &Assumptions,
    decisions: &[(String, PerMillion)],
    tokens: &[(&str, PerMillion)],
) -> String {
    let (requests, issued) = (
        options.requests_per_month / 1e6,
        options.tokens_per_month / 1e6,
    );
    let mut out = format!(
        "tokengate cost: {} decisions and {} tokens a month; us-east-1 on-demand prices; {}, {} MB\n\n",
        options.requests_per_month,
        options.tokens_per_month,
        if assumed.arm64 { "arm64" } else { "x86_64" },
        assumed.memory_mb
    );
    let named = decisions.iter().map(|(n, c)| (n.as_str(), c));
    out.push_str(&table("decisions, by style", named, requests));
    out.push_str(&format!(
        "\nAPI Gateway's JWT authorizer on an HTTP API, no Lambda: ${:.2} per million, ${:.2} a month\n\n",
        HTTP_API.usd * 1e6,
        HTTP_API.usd * options.requests_per_month
    ));
    let named = tokens.iter().map(|(n, c)| (*n, c));
    out.push_str(&table("tokens, by format", named, issued));
    out.push_str(&format!(
        "\nCognito machine-to-machine tokens: ${:.2} per million, ${:.2} a month, plus $6 per app client\n\n",
        COGNITO_M2M.usd * 1e6,
        COGNITO_M2M.usd * options.tokens_per_month
    ));
    out.push_str("Prices (not fetched live; check them before you budget):\n");
    for price in PRICES {
        let (usd, per) = if price.usd < 0.01 {
            (price.usd * 1e6, format!("million × {}", price.per))
        } else {
            (price.usd, price.per.to_owned())
        };
        out.push_str(&format!(
            "  ${usd:.4} per {per} ({}): {}\n",
            price.noted, price.source
        ));
    }
    out.push_str("Model, measurements and assumptions: docs/cost.md\n");
    out
}

/// A Markdown table of `rows`, a million each and `millions` of them a month.
fn table<'a>(
    what: &str,
    rows: impl Iterator<Item = (&'a str, &'a PerMillion)>,
    millions: f64,
) -> String {
    let mut out = format!(
        "| {what} | API Gateway | Lambda requests | Lambda duration | DynamoDB | KMS | per million | a month |\n\
         |---|---|---|---|---|---|---|---|\n"
    );
    for (name, c) in rows {
        out.push_str(&format!(
            "| {name} | ${:.2} | ${:.2} | ${:.4} | ${:.4} | ${:.2} | ${:.2} | ${:.2} |\n",
            c.api_gateway,
            c.lambda_requests,
            c.lambda_duration,
            c.dynamodb,
            c.kms,
            c.total,
            c.total * millions
        ));
    }
    out
}
