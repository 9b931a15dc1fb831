//! The authorizer's decisions against real peers: validation endpoints are wiremock
//! servers on loopback, the proxy is a real forward proxy, and API keys live in the
//! in-memory store (moto's DynamoDB where the store itself is under test).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::{Authorizer, Deny, PreInputs, handler};
use serde_json::{Value, json};
use tokengate_shared::store::dynamodb::DynamoKeyStore;
use tokengate_shared::store::memory::MemoryKeyStore;
use tokengate_shared::{ClientKey, KeyId, KeyStatus, KeyStore, Secret, SecretHash};
use tokengate_tests::{ClosedPort, ForwardProxy, dynamodb_client};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "6f1a0c1e-1b1f-4d6b-9a57-0c8f3f1d2e3a";
const DISABLED_KEY: &str = "disabled-key";
const TOKEN: &str = "Bearer 2YotnFZFEjr1zCsicMWpAA";

async fn keys() -> Arc<MemoryKeyStore> {
    let keys = Arc::new(MemoryKeyStore::new());
    for (id, status) in [
        (API_KEY, KeyStatus::Active),
        (DISABLED_KEY, KeyStatus::Disabled),
    ] {
        keys.create(&ClientKey {
            id: KeyId::parse(id).unwrap(),
            secret_hash: SecretHash::of(&Secret::generate()),
            codes: BTreeSet::new(),
            status,
            created_at: 1,
            updated_at: 1,
            description: None,
        })
        .await
        .unwrap();
    }
    keys
}

/// An authorizer over `config`, where `{IDP}` stands for the mock server's URL.
async fn authorizer_with(config: &str, idp: &MockServer, keys: Arc<dyn KeyStore>) -> Authorizer {
    let text = config.replace("{IDP}", &idp.uri());
    let pre_inputs = PreInputs::parse(&text);
    let endpoint = HttpValidationEndpoint::new(pre_inputs.as_ref().ok()).unwrap();
    Authorizer::new(pre_inputs, keys, Arc::new(endpoint))
}

async fn authorizer(config: &str, idp: &MockServer) -> Authorizer {
    authorizer_with(config, idp, keys().await).await
}

const FORWARD: &str = r#"{
  "token_validation_uri": {
    "regionCodeHeader": "X-Region-Code",
    "regionCodeValue": {"FR": "{IDP}/fr/userinfo", "US": "{IDP}/us/userinfo"},
    "defaultURI": "{IDP}/userinfo"
  },
  "inject_headers": {
    "FR": {"X-User-Email": "$.email"},
    "default": {"X-User-Id": "$.sub", "X-User-Name": "$.name", "X-User-Org": "$.org", "X-User-Xml-Id": "/user/id"}
  },
  "block_authorization_header": true,
  "timeouts": {"connect_ms": 500, "total_ms": 1000},
  "max_response_bytes": 4096
}"#;

fn rest_event(headers: &[(&str, &str)]) -> Value {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/patrons/42",
        "headers": headers,
        "queryStringParameters": {},
    })
}

fn request(extra: &[(&'static str, &'static str)]) -> Value {
    let mut headers = vec![("X-Api-Key", API_KEY), ("Authorization", TOKEN)];
    headers.extend_from_slice(extra);
    rest_event(&headers)
}

async fn decide(authorizer: &Authorizer, event: Value) -> Value {
    handler::decide(authorizer, event).await.unwrap()
}

fn effect(answer: &Value) -> &str {
    answer["policyDocument"]["Statement"][0]["Effect"]
        .as_str()
        .unwrap()
}

fn assert_denied(answer: &Value, reason: Deny) {
    assert_eq!(effect(answer), "Deny", "{answer}");
    assert_eq!(answer["context"]["error"], reason.name(), "{answer}");
    assert_eq!(answer["context"]["error_description"], reason.message());
}

fn json_response(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
}

/// A validation endpoint answering `response` to GET `route` (or `POST`, with
/// [`idp_answering_post`]).
async fn idp_answering(route: &str, response: ResponseTemplate) -> MockServer {
    idp_answering_to("GET", route, response).await
}

