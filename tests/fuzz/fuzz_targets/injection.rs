//! A path and a body (the first line, then the rest): the path compiled as JSONPath or
//! XPath, the body parsed as JSON and as XML, and every value injected is safe in a header.
#![no_main]

use std::collections::BTreeMap;

use authorizer::endpoint::ContentKind;
use authorizer::header_rules::{context_key, is_safe_header_value};
use authorizer::injection::ResponseBody;
use authorizer::pre_inputs::{HeaderInjection, ResponsePath};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (path, body) = text.split_once('\n').unwrap_or(("$.sub", &text));
    let Ok(path) = ResponsePath::compile(path) else {
        return;
    };
    let injections = [HeaderInjection {
        header: "X-Value".into(),
        context_key: context_key("X-Value"),
        path,
    }];
    let namespaces = BTreeMap::from([("u".to_owned(), "urn:example:user".to_owned())]);
    for kind in [ContentKind::Json, ContentKind::Xml] {
        if let Ok(parsed) = ResponseBody::parse(kind, body.as_bytes()) {
            for header in parsed.inject(&injections, &namespaces).headers {
                assert!(is_safe_header_value(&header.value), "{:?}", header.value);
            }
        }
    }
});
