//! Pre-inputs: both of Mashery's syntaxes, its string encodings, the additions, and an
//! error naming the key path for everything wrong, all of them in one pass.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use authorizer::pre_inputs::{
    ConfigError, DEFAULT_JWT_ALGORITHMS, KeyChecker, ResponsePath, SecretSource, ValidationStyle,
};
use authorizer::{Deny, PreInputs};
use jsonwebtoken::Algorithm;

fn parse(text: &str) -> Result<PreInputs, ConfigError> {
    PreInputs::parse(text)
}

/// The key path of the one problem in `text`.
fn invalid_key(text: &str) -> String {
    match parse(text) {
        Err(ConfigError { problems }) if problems.len() == 1 => problems[0].key.clone(),
        other => panic!("expected one problem, got {other:?}"),
    }
}

/// Every problem in `text`, as `config check` prints them.
fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        Ok(_) => panic!("expected problems in {text}"),
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
    assert!(matches!(p.style, ValidationStyle::Forward));
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
        let error = parse(text).expect_err(text);
        assert_eq!(
            error.deny(),
            Deny::InvalidPreInputConfigurationForTokenValidationURI,
            "{text}: {error}"
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
        (r#""validation": {"stlye": "forward"}"#, "validation.stlye"),
        (
            r#""validation": {"client_id": "c"}"#,
            "validation.client_id",
        ),
        (
            r#""api_key": {"checked_by": "nobody"}"#,
            "api_key.checked_by",
        ),
        (r#""cache": {"ttl": 5}"#, "cache.ttl"),
        (r#""timeouts": "{not json""#, "timeouts"),
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
        (
            "pre-inputs-jwt.json",
            include_str!("../../../infra/examples/pre-inputs-jwt.json"),
        ),
        (
            "pre-inputs-tokengate.json",
            include_str!("../../../infra/examples/pre-inputs-tokengate.json"),
        ),
        (
            "pre-inputs-hot-client.json",
            include_str!("../../../infra/examples/pre-inputs-hot-client.json"),
        ),
    ] {
        let parsed = PreInputs::parse_unresolved(text);
        assert!(parsed.is_ok(), "{name}: {:?}", parsed.err());
    }
}

#[test]
fn a_typo_at_any_level_is_an_unknown_key_naming_the_key_it_most_likely_meant() {
    let base = r#""token_validation_uri": {"defaultURI": "https://d.example/v"}"#;
    for (extra, expected) in [
        (
            r#""block_authorisation_header": true"#,
            "block_authorisation_header: unknown key (did you mean block_authorization_header?)",
        ),
        (
            r#""inject_header": {"X-A": "$.a"}"#,
            "inject_header: unknown key (did you mean inject_headers?)",
        ),
        (
            r#""validation": {"stlye": "rfc7662"}"#,
            "validation.stlye: unknown key (did you mean style?)",
        ),
        (
            r#""cache": {"max_entrys": 5}"#,
            "cache.max_entrys: unknown key (did you mean max_entries?)",
        ),
    ] {
        assert_eq!(
            problems(&format!("{{{base}, {extra}}}")),
            [expected],
            "{extra}"
        );
    }
    assert_eq!(
        problems(r#"{"token_validation_uri": {"defaultURl": "https://d.example/v"}}"#),
        ["token_validation_uri.defaultURl: unknown key (did you mean defaultURI?)"]
    );
    assert_eq!(
        problems(r#"{"defaultURI": "https://d.example/v", "colour": "blue"}"#)[0],
        "colour: unknown key (known: token_validation_uri, regionCodeHeader, regionCodeValue, defaultURI, inject_headers, block_authorization_header, http_proxy_server, http_proxy_port, api_key, validation, timeouts, cache, max_response_bytes, xml_namespaces, routes, unmatched_routes, rate_limits)"
    );
}

#[test]
fn every_problem_in_a_file_is_reported_in_one_pass() {
    let text = r#"{
      "token_validation_uri": {"defaultURI": "https://d.example/v"},
      "block_authorisation_header": true,
      "validation": {"stlye": "rfc7662"},
      "inject_headers": {"X-User-Id": "$[?", "X-Ok": "$.ok"}
    }"#;
    let found = problems(text);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with("block_authorisation_header: unknown key"));
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("validation.stlye: unknown key"))
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("inject_headers.X-User-Id: not a JSONPath"))
    );
    assert_eq!(
        parse(text).unwrap_err().deny(),
        Deny::InvalidPreInputConfiguration
    );
}