async fn idp_answering_post(route: &str, response: ResponseTemplate) -> MockServer {
    idp_answering_to("POST", route, response).await
}

async fn idp_answering_to(
    http_method: &str,
    route: &str,
    response: ResponseTemplate,
) -> MockServer {
    let idp = MockServer::start().await;
    Mock::given(method(http_method))
        .and(path(route))
        .respond_with(response)
        .mount(&idp)
        .await;
    idp
}

#[tokio::test]
async fn allows_a_token_the_endpoint_accepts_and_injects_json_values() {
    let idp = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/userinfo"))
        .and(header("authorization", TOKEN))
        .respond_with(json_response(
            json!({"sub": "u-42", "name": "Claes Rosenlöf", "org": {"id": 7, "units": ["a", "b"]}}),
        ))
        .expect(1)
        .mount(&idp)
        .await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let answer = decide(&authorizer, request(&[])).await;
    assert_eq!(effect(&answer), "Allow", "{answer}");
    assert_eq!(answer["principalId"], API_KEY);
    assert_eq!(
        answer["policyDocument"]["Statement"][0]["Resource"],
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"
    );
    let context = &answer["context"];
    assert_eq!(context["inject_x_user_id"], "u-42");
    assert_eq!(context["inject_x_user_name"], "Claes Rosenlöf");
    assert_eq!(
        context["inject_x_user_org"],
        r#"{"id":7,"units":["a","b"]}"#
    );
    assert!(
        context["inject_x_user_xml_id"] == "",
        "an XPath on JSON injects nothing"
    );
    assert_eq!(
        context["injected_headers"],
        "X-User-Id,X-User-Name,X-User-Org"
    );
    assert_eq!(context["block_authorization_header"], true);
    for value in context.as_object().unwrap().values() {
        assert!(
            value.is_string() || value.is_boolean() || value.is_number(),
            "{value}"
        );
    }
}

#[tokio::test]
async fn injects_xml_values_by_xpath_when_the_endpoint_answers_xml() {
    let xml = r#"<?xml version="1.0"?><user><id>x-7</id><sub>ignored</sub></user>"#;
    let idp = idp_answering(
        "/userinfo",
        ResponseTemplate::new(200).set_body_raw(xml, "application/xml"),
    )
    .await;
    let answer = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
    assert_eq!(effect(&answer), "Allow");
    assert_eq!(answer["context"]["inject_x_user_xml_id"], "x-7");
    assert!(
        answer["context"]["inject_x_user_id"] == "",
        "a JSONPath on XML injects nothing"
    );
}

#[tokio::test]
async fn the_region_header_chooses_the_endpoint_and_its_inject_headers() {
    let idp = MockServer::start().await;
    Mock::given(path("/fr/userinfo"))
        .respond_with(json_response(
            json!({"sub": "fr-user", "email": "a@fr.example"}),
        ))
        .expect(1)
        .mount(&idp)
        .await;
    Mock::given(path("/us/userinfo"))
        .respond_with(json_response(
            json!({"sub": "us-user", "email": "a@us.example"}),
        ))
        .expect(1)
        .mount(&idp)
        .await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let fr = decide(&authorizer, request(&[("X-Region-Code", "FR")])).await;
    assert_eq!(fr["context"]["inject_x_user_email"], "a@fr.example");
    assert!(
        fr["context"]["inject_x_user_id"] == "",
        "FR has its own inject_headers"
    );
    let us = decide(&authorizer, request(&[("X-Region-Code", "US")])).await;
    assert_eq!(
        us["context"]["inject_x_user_id"], "us-user",
        "US has none, so default applies"
    );
    assert!(us["context"]["inject_x_user_email"] == "");
}

