//! Pre-inputs: both of Mashery's syntaxes, its string encodings, the additions, and an
//! error naming the key for everything wrong.

use authorizer::PreInputs;
use authorizer::config::{ConfigError, ResponsePath, ValidationStyle};

fn parse(text: &str) -> Result<PreInputs, ConfigError> {
    PreInputs::parse(text)
}

fn invalid_key(text: &str) -> String {
    match parse(text) {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("expected an invalid key, got {other:?}"),
    }
}

const NESTED: &str = r#"{
  "token_validation_uri": {
    "regionCodeHeader": "X-Region-Code",
    "regionCodeValue": {"FR": "https://fr.idp.example/userinfo", "US": "https://us.idp.example/userinfo"},
    "defaultURI": "https://idp.example/userinfo"
  },
  "inject_headers": {
    "FR": {"X-User-Email": "$.email"},
    "default": {"X-User-Id": "$.sub", "X-User-Org": "/user/org"}
  },
  "block_authorization_header": true,
  "http_proxy_server": "squid.example.com",
  "http_proxy_port": 3128
}"#;

#[test]
fn the_nested_form_from_the_design_parses_completely() {
    let p = parse(NESTED).unwrap();
    assert_eq!(p.region_header.as_deref(), Some("x-region-code"));
    assert_eq!(
        p.endpoint_for(Some("FR")).unwrap().as_str(),
        "https://fr.idp.example/userinfo"
    );
    assert_eq!(
        p.endpoint_for(Some("US")).unwrap().as_str(),
        "https://us.idp.example/userinfo"
    );
    assert_eq!(
        p.endpoint_for(Some("DE")).unwrap().as_str(),
        "https://idp.example/userinfo"
    );
    assert_eq!(
        p.endpoint_for(Some("")).unwrap().as_str(),
        "https://idp.example/userinfo"
    );
    assert_eq!(
        p.endpoint_for(None).unwrap().as_str(),
        "https://idp.example/userinfo"
    );
    assert_eq!(p.injections_for(Some("FR"))[0].header, "X-User-Email");
    let default: Vec<&str> = p
        .injections_for(Some("US"))
        .iter()
        .map(|i| i.header.as_str())
        .collect();
    assert_eq!(default, ["X-User-Id", "X-User-Org"]);
    assert!(matches!(
        p.injections_for(None)[1].path,
        ResponsePath::Xml(_)
    ));
    assert!(p.block_authorization_header);
    assert_eq!(p.proxy.unwrap().as_str(), "http://squid.example.com:3128/");
    assert_eq!(p.style, ValidationStyle::Forward);
    assert_eq!(p.api_key.header, "x-api-key");
    assert_eq!(p.api_key.query, "api_key");
}

#[test]
fn the_top_level_form_and_flat_inject_headers_parse_the_same_way() {
    let p = parse(
        r#"{"regionCodeHeader": "X-Region", "regionCodeValue": {"FR": "https://fr.example/v"},
            "defaultURI": "https://d.example/v", "inject_headers": {"X-User-Id": "$.sub"}}"#,
    )
    .unwrap();
    assert_eq!(
        p.endpoint_for(Some("FR")).unwrap().as_str(),
        "https://fr.example/v"
    );
    assert_eq!(p.injections_for(Some("FR"))[0].header, "X-User-Id");
    assert_eq!(p.injections_for(None)[0].context_key, "inject_x_user_id");
}

#[test]
fn mashery_string_encodings_of_pre_inputs_are_accepted() {
    let p = parse(
        r#"{"token_validation_uri": "{\"defaultURI\": \"https://d.example/v\"}",
            "inject_headers": "{\"X-Sub\": \"$.sub\"}",
            "block_authorization_header": "true", "http_proxy_server": "proxy.local", "http_proxy_port": "8080"}"#,
    )
    .unwrap();
    assert_eq!(p.default_uri.unwrap().as_str(), "https://d.example/v");
    assert_eq!(p.default_injections[0].header, "X-Sub");
    assert!(p.block_authorization_header);
    assert_eq!(p.proxy.unwrap().port(), Some(8080));
}

#[test]
fn a_missing_or_malformed_token_validation_uri_is_the_named_uri_error() {
    for text in [
        "{}",
        r#"{"inject_headers": {"X-A": "$.a"}}"#,
        r#"{"token_validation_uri": "https://not-json.example"}"#,
        r#"{"token_validation_uri": 42}"#,
        r#"{"token_validation_uri": {"defaultURI": "not a url"}}"#,
        r#"{"token_validation_uri": {"defaultURI": "ftp://files.example/x"}}"#,
        r#"{"token_validation_uri": {"regionCodeHeader": "X-R", "regionCodeValue": ["https://a.example"]}}"#,
        r#"{"token_validation_uri": {"regionCodeHeader": "X-R", "regionCodeValue": {"FR": 7}}}"#,
        r#"{"token_validation_uri": {"regionCodeValue": {"FR": "https://fr.example"}}}"#,
        "not json at all",
        "[1, 2]",
    ] {
        assert!(
            matches!(parse(text), Err(ConfigError::ValidationUri(_))),
            "{text}"
        );
    }
}