#[test]
fn a_wrong_value_is_named_in_words_without_echoing_it() {
    let base = r#""token_validation_uri": {"defaultURI": "https://d.example/v"}"#;
    for (extra, expected) in [
        (
            r#""cache": {"ttl_seconds": -1}"#,
            "cache.ttl_seconds: must be a whole number",
        ),
        (
            r#""http_proxy_server": "p", "http_proxy_port": true"#,
            "http_proxy_port: must be a whole number",
        ),
        (
            r#""block_authorization_header": "yes""#,
            "block_authorization_header: must be true or false",
        ),
        (
            r#""timeouts": "{not json""#,
            "timeouts: holds JSON text that does not parse (key must be a string at line 1 column 2)",
        ),
    ] {
        assert_eq!(
            problems(&format!("{{{base}, {extra}}}")),
            [expected],
            "{extra}"
        );
    }

    let text = r#"{"token_validation_uri": {"defaultURI": "https://d.example/v"},
        "validation": {"style": "rfc7662", "client_id": "c", "client_secret": 123456789}}"#;
    let found = problems(text);
    assert_eq!(
        found,
        [
            "validation.client_secret: must be a string, or {\"env\": \"VARIABLE\"} naming the environment variable that holds it"
        ]
    );
    assert!(!found[0].contains("123456789"));
}

#[test]
fn every_known_key_is_accepted_where_it_belongs() {
    let p = parse(
        r#"{"token_validation_uri": {"regionCodeHeader": "X-R", "regionCodeValue": {"FR": "https://f.example/v"}, "defaultURI": "https://d.example/v"},
            "inject_headers": {"X-A": "$.a"}, "block_authorization_header": false,
            "http_proxy_server": "proxy.local", "http_proxy_port": 3128,
            "api_key": {"header": "x-k", "query": "k", "checked_by": "tokengate"},
            "validation": {"style": "rfc7662", "client_id": "c", "client_secret": "s", "audience": "a", "required_scopes": ["r"]},
            "timeouts": {"connect_ms": 100, "total_ms": 200},
            "cache": {"ttl_seconds": 1, "max_entries": 2, "key_ttl_seconds": 3},
            "max_response_bytes": 2048, "xml_namespaces": {"u": "urn:u"}}"#,
    );
    assert!(p.is_ok(), "{:?}", p.err());
}

#[test]
fn api_keys_may_be_left_to_api_gateway() {
    let p =
        parse(r#"{"defaultURI": "https://d.example/v", "api_key": {"checked_by": "api_gateway"}}"#)
            .unwrap();
    assert_eq!(p.api_key.checked_by, KeyChecker::ApiGateway);
    assert_eq!(
        parse(r#"{"defaultURI": "https://d.example/v"}"#)
            .unwrap()
            .api_key
            .checked_by,
        KeyChecker::Tokengate
    );
}

#[test]
fn the_deployed_pre_inputs_are_valid_and_enforce_tokengates_own_tokens() {
    // Deployed as it is, the stack issues tokens and enforces them with no outside
    // identity provider.
    let parsed = parse(include_str!("../../../infra/api/pre-inputs.json"));
    let parsed = parsed.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(parsed.style, ValidationStyle::Tokengate { .. }));
}

#[test]
fn the_client_secret_may_be_named_by_environment_variable_and_is_read_once_at_parse() {
    let text = r#"{"defaultURI": "https://d.example/introspect",
        "validation": {"style": "rfc7662", "client_id": "c", "client_secret": {"env": "IDP_SECRET"}}}"#;
    let env = |name: &str| (name == "IDP_SECRET").then(|| "from-the-environment".to_owned());
    let p = PreInputs::parse_with(text, &env).unwrap();
    assert!(matches!(
        &p.style,
        ValidationStyle::Rfc7662 { client_secret, secret_source: SecretSource::Environment(name), .. }
            if client_secret == "from-the-environment" && name == "IDP_SECRET"
    ));
    assert!(!format!("{:?}", p).contains("from-the-environment"));
    let unset = PreInputs::parse_with(text, &|_| None).unwrap_err();
    assert_eq!(
        unset.problems[0].to_string(),
        "validation.client_secret: names environment variable IDP_SECRET, which is not set"
    );
    assert!(
        PreInputs::parse_unresolved(text).is_ok(),
        "config check needs no secret"
    );
    let wrong = r#"{"defaultURI": "https://d.example/i",
        "validation": {"style": "rfc7662", "client_id": "c", "client_secret": {"file": "/x"}}}"#;
    assert!(
        PreInputs::parse_with(wrong, &env).unwrap_err().problems[0]
            .problem
            .starts_with("must be a string, or {\"env\"")
    );
}