#[tokio::test]
async fn an_unknown_missing_or_empty_region_uses_the_default_uri() {
    let idp = MockServer::start().await;
    Mock::given(path("/userinfo"))
        .respond_with(json_response(json!({"sub": "default-user"})))
        .expect(3)
        .mount(&idp)
        .await;
    let config = FORWARD.replace(
        r#""max_response_bytes""#,
        r#""cache": {"ttl_seconds": 0}, "max_response_bytes""#,
    );
    let authorizer = authorizer(&config, &idp).await;
    for extra in [
        vec![("X-Region-Code", "DE")],
        vec![],
        vec![("X-Region-Code", "")],
    ] {
        let answer = decide(&authorizer, request(&extra)).await;
        assert_eq!(
            answer["context"]["inject_x_user_id"], "default-user",
            "{extra:?}"
        );
    }
}

#[tokio::test]
async fn a_region_with_no_uri_and_no_default_is_denied_default_uri_not_present() {
    let idp = MockServer::start().await;
    let config = r#"{"token_validation_uri": {"regionCodeHeader": "X-Region-Code", "regionCodeValue": {"FR": "{IDP}/fr"}}}"#;
    let authorizer = authorizer(config, &idp).await;
    let answer = decide(&authorizer, request(&[("X-Region-Code", "US")])).await;
    assert_denied(&answer, Deny::DefaultTokenValidationURINotPresent);
    assert_denied(
        &decide(&authorizer, request(&[])).await,
        Deny::DefaultTokenValidationURINotPresent,
    );
}

#[tokio::test]
async fn api_key_problems_are_denied_by_name_before_anything_else() {
    let idp = MockServer::start().await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let cases = [
        (
            rest_event(&[("Authorization", TOKEN)]),
            Deny::ApiKeyNotPresentInRequest,
        ),
        (
            rest_event(&[("X-Api-Key", " "), ("Authorization", TOKEN)]),
            Deny::ApiKeyNotPresentInRequest,
        ),
        (
            rest_event(&[("X-Api-Key", "no-such-key"), ("Authorization", TOKEN)]),
            Deny::ApiKeyNotValid,
        ),
        (
            rest_event(&[("X-Api-Key", "has space"), ("Authorization", TOKEN)]),
            Deny::ApiKeyNotValid,
        ),
        (
            rest_event(&[("X-Api-Key", DISABLED_KEY), ("Authorization", TOKEN)]),
            Deny::ApiKeyDisabled,
        ),
        (
            rest_event(&[("X-Api-Key", "no-such-key")]),
            Deny::ApiKeyNotValid,
        ),
    ];
    for (event, reason) in cases {
        let answer = decide(&authorizer, event).await;
        assert_denied(&answer, reason);
        if reason != Deny::ApiKeyDisabled {
            assert_eq!(answer["principalId"], "anonymous");
        }
    }
    assert!(
        idp.received_requests().await.unwrap().is_empty(),
        "no validation call was made"
    );
}

#[tokio::test]
async fn the_api_key_is_read_from_the_query_string_when_no_header_carries_it() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u"}))).await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let mut event = rest_event(&[("Authorization", TOKEN)]);
    event["queryStringParameters"] = json!({"api_key": API_KEY});
    assert_eq!(effect(&decide(&authorizer, event).await), "Allow");
}

#[tokio::test]
async fn the_api_key_header_and_query_names_are_configurable() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u"}))).await;
    let config = r#"{"token_validation_uri": {"defaultURI": "{IDP}/userinfo"}, "api_key": {"header": "X-Client-Key", "query": "key"}}"#;
    let authorizer = authorizer(config, &idp).await;
    let by_header = rest_event(&[("x-client-key", API_KEY), ("Authorization", TOKEN)]);
    assert_eq!(effect(&decide(&authorizer, by_header).await), "Allow");
    let mut by_query = rest_event(&[("Authorization", TOKEN)]);
    by_query["queryStringParameters"] = json!({"key": API_KEY});
    assert_eq!(effect(&decide(&authorizer, by_query).await), "Allow");
    let default_name = rest_event(&[("X-Api-Key", API_KEY), ("Authorization", TOKEN)]);
    assert_denied(
        &decide(&authorizer, default_name).await,
        Deny::ApiKeyNotPresentInRequest,
    );
}

