//! Pre-inputs: Mashery's configuration format, deserialized by serde into typed sections,
//! strict at every level, then compiled once at cold start.
//!
//! Both of Mashery's forms are accepted (`token_validation_uri` as an object, or its three
//! keys at the top level; `inject_headers` per region or flat), and so are Mashery's string
//! encodings (an object written as JSON text inside a string, `"true"`, `"3128"`).
//!
//! Every key is deserialized on its own, so one mistake never hides another:
//! [`PreInputs::parse`] reports every problem in the document, each naming its key path.
//!
//! Four rooms, each importing only those before it: `problems` (what is wrong, and where),
//! `document` (the document as written), `validation` and `compile` (the document turned
//! into the model), and `model` (the configuration as the authorizer uses it, re-exported
//! here).

mod compile;
mod document;
mod model;
mod problems;
mod routing;
mod validation;

pub use model::*;
pub use problems::{ConfigError, Problem};
pub use routing::{MAX_POLICY_BYTES, MAX_ROUTES};

use compile::compile;
use document::{Document, Secrets};
use problems::Problems;

impl PreInputs {
    /// Parses pre-inputs from JSON text, reporting every problem in it; a secret named by
    /// reference is read from the process environment.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_with(text, &|name| std::env::var(name).ok())
    }

    /// The same, reading referenced secrets through `env`.
    pub fn parse_with(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::parse_reading(text, Secrets::Read(env))
    }

    /// The same without reading referenced secrets (they stay empty): for `config check` and
    /// `api render`, which check the document but never call the endpoint.
    pub fn parse_unresolved(text: &str) -> Result<Self, ConfigError> {
        Self::parse_reading(text, Secrets::Unread)
    }

    fn parse_reading(text: &str, secrets: Secrets<'_>) -> Result<Self, ConfigError> {
        let document: Document = match serde_json::from_str(text) {
            Ok(document) => document,
            Err(e) if e.is_data() => {
                return Err(ConfigError::document(
                    "the pre-inputs are not a JSON object",
                ));
            }
            Err(e) => {
                return Err(ConfigError::document(format!(
                    "the pre-inputs are not JSON ({e})"
                )));
            }
        };
        let mut problems = Problems::default();
        let pre_inputs = compile(document, &mut problems, secrets);
        if problems.0.is_empty() {
            Ok(pre_inputs)
        } else {
            Err(ConfigError {
                problems: problems.0,
            })
        }
    }
}