/// Pre-inputs in the `jwt` style with `validation` extra keys spliced in.
fn jwt_with(validation: &str) -> String {
    format!(
        r#"{{"token_validation_uri": {{"defaultURI": "https://idp.example/jwks"}},
            "validation": {{"style": "jwt", "issuer": "https://idp.example/", "audience": "https://api.example/"{validation}}},
            "inject_headers": {{"X-User-Id": "$.sub"}}}}"#
    )
}

#[test]
fn the_jwt_style_parses_with_its_defaults() {
    let p = parse(&jwt_with("")).unwrap();
    let ValidationStyle::Jwt(jwt) = &p.style else {
        panic!("expected jwt, got {:?}", p.style)
    };
    assert_eq!(jwt.issuer, "https://idp.example/");
    assert_eq!(jwt.algorithms, DEFAULT_JWT_ALGORITHMS);
    assert_eq!(jwt.leeway_seconds, 30);
    assert_eq!(jwt.jwks_refresh, Duration::from_secs(60));
    assert!(!jwt.discovery && jwt.jwks_file.is_none() && !jwt.rfc9068);
    assert_eq!(jwt.audience.as_deref(), Some("https://api.example/"));
    assert_eq!(p.style.name(), "jwt");

    let p = parse(&jwt_with(
        r#", "required_scopes": ["a", "b"], "algorithms": ["ES256"], "profile": "rfc9068",
           "leeway_seconds": "5", "jwks_refresh_seconds": 300, "discovery": "true""#,
    ))
    .unwrap();
    let ValidationStyle::Jwt(jwt) = &p.style else {
        panic!("expected jwt")
    };
    assert!(jwt.rfc9068);
    assert_eq!(jwt.required_scopes, ["a", "b"]);
    assert_eq!(jwt.algorithms, [Algorithm::ES256]);
    assert_eq!(jwt.leeway_seconds, 5);
    assert_eq!(jwt.jwks_refresh, Duration::from_secs(300));
    assert!(jwt.discovery);
}

#[test]
fn the_issuer_may_be_given_per_region_with_a_default() {
    let p = parse(&jwt_with("").replace(
        r#""issuer": "https://idp.example/""#,
        r#""issuer": {"EU": "https://eu.idp.example/", "default": "https://idp.example/"}"#,
    ))
    .unwrap();
    let ValidationStyle::Jwt(jwt) = &p.style else {
        panic!("expected jwt")
    };
    assert_eq!(jwt.issuer_for(Some("EU")), "https://eu.idp.example/");
    assert_eq!(jwt.issuer_for(Some("US")), "https://idp.example/");
    assert_eq!(jwt.issuer_for(None), "https://idp.example/");
}