#[test]
fn no_default_uri_is_valid_config_but_leaves_unmatched_regions_without_an_endpoint() {
    let p = parse(r#"{"token_validation_uri": {"regionCodeHeader": "X-R", "regionCodeValue": {"FR": "https://fr.example/v"}}}"#)
        .unwrap();
    assert!(p.endpoint_for(Some("FR")).is_some());
    assert!(p.endpoint_for(Some("US")).is_none());
    assert!(p.endpoint_for(None).is_none());
}

#[test]
fn every_other_mistake_names_the_key_at_fault() {
    let base = r#""token_validation_uri": {"defaultURI": "https://d.example/v"}"#;
    let cases = [
        (r#""inject_headers": {"X-A": "$[?"}"#, "inject_headers.X-A"),
        (r#""inject_headers": {"X-A": "/a["}"#, "inject_headers.X-A"),
        (
            r#""inject_headers": {"FR": {"X-A": 5}}"#,
            "inject_headers.FR.X-A",
        ),
        (
            r#""inject_headers": {"Bad Header": "$.a"}"#,
            "inject_headers.Bad Header",
        ),
        (
            r#""inject_headers": {"Host": "$.a"}"#,
            "inject_headers.Host",
        ),
        (
            r#""inject_headers": {"Authorization": "$.a"}"#,
            "inject_headers.Authorization",
        ),
        (
            r#""inject_headers": {"X-A": "$.a", "x_a": "$.b"}"#,
            "inject_headers.x_a",
        ),
        (
            r#""block_authorization_header": "sometimes""#,
            "block_authorization_header",
        ),
        (r#""http_proxy_port": 3128"#, "http_proxy_server"),
        (
            r#""http_proxy_server": "p", "http_proxy_port": 70000"#,
            "http_proxy_port",
        ),
        (r#""validation": {"style": "magic"}"#, "validation.style"),
        (
            r#""validation": {"style": "rfc7662", "client_secret": "s"}"#,
            "validation.client_id",
        ),
        (
            r#""validation": {"style": "rfc7662", "client_id": "c"}"#,
            "validation.client_secret",
        ),
        (r#""validation": {"stlye": "rfc7662"}"#, "validation.stlye"),
        (r#""timeouts": {"total_ms": 20000}"#, "timeouts.total_ms"),
        (
            r#""timeouts": {"connect_ms": 3000, "total_ms": 1000}"#,
            "timeouts.connect_ms",
        ),
        (r#""cache": {"ttl_seconds": -1}"#, "cache.ttl_seconds"),
        (r#""max_response_bytes": 10"#, "max_response_bytes"),
        (r#""api_key": {"header": "has space"}"#, "api_key.header"),
    ];
    for (extra, key) in cases {
        assert_eq!(invalid_key(&format!("{{{base}, {extra}}}")), key, "{extra}");
    }
}

#[test]
fn the_additions_are_read_with_their_defaults_overridden() {
    let p = parse(
        r#"{"token_validation_uri": {"defaultURI": "https://d.example/introspect"},
            "api_key": {"header": "X-Key", "query": "key"},
            "validation": {"style": "rfc7662", "client_id": "authz", "client_secret": "s3cret",
                           "audience": "api", "required_scopes": ["read"]},
            "timeouts": {"connect_ms": 500, "total_ms": 1500},
            "cache": {"ttl_seconds": 0, "max_entries": 10, "key_ttl_seconds": 5},
            "max_response_bytes": 2048,
            "xml_namespaces": {"u": "urn:example:user"}}"#,
    )
    .unwrap();
    assert_eq!(p.api_key.header, "x-key");
    assert_eq!(p.api_key.query, "key");
    assert!(matches!(&p.style, ValidationStyle::Rfc7662 { audience: Some(a), .. } if a == "api"));
    assert!(
        !format!("{:?}", p.style).contains("s3cret"),
        "the client secret is redacted"
    );
    assert_eq!(p.timeouts.total.as_millis(), 1500);
    assert!(p.cache.ttl.is_zero());
    assert_eq!(p.max_response_bytes, 2048);
    assert_eq!(p.xml_namespaces["u"], "urn:example:user");
}

#[test]
fn the_example_pre_inputs_in_infra_are_valid() {
    for (name, text) in [
        (
            "pre-inputs.json",
            include_str!("../../../infra/examples/pre-inputs.json"),
        ),
        (
            "pre-inputs-top-level.json",
            include_str!("../../../infra/examples/pre-inputs-top-level.json"),
        ),
        (
            "pre-inputs-introspection.json",
            include_str!("../../../infra/examples/pre-inputs-introspection.json"),
        ),
    ] {
        let parsed = parse(text);
        assert!(parsed.is_ok(), "{name}: {:?}", parsed.err());
    }
}
