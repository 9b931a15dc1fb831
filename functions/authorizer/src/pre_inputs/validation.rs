//! The `validation` section compiled: the style, and each style's own keys.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::document::{
    Entry, Flag, IssuerValue, STYLE_KEYS, SecretReference, SecretValue, Secrets, StyleName,
    VALIDATION_KEYS, ValidationSection, within,
};
use super::model::{
    ANY_AUDIENCE, DEFAULT_JWKS_REFRESH, DEFAULT_JWT_ALGORITHMS, DEFAULT_JWT_LEEWAY_SECONDS,
    JwtStyle, SecretSource, ValidationStyle,
};
use super::problems::Problems;
use crate::keyset::KeySet;

pub(super) fn style(
    problems: &mut Problems,
    entry: Option<Entry<ValidationSection>>,
    secrets: Secrets<'_>,
) -> ValidationStyle {
    let Some(mut section) = problems.take("validation", entry) else {
        return ValidationStyle::Forward;
    };
    problems.unknown("validation", &section.unknown, &VALIDATION_KEYS);
    let name = problems.take("validation.style", section.style.take());
    let style_name = match name {
        None | Some(StyleName::Forward) => "forward",
        Some(StyleName::Rfc7662) => "rfc7662",
        Some(StyleName::Jwt) => "jwt",
        Some(StyleName::Tokengate) => "tokengate",
    };
    section.refuse_keys_of_other_styles(problems, style_name);
    match name {
        None | Some(StyleName::Forward) => ValidationStyle::Forward,
        Some(StyleName::Rfc7662) => rfc7662(problems, section, secrets),
        Some(StyleName::Jwt) => ValidationStyle::Jwt(Box::new(jwt(problems, section, secrets))),
        Some(StyleName::Tokengate) => tokengate(problems, section),
    }
}

fn tokengate(problems: &mut Problems, section: ValidationSection) -> ValidationStyle {
    let revocation_lag_seconds = problems
        .take(
            "validation.revocation_lag_seconds",
            section.revocation_lag_seconds,
        )
        .and_then(|n| within(problems, "validation.revocation_lag_seconds", n, 0..=3_600));
    let eventually_consistent_reads = problems
        .take(
            "validation.eventually_consistent_reads",
            section.eventually_consistent_reads,
        )
        .is_some_and(|Flag(b)| b);
    // DynamoDB's eventually consistent read usually sees a write within a second: only a
    // lag that already allows a second may use it.
    if eventually_consistent_reads && revocation_lag_seconds.unwrap_or(0) == 0 {
        problems.add(
            "validation.eventually_consistent_reads",
            "needs validation.revocation_lag_seconds of 1 or more: an eventually consistent \
             read may miss a revocation made within the last second",
        );
    }
    ValidationStyle::Tokengate {
        audience: problems.take("validation.audience", section.audience),
        required_scopes: problems
            .take("validation.required_scopes", section.required_scopes)
            .unwrap_or_default(),
        bound_to_api_key: problems
            .take(
                "validation.token_bound_to_api_key",
                section.token_bound_to_api_key,
            )
            .is_none_or(|Flag(b)| b),
        revocation_lag_seconds,
        eventually_consistent_reads,
    }
}

impl ValidationSection {
    /// Records a problem for each key given that the chosen style does not use, and drops
    /// it so that its value is not checked too.
    pub(super) fn refuse_keys_of_other_styles(&mut self, problems: &mut Problems, style: &str) {
        for (key, styles) in STYLE_KEYS {
            if styles.contains(&style) || !self.drop_key(key) {
                continue;
            }
            let named = match styles {
                [one] => format!("the {one} style"),
                [first @ .., last] => format!("the {} or {last} styles", first.join(", ")),
                [] => "no style".to_owned(),
            };
            problems.add(
                format!("validation.{key}"),
                format!("applies only to {named}; set validation.style"),
            );
        }
    }

