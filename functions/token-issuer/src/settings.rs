//! The token issuer's settings from the environment, read once at cold start.

use tokengate_shared::{Scope, TokenFormat};

/// Default token lifetime, INN-Reach's 599 seconds.
pub const DEFAULT_TTL_SECONDS: u64 = 599;
/// The longest lifetime accepted: a day.
pub const MAX_TTL_SECONDS: u64 = 86_400;
/// How often a warm function reads the signing keys again, by default: the longest a
/// rotation takes to reach it.
pub const DEFAULT_SIGNING_KEYS_REFRESH_SECONDS: u64 = 60;

/// Brute-force throttling (RFC 6749 §2.3.1): after `max_failures` failed authentications
/// of one key, or from one source address, within `window_seconds` of the first, further
/// failures are answered 429 until the window closes. A right secret is never refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// `TOKEN_MAX_FAILURES`, default 10.
    pub max_failures: u64,
    /// `TOKEN_FAILURE_WINDOW_SECONDS`, default 300.
    pub window_seconds: u64,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window_seconds: 300,
        }
    }
}

impl Throttle {
    /// The same, as the stores count it.
    pub fn limit(self) -> tokengate_shared::FailureLimit {
        tokengate_shared::FailureLimit {
            max: self.max_failures,
            window: self.window_seconds,
        }
    }

    /// `TOKEN_MAX_FAILURES` and `TOKEN_FAILURE_WINDOW_SECONDS` through `lookup`.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let defaults = Self::default();
        let number = |name: &'static str, default: u64, max: u64| match lookup(name) {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or(SettingsError::OutOfRange(name, max)),
        };
        Ok(Self {
            max_failures: number("TOKEN_MAX_FAILURES", defaults.max_failures, 1_000)?,
            window_seconds: number(
                "TOKEN_FAILURE_WINDOW_SECONDS",
                defaults.window_seconds,
                86_400,
            )?,
        })
    }
}

/// Where keys and tokens live and how long tokens last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIssuerSettings {
    /// `KEYS_TABLE`: the client keys table.
    pub keys_table: String,
    /// `TOKENS_TABLE`: the issued tokens table.
    pub tokens_table: String,
    /// `TOKEN_TTL_SECONDS`: the lifetime of a token, reported as `expires_in`.
    pub ttl_seconds: u64,
    /// `TOKEN_MAX_FAILURES` and `TOKEN_FAILURE_WINDOW_SECONDS`.
    pub throttle: Throttle,
    /// `ISSUER_URL`: the issuer the metadata document announces; when unset, each request's
    /// host and stage.
    pub issuer: Option<String>,
    /// `SCOPES_SUPPORTED`: the scopes the metadata announces (space-separated); none: the
    /// member is left out. Never read from the table.
    pub scopes_supported: Vec<Scope>,
    /// `TOKEN_FORMAT`: `opaque` (the default) or `jwt`, unless a key says otherwise.
    pub format: TokenFormat,
    /// `SIGNING_KEYS_TABLE`: the JWT signing keys; required with `TOKEN_FORMAT=jwt`. Unset,
    /// no token is signed and the JWKS is empty.
    pub signing_keys_table: Option<String>,
    /// `SIGNING_KEYS_REFRESH_SECONDS` (1 to 3600, default 60): how often a warm function
    /// reads the signing keys again.
    pub signing_keys_refresh_seconds: u64,
    /// `PLANS_TABLE` and `USAGE_TABLE`, both set or neither: with them, a key's plan limits
    /// the tokens it is issued (`plans create --tokens`).
    pub plan_tables: Option<(String, String)>,
}

/// `PLANS_TABLE` and `USAGE_TABLE`, when both are set.
fn plan_tables(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<(String, String)>, SettingsError> {
    let table = |name| lookup(name).filter(|v| !v.trim().is_empty());
    match (table("PLANS_TABLE"), table("USAGE_TABLE")) {
        (Some(plans), Some(usage)) => Ok(Some((plans, usage))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(SettingsError::PlanTableMissing(
            "USAGE_TABLE",
            "PLANS_TABLE",
        )),
        (None, Some(_)) => Err(SettingsError::PlanTableMissing(
            "PLANS_TABLE",
            "USAGE_TABLE",
        )),
    }
}

/// A configuration problem, naming the environment variable at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A required variable is unset or empty.
    #[error("{0} must be set (the name of a DynamoDB table)")]
    Missing(&'static str),
    /// `TOKEN_TTL_SECONDS` is not a whole number of seconds in range.
    #[error("TOKEN_TTL_SECONDS must be a whole number of seconds from 1 to {MAX_TTL_SECONDS}")]
    InvalidTtl,
    /// A throttling setting is not a whole number in range.
    #[error("{0} must be a whole number from 1 to {1}")]
    OutOfRange(&'static str, u64),
    /// `ISSUER_URL` is not an absolute http(s) URL without query or fragment.
    #[error(
        "ISSUER_URL must be an absolute https URL (http only for loopback) with no query or fragment, such as https://api.example.com/prod"
    )]
    InvalidIssuer,
    /// A setting that is not one of the values it takes: the variable, and what it takes.
    #[error("{0} must be {1}")]
    Invalid(&'static str, &'static str),
    /// `TOKEN_FORMAT` is neither `opaque` nor `jwt`.
    #[error("TOKEN_FORMAT must be opaque or jwt")]
    InvalidFormat,
    /// `TOKEN_FORMAT=jwt` without `SIGNING_KEYS_TABLE`.
    #[error(
        "SIGNING_KEYS_TABLE must be set when TOKEN_FORMAT is jwt (the name of the signing keys table)"
    )]
    SigningKeysTableMissing,
    /// One of `PLANS_TABLE` and `USAGE_TABLE` without the other.
    #[error("{0} must be set beside {1}: plans limit tokens with both tables")]
    PlanTableMissing(&'static str, &'static str),
    /// `SCOPES_SUPPORTED` holds something that is not a scope.
    #[error("SCOPES_SUPPORTED must be scopes separated by spaces: {0}")]
    InvalidScopes(String),
}