#[tokio::test]
async fn a_missing_or_empty_authorization_header_is_denied_by_name() {
    let idp = MockServer::start().await;
    let authorizer = authorizer(FORWARD, &idp).await;
    for event in [
        rest_event(&[("X-Api-Key", API_KEY)]),
        rest_event(&[("X-Api-Key", API_KEY), ("Authorization", "")]),
        rest_event(&[("X-Api-Key", API_KEY), ("Authorization", "   ")]),
    ] {
        let answer = decide(&authorizer, event).await;
        assert_denied(&answer, Deny::AuthorizationHeaderNotPresentInRequest);
        assert_eq!(answer["principalId"], API_KEY);
    }
}

#[tokio::test]
async fn invalid_pre_inputs_deny_every_request_with_the_named_configuration_error() {
    let idp = MockServer::start().await;
    let no_uri = authorizer(r#"{"inject_headers": {"X-A": "$.a"}}"#, &idp).await;
    assert_denied(
        &decide(&no_uri, request(&[])).await,
        Deny::InvalidPreInputConfigurationForTokenValidationURI,
    );
    let not_json = authorizer("this is not JSON", &idp).await;
    assert_denied(
        &decide(&not_json, request(&[])).await,
        Deny::InvalidPreInputConfigurationForTokenValidationURI,
    );
    let bad_path = authorizer(
        r#"{"token_validation_uri": {"defaultURI": "{IDP}/u"}, "inject_headers": {"X-A": "$[?"}}"#,
        &idp,
    )
    .await;
    assert_denied(
        &decide(&bad_path, request(&[])).await,
        Deny::InvalidPreInputConfiguration,
    );
    // The API key and the Authorization header are still checked first, in Mashery's order.
    assert_denied(
        &decide(&no_uri, rest_event(&[("Authorization", TOKEN)])).await,
        Deny::ApiKeyNotPresentInRequest,
    );
    assert_denied(
        &decide(&no_uri, rest_event(&[("X-Api-Key", API_KEY)])).await,
        Deny::AuthorizationHeaderNotPresentInRequest,
    );
}

#[tokio::test]
async fn any_answer_but_200_is_token_validation_fails() {
    for status in [401, 403, 404, 500, 204, 302] {
        let idp = idp_answering("/userinfo", ResponseTemplate::new(status)).await;
        let answer = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
        assert_denied(&answer, Deny::TokenValidationFails);
    }
}

#[tokio::test]
async fn no_usable_answer_is_target_endpoint_error() {
    let closed = ClosedPort::new();
    let refused = format!(
        r#"{{"token_validation_uri": {{"defaultURI": "http://127.0.0.1:{}/userinfo"}}, "timeouts": {{"connect_ms": 500, "total_ms": 1000}}}}"#,
        closed.port()
    );
    let unresolvable = r#"{"token_validation_uri": {"defaultURI": "http://idp.invalid/userinfo"}, "timeouts": {"connect_ms": 500, "total_ms": 1000}}"#;
    let idp = MockServer::start().await;
    for config in [refused.as_str(), unresolvable] {
        assert_denied(
            &decide(&authorizer(config, &idp).await, request(&[])).await,
            Deny::TargetEndpointError,
        );
    }
    let stalling = ResponseTemplate::new(200)
        .set_delay(Duration::from_secs(3))
        .set_body_raw("{}", "application/json");
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><user><id>&b;</id></user>"#;
    let cases = [
        ("stalling past the total timeout", stalling),
        (
            "garbage declared as JSON",
            ResponseTemplate::new(200).set_body_raw("<<not json>>", "application/json"),
        ),
        (
            "garbage declared as XML",
            ResponseTemplate::new(200).set_body_raw("{\"not\": \"xml\"}", "text/xml"),
        ),
        (
            "a body over the size limit",
            ResponseTemplate::new(200).set_body_raw("x".repeat(5_000), "text/plain"),
        ),
        (
            "JSON nested 10,000 deep",
            ResponseTemplate::new(200).set_body_raw(deep, "application/json"),
        ),
        (
            "an XML entity bomb",
            ResponseTemplate::new(200).set_body_raw(bomb, "application/xml"),
        ),
    ];
    for (case, response) in cases {
        let idp = idp_answering("/userinfo", response).await;
        let answer = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
        assert_eq!(
            answer["context"]["error"], "TargetEndpointError",
            "{case}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_value_with_cr_or_lf_is_never_injected_but_the_rest_are() {
    let body = json!({"sub": "u-1", "name": "evil\r\nX-Admin: true"});
    let idp = idp_answering("/userinfo", json_response(body)).await;
    let answer = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
    assert_eq!(effect(&answer), "Allow");
    assert_eq!(answer["context"]["inject_x_user_id"], "u-1");
    assert!(answer["context"]["inject_x_user_name"] == "");
    assert!(!answer.to_string().contains("X-Admin"));
}

#[tokio::test]
async fn a_200_of_another_content_type_is_valid_and_injects_nothing() {
    let idp = idp_answering(
        "/userinfo",
        ResponseTemplate::new(200).set_body_raw("ok", "text/plain"),
    )
    .await;
    let answer = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
    assert_eq!(effect(&answer), "Allow");
    assert_eq!(answer["context"]["injected_headers"], "");
}

#[tokio::test]
async fn a_cache_hit_makes_no_call_and_answers_the_same() {
    let idp = MockServer::start().await;
    Mock::given(path("/userinfo"))
        .respond_with(json_response(json!({"sub": "u-1"})))
        .expect(1)
        .mount(&idp)
        .await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let first = decide(&authorizer, request(&[])).await;
    let second = decide(&authorizer, request(&[])).await;
    assert_eq!(first, second);
    assert_eq!(second["context"]["inject_x_user_id"], "u-1");
}

#[tokio::test]
async fn failures_are_never_cached() {
    let idp = MockServer::start().await;
    Mock::given(path("/userinfo"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&idp)
        .await;
    let authorizer = authorizer(FORWARD, &idp).await;
    for _ in 0..2 {
        assert_denied(
            &decide(&authorizer, request(&[])).await,
            Deny::TokenValidationFails,
        );
    }
}

#[tokio::test]
async fn a_different_endpoint_or_token_is_a_different_cache_entry() {
    let idp = MockServer::start().await;
    Mock::given(path("/userinfo"))
        .respond_with(json_response(json!({"sub": "d"})))
        .expect(2)
        .mount(&idp)
        .await;
    Mock::given(path("/fr/userinfo"))
        .respond_with(json_response(json!({"email": "f"})))
        .expect(1)
        .mount(&idp)
        .await;
    let authorizer = authorizer(FORWARD, &idp).await;
    decide(&authorizer, request(&[])).await;
    decide(&authorizer, request(&[("X-Region-Code", "FR")])).await;
    let other_token = rest_event(&[
        ("X-Api-Key", API_KEY),
        ("Authorization", "Bearer another-token"),
    ]);
    decide(&authorizer, other_token).await;
    decide(&authorizer, request(&[])).await;
}

#[tokio::test]
async fn a_cached_result_expires_after_the_configured_ttl() {
    let idp = MockServer::start().await;
    Mock::given(path("/userinfo"))
        .respond_with(json_response(json!({"sub": "u"})))
        .expect(2)
        .mount(&idp)
        .await;
    let config = FORWARD.replace(
        r#""max_response_bytes""#,
        r#""cache": {"ttl_seconds": 1}, "max_response_bytes""#,
    );
    let authorizer = authorizer(&config, &idp).await;
    decide(&authorizer, request(&[])).await;
    decide(&authorizer, request(&[])).await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    decide(&authorizer, request(&[])).await;
}

#[tokio::test]
async fn the_forward_proxy_in_the_pre_inputs_carries_the_validation_call() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "via-proxy"}))).await;
    let proxy = ForwardProxy::start().await;
    let config = format!(
        r#"{{"token_validation_uri": {{"defaultURI": "{{IDP}}/userinfo"}}, "inject_headers": {{"X-User-Id": "$.sub"}},
            "http_proxy_server": "{}", "http_proxy_port": {}}}"#,
        proxy.host(),
        proxy.port()
    );
    let answer = decide(&authorizer(&config, &idp).await, request(&[])).await;
    assert_eq!(
        answer["context"]["inject_x_user_id"], "via-proxy",
        "{answer}"
    );
    assert_eq!(proxy.requests(), 1);

    let closed = ClosedPort::new();
    let dead_proxy = format!(
        r#"{{"token_validation_uri": {{"defaultURI": "{{IDP}}/userinfo"}}, "http_proxy_server": "127.0.0.1", "http_proxy_port": {}}}"#,
        closed.port()
    );
    let answer = decide(&authorizer(&dead_proxy, &idp).await, request(&[])).await;
    assert_denied(&answer, Deny::TargetEndpointError);
}