    /// Drops a key's value; whether it was given.
    pub(super) fn drop_key(&mut self, key: &str) -> bool {
        match key {
            "client_id" => self.client_id.take().is_some(),
            "client_secret" => self.client_secret.take().is_some(),
            "audience" => self.audience.take().is_some(),
            "required_scopes" => self.required_scopes.take().is_some(),
            "issuer" => self.issuer.take().is_some(),
            "algorithms" => self.algorithms.take().is_some(),
            "leeway_seconds" => self.leeway_seconds.take().is_some(),
            "jwks_file" => self.jwks_file.take().is_some(),
            "jwks_refresh_seconds" => self.jwks_refresh_seconds.take().is_some(),
            "discovery" => self.discovery.take().is_some(),
            "profile" => self.profile.take().is_some(),
            "token_bound_to_api_key" => self.token_bound_to_api_key.take().is_some(),
            "revocation_lag_seconds" => self.revocation_lag_seconds.take().is_some(),
            "eventually_consistent_reads" => self.eventually_consistent_reads.take().is_some(),
            _ => false,
        }
    }
}

pub(super) fn rfc7662(
    problems: &mut Problems,
    section: ValidationSection,
    secrets: Secrets<'_>,
) -> ValidationStyle {
    let given = [section.client_id.is_some(), section.client_secret.is_some()];
    let client_id = problems.take("validation.client_id", section.client_id);
    let client_secret = problems.take("validation.client_secret", section.client_secret);
    let audience = problems.take("validation.audience", section.audience);
    let required_scopes = problems.take("validation.required_scopes", section.required_scopes);
    let (secret, secret_source) = match client_secret {
        Some(SecretValue::Inline(secret)) => (Some(secret), SecretSource::Inline),
        Some(SecretValue::Reference(SecretReference { env })) => {
            let secret = match secrets {
                Secrets::Unread => Some(String::new()),
                Secrets::Read(lookup) => {
                    let value = lookup(&env).filter(|v| !v.is_empty());
                    if value.is_none() {
                        problems.add(
                            "validation.client_secret",
                            format!("names environment variable {env}, which is not set"),
                        );
                    }
                    value
                }
            };
            (secret, SecretSource::Environment(env))
        }
        None => (None, SecretSource::Inline),
    };
    let mut required = |key: &str, given: bool, value: Option<String>| match value {
        Some(value) if !value.is_empty() => value,
        // Given with a wrong value, it has its problem already.
        None if given => String::new(),
        _ => {
            problems.add(format!("validation.{key}"), "is required for rfc7662");
            String::new()
        }
    };
    let client_id = required("client_id", given[0], client_id);
    let client_secret = match (&secret_source, secret) {
        (SecretSource::Environment(_), secret) => secret.unwrap_or_default(),
        (SecretSource::Inline, secret) => required("client_secret", given[1], secret),
    };
    ValidationStyle::Rfc7662 {
        client_id,
        client_secret,
        secret_source,
        audience,
        required_scopes: required_scopes.unwrap_or_default(),
    }
}

pub(super) fn jwt(
    problems: &mut Problems,
    section: ValidationSection,
    secrets: Secrets<'_>,
) -> JwtStyle {
    let (issuer, region_issuers) = jwt_issuers(problems, section.issuer);
    let algorithms = match problems.take("validation.algorithms", section.algorithms) {
        None => DEFAULT_JWT_ALGORITHMS.to_vec(),
        Some(names) => jwt_algorithms(problems, &names),
    };
    let leeway_seconds = problems
        .take("validation.leeway_seconds", section.leeway_seconds)
        .and_then(|n| within(problems, "validation.leeway_seconds", n, 0..=300))
        .unwrap_or(DEFAULT_JWT_LEEWAY_SECONDS);
    let jwks_refresh = problems
        .take(
            "validation.jwks_refresh_seconds",
            section.jwks_refresh_seconds,
        )
        .and_then(|n| within(problems, "validation.jwks_refresh_seconds", n, 1..=3_600))
        .map_or(DEFAULT_JWKS_REFRESH, Duration::from_secs);
    let discovery = problems
        .take("validation.discovery", section.discovery)
        .is_some_and(|Flag(b)| b);
    let jwks_file = problems.take("validation.jwks_file", section.jwks_file);
    let initial_keys = match (&jwks_file, secrets) {
        (Some(path), Secrets::Read(_)) => match std::fs::read(path) {
            Ok(bytes) => KeySet::parse(&bytes, &algorithms)
                .map(Arc::new)
                .map_err(|e| problems.add("validation.jwks_file", format!("{path}: {e}")))
                .ok(),
            Err(e) => {
                problems.add(
                    "validation.jwks_file",
                    format!("{path} cannot be read: {e}"),
                );
                None
            }
        },
        _ => None,
    };
    let audience = jwt_audience(problems, section.audience);
    JwtStyle {
        issuer,
        region_issuers,
        audience,
        required_scopes: problems
            .take("validation.required_scopes", section.required_scopes)
            .unwrap_or_default(),
        rfc9068: problems
            .take("validation.profile", section.profile)
            .is_some(),
        algorithms,
        leeway_seconds,
        jwks_file,
        initial_keys,
        jwks_refresh,
        discovery,
    }
}

