//! Header injection: values pulled from the validation response by JSONPath or XPath,
//! checked by [`crate::header_rules`] before they may travel to a backend as headers.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::endpoint::ContentKind;
use crate::header_rules::is_safe_header_value;
use crate::pre_inputs::{HeaderInjection, ResponsePath};
use crate::xpath::parse_xml;

/// A header to inject, its value checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedHeader {
    /// The header's name.
    pub header: String,
    /// The `context` key it travels under.
    pub context_key: String,
    /// Its value: UTF-8, no control characters, at most [`crate::header_rules::MAX_VALUE_LEN`] bytes.
    pub value: String,
}

/// A validation response body that does not match its declared content type.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the response body is not valid {0}")]
pub struct MalformedBody(pub &'static str);

/// A parsed validation response.
#[derive(Debug)]
pub enum ResponseBody<'a> {
    /// A JSON document.
    Json(Value),
    /// An XML document.
    Xml(roxmltree::Document<'a>),
    /// Neither: no path can match.
    Other,
}

impl<'a> ResponseBody<'a> {
    /// Parses a body by its declared kind. A body that is not what its `Content-Type`
    /// says (or JSON nested deeper than serde_json's limit of 128) is malformed.
    pub fn parse(kind: ContentKind, body: &'a [u8]) -> Result<Self, MalformedBody> {
        match kind {
            ContentKind::Json => serde_json::from_slice(body)
                .map(Self::Json)
                .map_err(|_| MalformedBody("JSON")),
            ContentKind::Xml => std::str::from_utf8(body)
                .ok()
                .and_then(|text| parse_xml(text).ok())
                .map(Self::Xml)
                .ok_or(MalformedBody("XML")),
            ContentKind::Other => Ok(Self::Other),
        }
    }

    /// Evaluates every injection against this body. A path that matches nothing, or that
    /// is of the other kind than the body, injects nothing; a value that is not safe in a
    /// header is dropped, and its header's name returned in `rejected` for the decision's
    /// log line.
    pub fn inject(
        &self,
        injections: &[HeaderInjection],
        namespaces: &BTreeMap<String, String>,
    ) -> Injected {
        let mut injected = Injected::default();
        for injection in injections {
            let value = match (&injection.path, self) {
                (ResponsePath::Json(query), Self::Json(json)) => json_value(query, json),
                (ResponsePath::Xml(expr), Self::Xml(document)) => {
                    expr.evaluate(document, namespaces)
                }
                _ => None,
            };
            let Some(value) = value else { continue };
            if !is_safe_header_value(&value) {
                injected.rejected.push(injection.header.clone());
                continue;
            }
            injected.headers.push(InjectedHeader {
                header: injection.header.clone(),
                context_key: injection.context_key.clone(),
                value,
            });
        }
        injected
    }
}

/// What an injection pass produced.
#[derive(Debug, Default)]
pub struct Injected {
    /// The headers to inject.
    pub headers: Vec<InjectedHeader>,
    /// Headers whose value was not safe to send (control characters, too long, empty).
    pub rejected: Vec<String>,
}

/// One match is its value (strings as they are, objects and arrays as compact JSON);
/// several are a compact JSON array; none, or `null`, injects nothing.
fn json_value(path: &crate::jsonpath::JsonPath, json: &Value) -> Option<String> {
    match path.query(json).all().as_slice() {
        [] => None,
        [single] => match single {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        },
        many => Some(Value::Array(many.iter().map(|&m| m.clone()).collect()).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header_rules::{MAX_VALUE_LEN, context_key, same_variable};
    use crate::pre_inputs::ResponsePath;

    fn injection(header: &str, path: &str) -> HeaderInjection {
        HeaderInjection {
            header: header.into(),
            context_key: context_key(header),
            path: ResponsePath::compile(path).unwrap(),
        }
    }

    fn inject_json(body: &str, path: &str) -> Option<String> {
        let parsed = ResponseBody::parse(ContentKind::Json, body.as_bytes()).unwrap();
        parsed
            .inject(&[injection("X-Value", path)], &BTreeMap::new())
            .headers
            .pop()
            .map(|h| h.value)
    }

    #[test]
    fn header_names_that_differ_only_in_case_or_dash_and_underscore_are_one_variable() {
        assert!(same_variable("X-User-Id", "x_user_id"));
        assert!(same_variable("X_USER-ID", "x-user-id"));
        assert!(!same_variable("X-User-Id", "X-User-Ids"));
        assert!(!same_variable("X-User-Id", "X.User.Id"));
        assert_eq!(context_key("X_User-Id"), context_key("x-user-id"));
    }

    #[test]
    fn json_strings_numbers_objects_and_arrays_are_injected_as_text() {
        let body = r#"{"sub":"u1","n":42,"ok":true,"org":{"id":7,"name":"Lib"},"roles":["a","b"],"nothing":null}"#;
        assert_eq!(inject_json(body, "$.sub").as_deref(), Some("u1"));
        assert_eq!(inject_json(body, "$.n").as_deref(), Some("42"));
        assert_eq!(inject_json(body, "$.ok").as_deref(), Some("true"));
        assert_eq!(
            inject_json(body, "$.org").as_deref(),
            Some(r#"{"id":7,"name":"Lib"}"#)
        );
        assert_eq!(
            inject_json(body, "$.roles").as_deref(),
            Some(r#"["a","b"]"#)
        );
        assert_eq!(
            inject_json(body, "$.roles[*]").as_deref(),
            Some(r#"["a","b"]"#)
        );
        assert_eq!(inject_json(body, "$.missing"), None);
        assert_eq!(inject_json(body, "$.nothing"), None);
    }

    #[test]
    fn utf8_values_are_injected_as_they_are() {
        assert_eq!(
            inject_json(r#"{"name":"Claes Rosenlöf"}"#, "$.name").as_deref(),
            Some("Claes Rosenlöf")
        );
    }

    #[test]
    fn a_value_with_cr_lf_or_another_control_character_is_never_injected() {
        for evil in [
            r#""a\r\nX-Admin: true""#,
            r#""a\nb""#,
            r#""a\u0000b""#,
            r#""tab\there""#,
        ] {
            assert_eq!(
                inject_json(&format!(r#"{{"v":{evil}}}"#), "$.v"),
                None,
                "{evil}"
            );
        }
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        assert_eq!(inject_json(&format!(r#"{{"v":"{long}"}}"#), "$.v"), None);
    }

    #[test]
    fn an_xpath_on_a_json_body_or_a_jsonpath_on_xml_injects_nothing() {
        assert_eq!(inject_json(r#"{"sub":"u1"}"#, "/sub"), None);
        let xml = ResponseBody::parse(ContentKind::Xml, b"<user><sub>u1</sub></user>").unwrap();
        assert!(
            xml.inject(&[injection("X-Sub", "$.sub")], &BTreeMap::new())
                .headers
                .is_empty()
        );
        let found = xml
            .inject(&[injection("X-Sub", "/user/sub")], &BTreeMap::new())
            .headers;
        assert_eq!(found[0].value, "u1");
        assert_eq!(found[0].context_key, "inject_x_sub");
    }

    #[test]
    fn a_body_that_is_not_its_declared_type_is_malformed() {
        assert!(ResponseBody::parse(ContentKind::Json, b"<user/>").is_err());
        assert!(ResponseBody::parse(ContentKind::Xml, b"{\"a\":1}").is_err());
        assert!(ResponseBody::parse(ContentKind::Json, b"\xff\xfe").is_err());
    }

    #[test]
    fn json_nested_ten_thousand_deep_is_refused_without_overflowing_the_stack() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(ResponseBody::parse(ContentKind::Json, deep.as_bytes()).is_err());
    }
}