const INTROSPECTION: &str = r#"{
  "token_validation_uri": {"defaultURI": "{IDP}/introspect"},
  "validation": {"style": "rfc7662", "client_id": "authorizer", "client_secret": "s3cr:et",
                 "audience": "patrons-api", "required_scopes": ["patrons:read"]},
  "inject_headers": {"X-Client-Id": "$.client_id", "X-Scopes": "$.scope"}
}"#;

fn now() -> u64 {
    tokengate_shared::clock::now_epoch_seconds()
}

#[tokio::test]
async fn rfc7662_posts_the_token_with_client_credentials_and_allows_an_active_token() {
    let idp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/introspect"))
        .and(header(
            "authorization",
            "Basic YXV0aG9yaXplcjpzM2NyJTNBZXQ=",
        ))
        .and(body_string_contains("token=2YotnFZFEjr1zCsicMWpAA"))
        .respond_with(json_response(
            json!({"active": true, "client_id": "c-1", "scope": "patrons:read other",
            "aud": ["patrons-api"], "exp": now() + 300}),
        ))
        .expect(1)
        .mount(&idp)
        .await;
    let answer = decide(&authorizer(INTROSPECTION, &idp).await, request(&[])).await;
    assert_eq!(effect(&answer), "Allow", "{answer}");
    assert_eq!(answer["context"]["inject_x_client_id"], "c-1");
    assert_eq!(answer["context"]["inject_x_scopes"], "patrons:read other");
}

