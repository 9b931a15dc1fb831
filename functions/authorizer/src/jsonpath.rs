//! RFC 9535 JSONPath (serde_json_path), with the standard `match` and `search` functions on
//! regex-lite: the regex crate's engines and Unicode tables would be a fifth of the
//! authorizer's binary for two filter functions (README, "Cold start"). Patterns are
//! I-Regexp (RFC 9485) without Unicode classes: a pattern regex-lite cannot compile, such as
//! `\p{Lu}`, matches nothing.

use serde_json::Value;
use serde_json_path::functions::{LogicalType, ValueType};

pub use serde_json_path::JsonPath;

/// `match(value, pattern)`: the whole string matches. `.` matches no line break, as
/// I-Regexp has it (regex's CRLF mode).
#[serde_json_path::function(name = "match")]
fn match_function(value: ValueType, pattern: ValueType) -> LogicalType {
    matches(&value, &pattern, |p| format!("(?R)^(?:{p})$"))
}

/// `search(value, pattern)`: some substring matches.
#[serde_json_path::function(name = "search")]
fn search_function(value: ValueType, pattern: ValueType) -> LogicalType {
    matches(&value, &pattern, |p| format!("(?R)(?:{p})"))
}

fn matches(value: &ValueType, pattern: &ValueType, anchored: fn(&str) -> String) -> LogicalType {
    match (value.as_value(), pattern.as_value()) {
        (Some(Value::String(text)), Some(Value::String(pattern))) => {
            regex_lite::Regex::new(&anchored(pattern))
                .is_ok_and(|regex| regex.is_match(text))
                .into()
        }
        _ => LogicalType::False,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(path: &str, value: &Value) -> Vec<Value> {
        JsonPath::parse(path)
            .unwrap()
            .query(value)
            .all()
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn match_takes_the_whole_string_and_search_any_part_of_it() {
        let roles = json!({"roles": ["admin", "read-admin", "reader", "admin\nx"]});
        assert_eq!(
            query("$.roles[?match(@, 'admin.*')]", &roles),
            [json!("admin")],
            "no line break for ."
        );
        assert_eq!(
            query("$.roles[?search(@, 'admin')]", &roles),
            [json!("admin"), json!("read-admin"), json!("admin\nx")]
        );
        assert_eq!(
            query("$.roles[?match(@, 'read(er|-admin)')]", &roles),
            [json!("read-admin"), json!("reader")]
        );
    }

    #[test]
    fn a_pattern_regex_lite_cannot_compile_or_a_value_not_a_string_matches_nothing() {
        let doc = json!({"names": ["Émile", "bob"], "n": [1, "1"]});
        assert!(query("$.names[?match(@, '\\\\p{Lu}.*')]", &doc).is_empty());
        assert!(query("$.names[?search(@, '(')]", &doc).is_empty());
        assert_eq!(query("$.n[?match(@, '1')]", &doc), [json!("1")]);
    }

    #[test]
    fn the_functions_are_type_checked_when_a_path_is_parsed() {
        assert!(JsonPath::parse("$[?match(@.a)]").is_err(), "one argument");
        assert!(JsonPath::parse("$[?nomatch(@.a, 'x')]").is_err(), "unknown");
        assert!(JsonPath::parse("$[?length(@.a) > 1]").is_ok(), "standard");
    }
}
