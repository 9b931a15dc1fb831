//! RFC 9535 JSONPath (serde_json_path), with the standard `match` and `search` functions on
//! the regex crate built with only the Unicode tables I-Regexp (RFC 9485) needs: the
//! general categories of `\p{…}`. A pattern given literally in a path is compiled when the
//! pre-inputs are ([`check_patterns`]), so one that cannot compile is a configuration error;
//! one that comes from the document and cannot compile matches nothing, as RFC 9535 says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use regex::Regex;
use serde_json::Value;
use serde_json_path::functions::{LogicalType, ValueType};

pub use serde_json_path::JsonPath;

/// `match(value, pattern)`: the whole string matches. `.` matches no line break, as
/// I-Regexp has it (regex's CRLF mode).
#[serde_json_path::function(name = "match")]
fn match_function(value: ValueType, pattern: ValueType) -> LogicalType {
    matches(&value, &pattern, Anchoring::Whole)
}

/// `search(value, pattern)`: some substring matches.
#[serde_json_path::function(name = "search")]
fn search_function(value: ValueType, pattern: ValueType) -> LogicalType {
    matches(&value, &pattern, Anchoring::Anywhere)
}

#[derive(Clone, Copy)]
enum Anchoring {
    Whole,
    Anywhere,
}

impl Anchoring {
    fn wrap(self, pattern: &str) -> String {
        match self {
            Self::Whole => format!("(?R)^(?:{pattern})$"),
            Self::Anywhere => format!("(?R)(?:{pattern})"),
        }
    }
}

fn matches(value: &ValueType, pattern: &ValueType, anchoring: Anchoring) -> LogicalType {
    match (value.as_value(), pattern.as_value()) {
        (Some(Value::String(text)), Some(Value::String(pattern))) => compiled(pattern, anchoring)
            .is_some_and(|regex| regex.is_match(text))
            .into(),
        _ => LogicalType::False,
    }
}

/// The most patterns kept compiled: the pre-inputs' own, and a few from documents.
const MAX_COMPILED: usize = 256;

/// `pattern`, compiled once and kept; `None` when it does not compile.
fn compiled(pattern: &str, anchoring: Anchoring) -> Option<Arc<Regex>> {
    static COMPILED: OnceLock<Mutex<HashMap<String, Option<Arc<Regex>>>>> = OnceLock::new();
    let wrapped = anchoring.wrap(pattern);
    let cache = COMPILED.get_or_init(Mutex::default);
    if let Some(hit) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&wrapped)
    {
        return hit.clone();
    }
    let regex = Regex::new(&wrapped).ok().map(Arc::new);
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() < MAX_COMPILED {
        cache.insert(wrapped, regex.clone());
    }
    regex
}

/// Every pattern written literally as the second argument of `match` or `search` in
/// `path`, each compiled: the first that does not compile, with the regex crate's reason.
pub fn check_patterns(path: &str) -> Result<(), String> {
    for pattern in literal_patterns(path) {
        if let Err(e) = Regex::new(&Anchoring::Anywhere.wrap(&pattern)) {
            let reason = e.to_string();
            let reason = reason.lines().last().unwrap_or_default().trim();
            return Err(format!(
                "the pattern {pattern:?} is not a regular expression tokengate can run ({reason})"
            ));
        }
    }
    Ok(())
}

/// The string literals that stand as the second argument of a `match(` or `search(`.
fn literal_patterns(path: &str) -> Vec<String> {
    let chars: Vec<char> = path.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some(quote) = ['\'', '"'].into_iter().find(|q| chars[i] == *q) {
            i = string_literal(&chars, i + 1, quote).1;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        let opens = ["match(", "search("].iter().find(|f| rest.starts_with(*f));
        let standalone = i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_');
        if let (Some(function), true) = (opens, standalone) {
            i += function.len();
            if let Some((pattern, end)) = second_argument(&chars, i) {
                found.push(pattern);
                i = end;
            }
            continue;
        }
        i += 1;
    }
    found
}

/// The second argument from `at` (just inside the parenthesis), when it is a string
/// literal: its value and where it ends.
fn second_argument(chars: &[char], mut at: usize) -> Option<(String, usize)> {
    let mut depth = 0usize;
    while at < chars.len() {
        match chars[at] {
            '\'' | '"' => at = string_literal(chars, at + 1, chars[at]).1,
            '(' | '[' => {
                depth += 1;
                at += 1;
            }
            ')' | ']' if depth == 0 => return None,
            ')' | ']' => {
                depth -= 1;
                at += 1;
            }
            ',' if depth == 0 => break,
            _ => at += 1,
        }
    }
    at += 1;
    while chars.get(at).is_some_and(|c| c.is_whitespace()) {
        at += 1;
    }
    let quote = *chars.get(at).filter(|c| **c == '\'' || **c == '"')?;
    let (value, end) = string_literal(chars, at + 1, quote);
    Some((value?, end))
}

/// An RFC 9535 string literal's value from `at` (just after its opening quote), `None`
/// when it is malformed (the parser refuses such a path anyway), and where it ends.
fn string_literal(chars: &[char], mut at: usize, quote: char) -> (Option<String>, usize) {
    let mut value = String::new();
    while at < chars.len() {
        let c = chars[at];
        at += 1;
        if c == quote {
            return (Some(value), at);
        }
        if c != '\\' {
            value.push(c);
            continue;
        }
        let Some(&escaped) = chars.get(at) else {
            break;
        };
        at += 1;
        match escaped {
            'b' => value.push('\u{8}'),
            'f' => value.push('\u{c}'),
            'n' => value.push('\n'),
            'r' => value.push('\r'),
            't' => value.push('\t'),
            'u' => {
                let hex: String = chars[at..chars.len().min(at + 4)].iter().collect();
                at += 4;
                let code = u32::from_str_radix(&hex, 16).ok();
                value.push(code.and_then(char::from_u32).unwrap_or('\u{fffd}'));
            }
            other => value.push(other),
        }
    }
    (None, at)
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
    fn unicode_classes_match_and_a_pattern_that_cannot_compile_or_a_non_string_matches_nothing() {
        let doc = json!({"names": ["Émile", "bob"], "n": [1, "1"], "p": "("});
        assert_eq!(
            query("$.names[?match(@, '\\\\p{Lu}.*')]", &doc),
            [json!("Émile")]
        );
        assert!(query("$.names[?search(@, $.p)]", &doc).is_empty());
        assert_eq!(query("$.n[?match(@, '1')]", &doc), [json!("1")]);
    }

    #[test]
    fn the_functions_are_type_checked_when_a_path_is_parsed() {
        assert!(JsonPath::parse("$[?match(@.a)]").is_err(), "one argument");
        assert!(JsonPath::parse("$[?nomatch(@.a, 'x')]").is_err(), "unknown");
        assert!(JsonPath::parse("$[?length(@.a) > 1]").is_ok(), "standard");
    }

    #[test]
    fn literal_patterns_are_found_and_compiled_wherever_they_stand() {
        assert_eq!(
            literal_patterns(r#"$[?match(@.a, 'x\'y') && search(@['m,(]'], "\u00e9+")]"#),
            ["x'y", "é+"]
        );
        assert!(literal_patterns("$[?match(@.a, @.b)]").is_empty());
        assert!(literal_patterns("$['match(']").is_empty());
        assert!(check_patterns("$[?match(@, '\\\\p{Lu}')]").is_ok());
        let refused = check_patterns("$[?search(@, 'a(')]").unwrap_err();
        assert!(
            refused.starts_with("the pattern \"a(\" is not"),
            "{refused}"
        );
    }
}