#[tokio::test]
async fn rfc7662_denies_inactive_expired_wrong_audience_and_missing_scope_tokens() {
    let cases = [
        ("inactive", json!({"active": false})),
        ("no active member", json!({"client_id": "c"})),
        (
            "expired",
            json!({"active": true, "aud": "patrons-api", "scope": "patrons:read", "exp": now() - 1}),
        ),
        (
            "another audience",
            json!({"active": true, "aud": "other-api", "scope": "patrons:read"}),
        ),
        (
            "missing scope",
            json!({"active": true, "aud": "patrons-api", "scope": "patrons:write"}),
        ),
    ];
    for (case, body) in cases {
        let idp = MockServer::start().await;
        Mock::given(path("/introspect"))
            .respond_with(json_response(body))
            .mount(&idp)
            .await;
        let answer = decide(&authorizer(INTROSPECTION, &idp).await, request(&[])).await;
        assert_eq!(answer["context"]["error"], "TokenValidationFails", "{case}");
    }
}

#[tokio::test]
async fn rfc7662_answered_without_json_is_target_endpoint_error() {
    let idp = idp_answering_post(
        "/introspect",
        ResponseTemplate::new(200).set_body_raw("active", "text/plain"),
    )
    .await;
    let answer = decide(&authorizer(INTROSPECTION, &idp).await, request(&[])).await;
    assert_denied(&answer, Deny::TargetEndpointError);
}