impl TokenIssuerSettings {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, a stand-in for the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(SettingsError::Missing(name))
        };
        let format = token_format(&lookup)?;
        let signing_keys_table = lookup("SIGNING_KEYS_TABLE").filter(|v| !v.trim().is_empty());
        if format == TokenFormat::Jwt && signing_keys_table.is_none() {
            return Err(SettingsError::SigningKeysTableMissing);
        }
        let refresh = match lookup("SIGNING_KEYS_REFRESH_SECONDS") {
            None => DEFAULT_SIGNING_KEYS_REFRESH_SECONDS,
            Some(text) => (text.trim().parse().ok())
                .filter(|n| (1..=3_600).contains(n))
                .ok_or(SettingsError::OutOfRange(
                    "SIGNING_KEYS_REFRESH_SECONDS",
                    3_600,
                ))?,
        };
        Ok(Self {
            keys_table: required("KEYS_TABLE")?,
            tokens_table: required("TOKENS_TABLE")?,
            ttl_seconds: ttl_seconds(&lookup)?,
            throttle: Throttle::from_lookup(&lookup)?,
            issuer: issuer_url(&lookup)?,
            scopes_supported: scopes_supported(&lookup)?,
            format,
            signing_keys_table,
            signing_keys_refresh_seconds: refresh,
            plan_tables: plan_tables(&lookup)?,
        })
    }
}

