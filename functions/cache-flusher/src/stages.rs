//! `FLUSH_STAGES`: the REST API stages whose authorizer cache is flushed, as
//! `restApiId/stageName`, comma-separated. The template names its own API's stage, and any
//! the user adds (`FlushStages`).

use std::fmt;

use crate::error::FlusherError;

/// One REST API stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The REST API's id.
    pub rest_api_id: String,
    /// The stage's name.
    pub stage_name: String,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.rest_api_id, self.stage_name)
    }
}

/// The stages in `value`, each once, in order.
pub fn parse_stages(value: Option<&str>) -> Result<Vec<Stage>, FlusherError> {
    let refused = |problem: String| FlusherError::Stages(problem);
    let value = value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| refused("must be set: restApiId/stageName, comma-separated".into()))?;
    let mut stages: Vec<Stage> = Vec::new();
    for entry in value.split(',').map(str::trim) {
        let (api, stage) = entry
            .split_once('/')
            .ok_or_else(|| refused(format!("entry {entry:?} is not restApiId/stageName")))?;
        let api_ok = !api.is_empty() && api.bytes().all(|b| b.is_ascii_alphanumeric());
        let stage_ok = (1..=128).contains(&stage.len())
            && stage
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !api_ok || !stage_ok {
            return Err(refused(format!(
                "entry {entry:?}: the API id is letters and digits, the stage name letters, \
                 digits, - and _ (at most 128)"
            )));
        }
        let stage = Stage {
            rest_api_id: api.to_owned(),
            stage_name: stage.to_owned(),
        };
        if !stages.contains(&stage) {
            stages.push(stage);
        }
    }
    Ok(stages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_read_once_each_and_a_malformed_entry_is_named() {
        let stages = parse_stages(Some(" abc123/prod, def456/v1_beta ,abc123/prod")).unwrap();
        let names: Vec<String> = stages.iter().map(Stage::to_string).collect();
        assert_eq!(names, ["abc123/prod", "def456/v1_beta"]);
        let missing = parse_stages(Some(" ")).unwrap_err().to_string();
        assert!(missing.starts_with("FLUSH_STAGES must be set"), "{missing}");
        let wrong = parse_stages(Some("abc123/prod,abc123"))
            .unwrap_err()
            .to_string();
        assert!(
            wrong.contains("\"abc123\" is not restApiId/stageName"),
            "{wrong}"
        );
        let path = parse_stages(Some("abc123/../x")).unwrap_err().to_string();
        assert!(path.contains("the stage name letters"), "{path}");
    }
}