#[tokio::test]
async fn a_cached_introspection_is_rechecked_and_denied_once_its_exp_passes() {
    let idp = MockServer::start().await;
    Mock::given(path("/introspect"))
        .respond_with(json_response(json!({"active": true, "aud": "patrons-api", "scope": "patrons:read", "exp": now() + 2})))
        .expect(1..=2)
        .mount(&idp)
        .await;
    let authorizer = authorizer(INTROSPECTION, &idp).await;
    assert_eq!(effect(&decide(&authorizer, request(&[])).await), "Allow");
    assert_eq!(
        decide(&authorizer, request(&[])).await["context"].get("error"),
        None
    );
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let answer = decide(&authorizer, request(&[])).await;
    assert_denied(&answer, Deny::TokenValidationFails);
}

#[tokio::test]
async fn the_http_api_payload_gets_the_simple_response() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u-2"}))).await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let event: Value =
        serde_json::from_str(include_str!("../events/http-api-request.json")).unwrap();
    let mut allowed_event = event.clone();
    allowed_event["headers"]["x-api-key"] = json!(API_KEY);
    allowed_event["headers"]["x-region-code"] = json!("DE");
    let answer = decide(&authorizer, allowed_event).await;
    assert_eq!(answer["isAuthorized"], true, "{answer}");
    assert_eq!(answer["context"]["inject_x_user_id"], "u-2");
    assert_eq!(answer["context"]["principal_id"], API_KEY);
    let denied = decide(&authorizer, event).await;
    assert_eq!(
        denied,
        json!({"isAuthorized": false, "context": {"error": "ApiKeyNotValid", "error_description": "API key is not valid."}})
    );
}

#[tokio::test]
async fn the_rest_api_event_fixture_is_decided() {
    let idp = MockServer::start().await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let event: Value =
        serde_json::from_str(include_str!("../events/rest-api-request.json")).unwrap();
    // The fixture's key is token-issuer's example key, unknown to this store.
    assert_denied(&decide(&authorizer, event).await, Deny::ApiKeyNotValid);
}

#[tokio::test]
async fn a_key_store_that_is_down_fails_closed() {
    let idp = MockServer::start().await;
    let closed = ClosedPort::new();
    let endpoint = closed.url();
    let keys = Arc::new(DynamoKeyStore::new(dynamodb_client(&endpoint), "keys"));
    let authorizer = authorizer_with(FORWARD, &idp, keys).await;
    assert_denied(
        &decide(&authorizer, request(&[])).await,
        Deny::ApiKeyCheckUnavailable,
    );
}

#[tokio::test]
async fn an_event_that_is_not_an_authorizer_event_is_an_error_not_a_panic() {
    let idp = MockServer::start().await;
    let authorizer = authorizer(FORWARD, &idp).await;
    for event in [json!({}), json!("text"), json!({"headers": {"x": "y"}})] {
        assert!(handler::decide(&authorizer, event).await.is_err());
    }
}

#[tokio::test]
async fn api_keys_are_looked_up_in_dynamodb() {
    let moto = tokengate_tests::Moto::start();
    let (keys_table, _) = moto.fresh_tables().await;
    let store = Arc::new(DynamoKeyStore::new(moto.client(), keys_table));
    let memory = keys().await;
    for id in [API_KEY, DISABLED_KEY] {
        let key = memory
            .get(&KeyId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        store.create(&key).await.unwrap();
    }
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u"}))).await;
    let authorizer = authorizer_with(FORWARD, &idp, store).await;
    assert_eq!(effect(&decide(&authorizer, request(&[])).await), "Allow");
    let disabled = rest_event(&[("X-Api-Key", DISABLED_KEY), ("Authorization", TOKEN)]);
    assert_denied(&decide(&authorizer, disabled).await, Deny::ApiKeyDisabled);
    let unknown = rest_event(&[("X-Api-Key", "not-in-the-table"), ("Authorization", TOKEN)]);
    assert_denied(&decide(&authorizer, unknown).await, Deny::ApiKeyNotValid);
}