/// `TOKEN_FORMAT` through `lookup`: `opaque` when unset.
pub fn token_format(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<TokenFormat, SettingsError> {
    match lookup("TOKEN_FORMAT").filter(|v| !v.trim().is_empty()) {
        None => Ok(TokenFormat::Opaque),
        Some(text) => TokenFormat::parse(text.trim()).map_err(|_| SettingsError::InvalidFormat),
    }
}

/// `SCOPES_SUPPORTED` through `lookup`: scopes separated by spaces, none when unset.
pub fn scopes_supported(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<Scope>, SettingsError> {
    lookup("SCOPES_SUPPORTED")
        .unwrap_or_default()
        .split_whitespace()
        .map(|s| Scope::parse(s).map_err(|e| SettingsError::InvalidScopes(e.to_string())))
        .collect()
}

/// `ISSUER_URL` through `lookup`, without a trailing `/`: RFC 8414 §2 asks for https and
/// no query or fragment; plain http is allowed for loopback hosts, for local runs.
pub fn issuer_url(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, SettingsError> {
    let Some(text) = lookup("ISSUER_URL").filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let text = text.trim().trim_end_matches('/');
    let uri: lambda_http::http::Uri = text.parse().map_err(|_| SettingsError::InvalidIssuer)?;
    let host = uri.host().unwrap_or_default();
    let loopback = host == "localhost" || host == "127.0.0.1" || host == "[::1]";
    let scheme_ok = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => loopback,
        _ => false,
    };
    if !scheme_ok || host.is_empty() || uri.query().is_some() || text.contains('#') {
        return Err(SettingsError::InvalidIssuer);
    }
    Ok(Some(text.to_owned()))
}

/// `TOKEN_TTL_SECONDS` through `lookup`: 599 when unset.
pub fn ttl_seconds(lookup: &impl Fn(&str) -> Option<String>) -> Result<u64, SettingsError> {
    match lookup("TOKEN_TTL_SECONDS") {
        None => Ok(DEFAULT_TTL_SECONDS),
        Some(text) => text
            .trim()
            .parse()
            .ok()
            .filter(|ttl| (1..=MAX_TTL_SECONDS).contains(ttl))
            .ok_or(SettingsError::InvalidTtl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokengate_tests::fixtures::env;

    #[test]
    fn scopes_supported_are_read_space_separated_none_when_unset_and_refused_naming_a_bad_one() {
        let read = |value: &'static str| scopes_supported(&env(&[("SCOPES_SUPPORTED", value)]));
        let names = |scopes: Vec<Scope>| scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            read("innreach_tp  orders.read").map(names),
            Ok(vec!["innreach_tp".into(), "orders.read".into()])
        );
        assert_eq!(scopes_supported(&env(&[])), Ok(Vec::new()));
        let refused = read("ok bad\"one").unwrap_err();
        assert!(refused.to_string().contains("'bad\"one'"), "{refused}");
    }

    #[test]
    fn the_token_lifetime_defaults_to_599_seconds() {
        let config =
            TokenIssuerSettings::from_lookup(env(&[("KEYS_TABLE", "k"), ("TOKENS_TABLE", "t")]));
        assert_eq!(config.map(|c| c.ttl_seconds), Ok(599));
    }

    #[test]
    fn throttling_defaults_to_ten_failures_in_five_minutes_and_is_refused_by_name_when_wrong() {
        let config =
            TokenIssuerSettings::from_lookup(env(&[("KEYS_TABLE", "k"), ("TOKENS_TABLE", "t")]));
        assert_eq!(config.map(|c| c.throttle), Ok(Throttle::default()));
        assert_eq!(
            Throttle::from_lookup(&env(&[
                ("TOKEN_MAX_FAILURES", "3"),
                ("TOKEN_FAILURE_WINDOW_SECONDS", "2")
            ])),
            Ok(Throttle {
                max_failures: 3,
                window_seconds: 2
            })
        );
        for (name, bad) in [
            ("TOKEN_MAX_FAILURES", "0"),
            ("TOKEN_MAX_FAILURES", "ten"),
            ("TOKEN_FAILURE_WINDOW_SECONDS", "86401"),
            ("TOKEN_FAILURE_WINDOW_SECONDS", "-1"),
        ] {
            let refused = Throttle::from_lookup(&env(&[(name, bad)])).unwrap_err();
            assert!(refused.to_string().starts_with(name), "{refused}");
        }
    }

    #[test]
    fn the_issuer_url_is_https_without_query_or_fragment_and_loses_its_trailing_slash() {
        let issuer = |v: &str| issuer_url(&env(&[("ISSUER_URL", v)]));
        assert_eq!(issuer_url(&env(&[])), Ok(None));
        assert_eq!(
            issuer("https://api.example.com/prod/"),
            Ok(Some("https://api.example.com/prod".into()))
        );
        assert_eq!(
            issuer("http://127.0.0.1:9000/lambda-url/token-issuer"),
            Ok(Some("http://127.0.0.1:9000/lambda-url/token-issuer".into()))
        );
        for bad in [
            "api.example.com",
            "http://api.example.com",
            "https://api.example.com/?a=b",
            "https://api.example.com/#x",
            "ftp://api.example.com",
            "https:///path",
        ] {
            assert_eq!(issuer(bad), Err(SettingsError::InvalidIssuer), "{bad}");
        }
    }

    #[test]
    fn jwt_tokens_need_the_signing_keys_table_and_a_format_is_opaque_or_jwt() {
        let base = [("KEYS_TABLE", "k"), ("TOKENS_TABLE", "t")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let vars: Vec<_> = base.iter().chain(extra).copied().collect();
            TokenIssuerSettings::from_lookup(env(&vars))
        };
        let opaque = with(&[]).unwrap();
        assert_eq!(
            (opaque.format, opaque.signing_keys_table),
            (TokenFormat::Opaque, None)
        );
        assert_eq!(opaque.signing_keys_refresh_seconds, 60);
        assert_eq!(
            with(&[("TOKEN_FORMAT", "jwt")]),
            Err(SettingsError::SigningKeysTableMissing)
        );
        let jwt = with(&[("TOKEN_FORMAT", "jwt"), ("SIGNING_KEYS_TABLE", "s")]).unwrap();
        assert_eq!(jwt.format, TokenFormat::Jwt);
        assert_eq!(
            with(&[("TOKEN_FORMAT", "JWT")]),
            Err(SettingsError::InvalidFormat)
        );
        let refused = with(&[("SIGNING_KEYS_REFRESH_SECONDS", "0")]).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("SIGNING_KEYS_REFRESH_SECONDS")
        );
    }

    #[test]
    fn a_missing_table_name_is_named() {
        let config = TokenIssuerSettings::from_lookup(env(&[("KEYS_TABLE", "k")]));
        assert_eq!(config, Err(SettingsError::Missing("TOKENS_TABLE")));
    }

    #[test]
    fn a_ttl_that_is_not_a_number_in_range_is_refused() {
        for bad in ["", "abc", "0", "-5", "86401", "1.5"] {
            let vars = [
                ("KEYS_TABLE", "k"),
                ("TOKENS_TABLE", "t"),
                ("TOKEN_TTL_SECONDS", bad),
            ];
            let config = TokenIssuerSettings::from_lookup(env(&vars));
            assert_eq!(config, Err(SettingsError::InvalidTtl), "{bad:?}");
        }
    }
}