/// `validation.issuer`: the default issuer and the regions' own.
pub(super) fn jwt_issuers(
    problems: &mut Problems,
    entry: Option<Entry<IssuerValue>>,
) -> (String, HashMap<String, String>) {
    let issuer_given = entry.is_some();
    match problems.take("validation.issuer", entry) {
        Some(IssuerValue::One(issuer)) if !issuer.trim().is_empty() => (issuer, HashMap::new()),
        Some(IssuerValue::Regions(mut regions)) => {
            let default = regions.remove("default").filter(|d| !d.trim().is_empty());
            if default.is_none() {
                problems.add(
                    "validation.issuer.default",
                    "is required when issuers are given per region",
                );
            }
            (default.unwrap_or_default(), regions.into_iter().collect())
        }
        Some(IssuerValue::One(_)) => {
            problems.add("validation.issuer", "must not be empty");
            (String::new(), HashMap::new())
        }
        None => {
            if !issuer_given {
                problems.add(
                    "validation.issuer",
                    "is required for jwt (the iss every token must carry)",
                );
            }
            (String::new(), HashMap::new())
        }
    }
}

/// `validation.audience`, required for `jwt` (RFC 9068 §4: a resource server must check
/// that it is the token's audience); `"any"` opts out, and is the only way to.
pub(super) fn jwt_audience(
    problems: &mut Problems,
    entry: Option<Entry<String>>,
) -> Option<String> {
    let given = entry.is_some();
    match problems.take("validation.audience", entry) {
        Some(any) if any == ANY_AUDIENCE => None,
        Some(audience) if !audience.trim().is_empty() => Some(audience),
        Some(_) => {
            problems.add("validation.audience", "must not be empty");
            None
        }
        None => {
            if !given {
                problems.add(
                    "validation.audience",
                    "is required for jwt: the audience (aud) this API's tokens carry, as RFC 9068 §4 requires; write \"any\" to accept tokens meant for any audience, ID tokens included",
                );
            }
            None
        }
    }
}

/// The `algorithms` list: known asymmetric JWS algorithms only.
pub(super) fn jwt_algorithms(problems: &mut Problems, names: &[String]) -> Vec<Algorithm> {
    let mut algorithms = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let key = format!("validation.algorithms[{i}]");
        match name.parse::<Algorithm>() {
            Ok(alg) if DEFAULT_JWT_ALGORITHMS.contains(&alg) => algorithms.push(alg),
            Ok(_) => problems.add(
                key,
                format!(
                    "{name} is never accepted: a shared secret cannot be verified against a \
                     public key set"
                ),
            ),
            Err(_) if name.eq_ignore_ascii_case("none") => {
                problems.add(
                    key,
                    "none is never accepted: an unsigned token proves nothing",
                );
            }
            Err(_) => problems.add(
                key,
                format!(
                    "is not an algorithm tokengate accepts (known: {})",
                    DEFAULT_JWT_ALGORITHMS.map(|a| format!("{a:?}")).join(", ")
                ),
            ),
        }
    }
    if names.is_empty() {
        problems.add("validation.algorithms", "must name at least one algorithm");
    }
    algorithms
}
