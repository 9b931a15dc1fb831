//! What is wrong in a pre-inputs document: each problem under its key path, with the
//! known name a typo most likely meant.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::IgnoredAny;

use crate::error::Deny;

/// One thing wrong in the pre-inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path at fault (`inject_headers.FR.X-User-Id`); empty for the whole document.
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.key, self.problem)
        }
    }
}

/// Why the pre-inputs cannot be used: every problem found, in document order of sections.
/// The authorizer then denies every request with [`ConfigError::deny`], as Mashery does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// At least one.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.problems.iter().map(Problem::to_string).collect();
        f.write_str(&lines.join("; "))
    }
}

impl std::error::Error for ConfigError {}

/// The keys of Mashery's `token_validation_uri`, which may also stand at the top level.
pub(super) const URI_KEYS: [&str; 3] = ["regionCodeHeader", "regionCodeValue", "defaultURI"];

impl ConfigError {
    /// A problem with the whole document (no pre-inputs, not JSON): Mashery counts it as
    /// a `token_validation_uri` that is not defined.
    pub fn document(problem: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                key: String::new(),
                problem: problem.into(),
            }],
        }
    }

    /// Whether the validation URI itself is at fault (missing, not in the required JSON
    /// form), which Mashery names separately.
    pub fn is_about_validation_uri(&self) -> bool {
        self.problems.iter().any(|p| {
            let first = p.key.split('.').next().unwrap_or_default();
            first.is_empty() || first == "token_validation_uri" || URI_KEYS.contains(&first)
        })
    }

    /// The named error every request is denied with.
    pub fn deny(&self) -> Deny {
        if self.is_about_validation_uri() {
            Deny::InvalidPreInputConfigurationForTokenValidationURI
        } else {
            Deny::InvalidPreInputConfiguration
        }
    }
}

/// Problems found so far, each under its key path.
#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<Problem>);

impl Problems {
    pub(super) fn add(&mut self, key: impl Into<String>, problem: impl Into<String>) {
        // One problem, one line: parser messages (JSONPath's among them) span several.
        let problem = problem
            .into()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        self.0.push(Problem {
            key: key.into(),
            problem,
        });
    }

    /// Every unknown key of a section, with the nearest known name when there is one.
    pub(super) fn unknown(
        &mut self,
        section: &str,
        unknown: &BTreeMap<String, IgnoredAny>,
        known: &[&str],
    ) {
        for key in unknown.keys() {
            let at = if section.is_empty() {
                key.clone()
            } else {
                format!("{section}.{key}")
            };
            let problem = match nearest(key, known) {
                Some(near) => format!("unknown key (did you mean {near}?)"),
                None => format!("unknown key (known: {})", known.join(", ")),
            };
            self.add(at, problem);
        }
    }
}

/// The known name a typo most likely meant: a case-insensitive match, or one within a
/// small edit distance.
pub(super) fn nearest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (strsim::levenshtein(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(distance, k)| *distance <= (k.len() / 4).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pre_inputs::document::{DOCUMENT_KEYS, VALIDATION_KEYS};

    #[test]
    fn a_near_miss_names_the_key_it_most_likely_meant() {
        assert_eq!(
            nearest("block_authorisation_header", &DOCUMENT_KEYS),
            Some("block_authorization_header")
        );
        assert_eq!(nearest("defaultURl", &DOCUMENT_KEYS), Some("defaultURI"));
        assert_eq!(
            nearest("inject_header", &DOCUMENT_KEYS),
            Some("inject_headers")
        );
        assert_eq!(nearest("stlye", &VALIDATION_KEYS), Some("style"));
        assert_eq!(nearest("something_else", &DOCUMENT_KEYS), None);
    }
}