#[test]
fn jwt_mistakes_are_each_named_by_their_key() {
    let no_issuer = jwt_with("").replace(r#", "issuer": "https://idp.example/""#, "");
    assert_eq!(
        problems(&no_issuer),
        ["validation.issuer: is required for jwt (the iss every token must carry)"]
    );
    let regions_without_default = jwt_with("").replace(
        r#""issuer": "https://idp.example/""#,
        r#""issuer": {"EU": "https://eu.idp.example/"}"#,
    );
    assert_eq!(
        invalid_key(&regions_without_default),
        "validation.issuer.default"
    );
    assert_eq!(
        invalid_key(&jwt_with(r#", "leeway_seconds": 3600"#)),
        "validation.leeway_seconds"
    );
    assert_eq!(
        invalid_key(&jwt_with(r#", "jwks_refresh_seconds": 0"#)),
        "validation.jwks_refresh_seconds"
    );
    assert_eq!(
        invalid_key(&jwt_with(r#", "algorithms": []"#)),
        "validation.algorithms"
    );
    assert_eq!(
        invalid_key(&jwt_with(r#", "algorithms": ["RS256", "XS1"]"#)),
        "validation.algorithms[1]"
    );
}

#[test]
fn none_and_hs_algorithms_are_refused_whatever_the_list_says() {
    for (alg, says) in [
        ("none", "none is never accepted"),
        ("HS256", "HS256 is never accepted"),
        ("HS512", "HS512 is never accepted"),
    ] {
        let found = problems(&jwt_with(&format!(r#", "algorithms": ["RS256", "{alg}"]"#)));
        assert_eq!(found.len(), 1, "{alg}: {found:?}");
        assert!(
            found[0].starts_with("validation.algorithms[1]: ") && found[0].contains(says),
            "{alg}: {found:?}"
        );
    }
}

#[test]
fn an_xpath_is_refused_in_the_jwt_style_naming_the_header() {
    let flat = jwt_with("").replace(r#""X-User-Id": "$.sub""#, r#""X-User-Org": "/user/org""#);
    let found = problems(&flat);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("inject_headers.X-User-Org: is an XPath"),
        "{found:?}"
    );
    let nested = jwt_with("").replace(
        r#""inject_headers": {"X-User-Id": "$.sub"}"#,
        r#""inject_headers": {"FR": {"X-Org": "//org"}, "default": {"X-User-Id": "$.sub"}}"#,
    );
    assert_eq!(invalid_key(&nested), "inject_headers.FR.X-Org");
}

#[test]
fn a_key_of_another_style_names_the_style_it_belongs_to() {
    assert_eq!(
        problems(&jwt_with(r#", "client_id": "c""#)),
        ["validation.client_id: applies only to the rfc7662 style; set validation.style"]
    );
    let rfc7662 = r#"{"token_validation_uri": {"defaultURI": "https://idp.example/introspect"},
        "validation": {"style": "rfc7662", "client_id": "c", "client_secret": "s", "issuer": "i", "discovery": true}}"#;
    assert_eq!(
        problems(rfc7662),
        [
            "validation.issuer: applies only to the jwt style; set validation.style",
            "validation.discovery: applies only to the jwt style; set validation.style",
        ]
    );
    let forward = r#"{"token_validation_uri": {"defaultURI": "https://idp.example/userinfo"},
        "validation": {"audience": "a"}}"#;
    assert_eq!(
        problems(forward),
        [
            "validation.audience: applies only to the rfc7662, jwt or tokengate styles; set validation.style"
        ]
    );
}

#[test]
fn a_jwks_file_is_read_at_parse_and_must_hold_a_usable_key() {
    let dir = std::env::temp_dir();
    let missing = dir.join("tokengate-no-such-jwks.json");
    let found = problems(&jwt_with(&format!(
        r#", "jwks_file": "{}""#,
        missing.display()
    )));
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("validation.jwks_file: ") && found[0].contains("cannot be read"),
        "{found:?}"
    );
    let symmetric = dir.join(format!("tokengate-oct-jwks-{}.json", std::process::id()));
    std::fs::write(&symmetric, r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#).unwrap();
    let config = jwt_with(&format!(r#", "jwks_file": "{}""#, symmetric.display()));
    let found = problems(&config);
    assert!(
        found[0].contains("holds no public signing key"),
        "{found:?}"
    );
    assert!(
        PreInputs::parse_unresolved(&config).is_ok(),
        "config check does not read the file, which may live only in the Lambda layer"
    );
    std::fs::remove_file(symmetric).unwrap();
}

#[test]
fn the_jwt_style_requires_an_audience_and_any_is_an_explicit_flagged_opt_out() {
    let without = jwt_with("").replace(r#", "audience": "https://api.example/""#, "");
    let found = problems(&without);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("validation.audience: is required for jwt")
            && found[0].contains("\"any\""),
        "{found:?}"
    );
    let empty = jwt_with("").replace(
        r#""audience": "https://api.example/""#,
        r#""audience": " ""#,
    );
    assert_eq!(invalid_key(&empty), "validation.audience");
    let any = jwt_with("").replace(
        r#""audience": "https://api.example/""#,
        r#""audience": "any""#,
    );
    let p = parse(&any).unwrap();
    let ValidationStyle::Jwt(jwt) = &p.style else {
        panic!("expected jwt")
    };
    assert_eq!(jwt.audience, None);
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(p.warnings[0].starts_with("validation.audience is \"any\""));
    assert!(parse(&jwt_with("")).unwrap().warnings.is_empty());
    assert_eq!(
        invalid_key(&jwt_with(r#", "profile": "rfc7519""#)),
        "validation.profile"
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused_unless_explicitly_allowed_and_then_flagged() {
    let remote = r#"{"regionCodeHeader": "X-Region", "regionCodeValue": {"FR": "http://fr.idp.example/userinfo"},
        "defaultURI": "https://idp.example/userinfo"}"#;
    assert_eq!(problems(remote).len(), 1);
    assert_eq!(invalid_key(remote), "regionCodeValue.FR");
    let allowed = r#"{"defaultURI": "http://idp.example/userinfo",
        "validation": {"allow_insecure_http": true}}"#;
    let p = parse(allowed).unwrap();
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(p.warnings[0].starts_with("defaultURI: http://idp.example/userinfo is plain http"));
    for loopback in [
        "http://127.0.0.1:8080/userinfo",
        "http://[::1]:8080/userinfo",
        "http://localhost:8080/userinfo",
    ] {
        let local = format!(r#"{{"defaultURI": "{loopback}"}}"#);
        let p = parse(&local).unwrap();
        assert!(p.warnings.is_empty(), "{loopback}");
    }
}

#[test]
fn routes_are_checked_route_by_route_and_against_each_other() {
    let with = |routes: &str| {
        problems(&format!(
            r#"{{"validation": {{"style": "tokengate"}}, "routes": {routes}}}"#
        ))
    };
    assert_eq!(
        with(
            r#"[{"method": "FETCH", "path": "/a"}, {"method": "GET", "path": "a"}, {"method": "GET", "path": "/a", "scopes": ["bad scope"]}]"#
        ),
        [
            "routes[0]: method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or *",
            "routes[1]: path must start with /",
            "routes[2].scopes: 'bad scope' is not a scope (RFC 6749 §3.3)",
        ]
    );
    let conflict = with(
        r#"[{"method": "GET", "path": "/orders/{id}", "scopes": ["read"]}, {"method": "GET", "path": "/orders/{id}/refunds", "scopes": ["admin"]}]"#,
    );
    assert_eq!(conflict.len(), 1);
    assert!(conflict[0].starts_with("routes: routes GET /orders/{id} (all of read) and GET /orders/{id}/refunds (all of admin) overlap"), "{conflict:?}");
    assert!(
        parse(r#"{"validation": {"style": "tokengate"}, "routes": [{"method": "GET", "path": "/orders/{id}", "scopes": ["read"]}, {"method": "GET", "path": "/orders/{id}/refunds", "scopes": ["read", "admin"]}, {"method": "*", "path": "/health", "public": true}]}"#)
            .is_ok()
    );
    assert_eq!(
        problems(
            r#"{"defaultURI": "https://d.example/v", "routes": [{"method": "GET", "path": "/a"}]}"#
        ),
        ["routes: need scopes, and the forward style has none: use rfc7662, jwt or tokengate"]
    );
    assert_eq!(
        with(
            r#"[{"method": "GET", "path": "/a", "public": true, "scopes": ["x"]}, {"method": "GET", "path": "/b", "match": "any"}, {"method": "GET", "path": "/c", "color": 1}]"#
        ),
        [
            "routes[0]: a public route takes no scopes and no match",
            "routes[1].match: any needs at least one scope",
            "routes[2].color: unknown field `color`, expected one of `method`, `path`, `scopes`, `match`, `public`",
        ]
    );
}

#[test]
fn a_route_table_too_large_for_api_gateways_policy_is_refused_naming_its_size() {
    let routes: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"method": "*", "path": "/resource-number-{i}", "scopes": ["s"]}}"#))
        .collect();
    let found = problems(&format!(
        r#"{{"validation": {{"style": "tokengate"}}, "routes": [{}]}}"#,
        routes.join(",")
    ));
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("routes: would write a policy of about"),
        "{found:?}"
    );
}
