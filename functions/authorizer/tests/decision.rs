//! The authorizer's decisions against real peers: validation endpoints are wiremock
//! servers on loopback, the proxy is a real forward proxy, and API keys live in the
//! in-memory store (moto's DynamoDB where the store itself is under test).
//!
//! Tests of the decision assert on [`Decision`]; tests of the API Gateway edge assert on
//! the typed answer.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use authorizer::apigw::{AuthorizerAnswer, AuthorizerEvent};
use authorizer::endpoint::HttpValidationEndpoint;
use authorizer::{Authorizer, Decision, Deny, Moment, PreInputs, Reason, handler};
use serde_json::{Value, json};
use tokengate_shared::store::dynamodb::{DynamoKeyStore, StoreLimits};
use tokengate_shared::store::memory::MemoryKeyStore;
use tokengate_shared::{KeyAdmin, KeyId, KeyReader, KeyStatus};
use tokengate_tests::fixtures::{FIXTURE_KEY, LogCapture, client_key};
use tokengate_tests::{ClosedPort, ForwardProxy, StalledPort, dynamodb_client};
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
        (FIXTURE_KEY, KeyStatus::Active),
    ] {
        keys.create(&client_key(id, "unused-secret", status, &[]))
            .await
            .unwrap();
    }
    keys
}

/// An authorizer over `config`, where `{IDP}` stands for the mock server's URL.
async fn authorizer_with(config: &str, idp: &MockServer, keys: Arc<dyn KeyReader>) -> Authorizer {
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

const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/patrons/42";

/// A REST API REQUEST event (payload 1.0) with these headers, each once.
fn rest_event(headers: &[(&str, &str)]) -> Value {
    let single: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    let multi: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!([*v])))
        .collect();
    json!({
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": {},
        "requestContext": {"stage": "prod", "httpMethod": "GET"},
    })
}

fn request(extra: &[(&'static str, &'static str)]) -> Value {
    let mut headers = vec![("X-Api-Key", API_KEY), ("Authorization", TOKEN)];
    headers.extend_from_slice(extra);
    rest_event(&headers)
}

fn event(value: Value) -> AuthorizerEvent {
    AuthorizerEvent::from_value(&value).expect("an authorizer event")
}

/// The decision for an event, through the function's own path.
async fn decide(authorizer: &Authorizer, value: Value) -> Decision {
    decide_at(authorizer, value, Moment::now()).await
}

/// The same, at a given moment: a test moves time on instead of sleeping.
async fn decide_at(authorizer: &Authorizer, value: Value, now: Moment) -> Decision {
    handler::decide(authorizer, &event(value), now).await.0
}

/// The answer API Gateway gets for an event, as JSON.
async fn answer(authorizer: &Authorizer, value: Value) -> Value {
    let answer: AuthorizerAnswer = handler::decide(authorizer, &event(value), Moment::now())
        .await
        .1;
    serde_json::to_value(answer).unwrap()
}

/// The injected headers of an Allow, by name.
fn injected(decision: &Decision) -> BTreeMap<String, String> {
    match decision {
        Decision::Allow { headers, .. } => headers
            .iter()
            .map(|h| (h.header.clone(), h.value.clone()))
            .collect(),
        Decision::Deny { .. } => panic!("expected Allow, got {decision:?}"),
    }
}

fn assert_denied(decision: &Decision, error: Deny) {
    match decision {
        Decision::Deny { denial, .. } => assert_eq!(denial.reason.error(), error, "{decision:?}"),
        Decision::Allow { .. } => panic!("expected {error:?}, got {decision:?}"),
    }
}

fn assert_reason(decision: &Decision, reason: Reason) {
    assert_eq!(decision.reason(), Some(reason), "{decision:?}");
}

fn principal(decision: &Decision) -> Option<&str> {
    match decision {
        Decision::Allow { principal_id, .. } => Some(principal_id),
        Decision::Deny { principal_id, .. } => principal_id.as_deref(),
    }
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

/// How many validation calls the endpoint received on `route`.
async fn calls(idp: &MockServer, route: &str) -> usize {
    idp.received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == route)
        .count()
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
    let decision = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
    assert_eq!(principal(&decision), Some("u-42"), "the token's subject");
    let headers = injected(&decision);
    assert_eq!(headers["X-User-Id"], "u-42");
    assert_eq!(headers["X-User-Name"], "Claes Rosenlöf");
    assert_eq!(headers["X-User-Org"], r#"{"id":7,"units":["a","b"]}"#);
    assert!(
        !headers.contains_key("X-User-Xml-Id"),
        "an XPath on JSON injects nothing"
    );
    assert!(matches!(
        decision,
        Decision::Allow {
            block_authorization_header: true,
            cached: false,
            ..
        }
    ));
}

#[tokio::test]
async fn the_rest_answer_is_a_stage_wide_policy_whose_context_has_every_injectable_key() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u-42"}))).await;
    let answer = answer(&authorizer(FORWARD, &idp).await, request(&[])).await;
    assert_eq!(answer["principalId"], "u-42");
    assert_eq!(
        answer["policyDocument"],
        json!({"Version": "2012-10-17", "Statement": [{"Action": ["execute-api:Invoke"], "Effect": "Allow",
            "Resource": ["arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"]}]})
    );
    let context = answer["context"].as_object().unwrap();
    assert_eq!(context["inject_x_user_id"], "u-42");
    for key in [
        "inject_x_user_email",
        "inject_x_user_name",
        "inject_x_user_org",
        "inject_x_user_xml_id",
    ] {
        assert_eq!(context[key], "", "{key} is present and empty");
    }
    assert_eq!(context["injected_headers"], "X-User-Id");
    assert_eq!(context["block_authorization_header"], true);
    for value in context.values() {
        assert!(value.is_string() || value.is_boolean(), "{value}");
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
    let decision = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
    let headers = injected(&decision);
    assert_eq!(headers["X-User-Xml-Id"], "x-7");
    assert!(
        !headers.contains_key("X-User-Id"),
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
        .mount(&idp)
        .await;
    Mock::given(path("/us/userinfo"))
        .respond_with(json_response(
            json!({"sub": "us-user", "email": "a@us.example"}),
        ))
        .mount(&idp)
        .await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let fr = injected(&decide(&authorizer, request(&[("X-Region-Code", "FR")])).await);
    assert_eq!(
        fr,
        BTreeMap::from([("X-User-Email".into(), "a@fr.example".into())]),
        "FR has its own inject_headers"
    );
    let us = injected(&decide(&authorizer, request(&[("X-Region-Code", "US")])).await);
    assert_eq!(
        us,
        BTreeMap::from([("X-User-Id".into(), "us-user".into())]),
        "US has none, so default applies"
    );
    assert_eq!(calls(&idp, "/fr/userinfo").await, 1);
    assert_eq!(calls(&idp, "/us/userinfo").await, 1);
}

#[tokio::test]
async fn an_unknown_missing_or_empty_region_uses_the_default_uri() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "default-user"}))).await;
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
        let decision = decide(&authorizer, request(&extra)).await;
        assert_eq!(
            injected(&decision)["X-User-Id"],
            "default-user",
            "{extra:?}"
        );
    }
    assert_eq!(calls(&idp, "/userinfo").await, 3);
}

#[tokio::test]
async fn a_region_with_no_uri_and_no_default_is_denied_default_uri_not_present() {
    let idp = MockServer::start().await;
    let config = r#"{"token_validation_uri": {"regionCodeHeader": "X-Region-Code", "regionCodeValue": {"FR": "{IDP}/fr"}}}"#;
    let authorizer = authorizer(config, &idp).await;
    let decision = decide(&authorizer, request(&[("X-Region-Code", "US")])).await;
    assert_denied(&decision, Deny::DefaultTokenValidationURINotPresent);
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
            "no key",
            rest_event(&[("Authorization", TOKEN)]),
            Deny::ApiKeyNotPresentInRequest,
        ),
        (
            "a blank key",
            rest_event(&[("X-Api-Key", " "), ("Authorization", TOKEN)]),
            Deny::ApiKeyNotPresentInRequest,
        ),
        (
            "an unknown key",
            rest_event(&[("X-Api-Key", "no-such-key"), ("Authorization", TOKEN)]),
            Deny::ApiKeyNotValid,
        ),
        (
            "a key that cannot be a key id",
            rest_event(&[("X-Api-Key", "has space"), ("Authorization", TOKEN)]),
            Deny::ApiKeyNotValid,
        ),
        (
            "a disabled key",
            rest_event(&[("X-Api-Key", DISABLED_KEY), ("Authorization", TOKEN)]),
            Deny::ApiKeyDisabled,
        ),
        (
            "an unknown key and no Authorization",
            rest_event(&[("X-Api-Key", "no-such-key")]),
            Deny::ApiKeyNotValid,
        ),
    ];
    for (case, event, error) in cases {
        let decision = decide(&authorizer, event).await;
        assert_denied(&decision, error);
        assert_eq!(principal(&decision), None, "{case}");
    }
    assert!(
        idp.received_requests().await.unwrap().is_empty(),
        "no validation call was made"
    );
}

#[tokio::test]
async fn the_api_key_is_read_from_the_query_string_when_no_header_carries_it() {
    // No subject in the answer: the API key's id stands in as the principal.
    let idp = idp_answering("/userinfo", json_response(json!({"name": "u"}))).await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let mut event = rest_event(&[("Authorization", TOKEN)]);
    event["queryStringParameters"] = json!({"api_key": API_KEY});
    assert_eq!(principal(&decide(&authorizer, event).await), Some(API_KEY));
}

#[tokio::test]
async fn the_api_key_header_and_query_names_are_configurable() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u"}))).await;
    let config = r#"{"token_validation_uri": {"defaultURI": "{IDP}/userinfo"}, "api_key": {"header": "X-Client-Key", "query": "key"}}"#;
    let authorizer = authorizer(config, &idp).await;
    let by_header = rest_event(&[("x-client-key", API_KEY), ("Authorization", TOKEN)]);
    assert!(decide(&authorizer, by_header).await.is_allow());
    let mut by_query = rest_event(&[("Authorization", TOKEN)]);
    by_query["queryStringParameters"] = json!({"key": API_KEY});
    assert!(decide(&authorizer, by_query).await.is_allow());
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
        let decision = decide(&authorizer, event).await;
        assert_denied(&decision, Deny::AuthorizationHeaderNotPresentInRequest);
        assert_eq!(principal(&decision), Some(API_KEY));
    }
}

#[tokio::test]
async fn more_than_one_authorization_value_in_any_form_is_denied_by_name() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u"}))).await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let mut two_values = request(&[]);
    two_values["multiValueHeaders"]["Authorization"] = json!(["Bearer forged", TOKEN]);
    let mut two_spellings = request(&[]);
    two_spellings["multiValueHeaders"]["authorization"] = json!(["Bearer forged"]);
    two_spellings["headers"]["authorization"] = json!("Bearer forged");
    let comma_joined = rest_event(&[
        ("X-Api-Key", API_KEY),
        (
            "Authorization",
            "Bearer forged, Bearer 2YotnFZFEjr1zCsicMWpAA",
        ),
    ]);
    let mut v2 =
        serde_json::from_str::<Value>(include_str!("../events/http-api-request.json")).unwrap();
    v2["headers"]["x-api-key"] = json!(API_KEY);
    v2["headers"]["authorization"] = json!("Bearer forged,Bearer 2YotnFZFEjr1zCsicMWpAA");
    for (case, event) in [
        ("two values", two_values),
        ("two spellings", two_spellings),
        ("one value joined by a comma", comma_joined),
        ("payload 2.0's comma-joined header", v2),
    ] {
        let decision = decide(&authorizer, event).await;
        assert_denied(&decision, Deny::MultipleAuthorizationHeadersInRequest);
        assert_eq!(principal(&decision), Some(API_KEY), "{case}");
    }
    assert_eq!(
        calls(&idp, "/userinfo").await,
        0,
        "no validation call was made"
    );
}

#[tokio::test]
async fn more_than_one_api_key_is_denied_by_name_whatever_the_order() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u"}))).await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let mut two_values = request(&[]);
    two_values["multiValueHeaders"]["X-Api-Key"] = json!(["bogus", API_KEY]);
    let mut reversed = request(&[]);
    reversed["multiValueHeaders"]["X-Api-Key"] = json!([API_KEY, "bogus"]);
    let two_spellings = rest_event(&[
        ("X-Api-Key", "bogus"),
        ("x-api-key", API_KEY),
        ("Authorization", TOKEN),
    ]);
    let two_spellings_reversed = rest_event(&[
        ("x-api-key", API_KEY),
        ("X-Api-Key", "bogus"),
        ("Authorization", TOKEN),
    ]);
    let mut header_and_query = request(&[]);
    header_and_query["queryStringParameters"] = json!({"api_key": "bogus"});
    let mut two_query_values = rest_event(&[("Authorization", TOKEN)]);
    two_query_values["multiValueQueryStringParameters"] = json!({"api_key": [API_KEY, "bogus"]});
    for (case, event) in [
        ("two values", two_values),
        ("two values, the other order", reversed),
        ("two spellings", two_spellings),
        ("two spellings, the other order", two_spellings_reversed),
        (
            "a header and a query parameter that differ",
            header_and_query,
        ),
        ("two query values", two_query_values),
    ] {
        let decision = decide(&authorizer, event).await;
        assert_reason(&decision, Reason::ApiKeyMultiple);
        assert_denied(&decision, Deny::MultipleApiKeysInRequest);
        assert_eq!(principal(&decision), None, "{case}");
    }
    let mut same_in_both = request(&[]);
    same_in_both["queryStringParameters"] = json!({"api_key": API_KEY});
    assert!(
        decide(&authorizer, same_in_both).await.is_allow(),
        "a header and a query parameter that agree are one key"
    );
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
    let three_mistakes = authorizer(
        r#"{"token_validation_uri": {"defaultURI": "{IDP}/u"}, "block_authorisation_header": true,
            "validation": {"stlye": "forward"}, "inject_headers": {"X-A": "$[?"}}"#,
        &idp,
    )
    .await;
    for _ in 0..3 {
        assert_denied(
            &decide(&three_mistakes, request(&[])).await,
            Deny::InvalidPreInputConfiguration,
        );
    }
    // The API key and the Authorization header are still checked first, in Mashery's order.
    assert_denied(
        &decide(&no_uri, rest_event(&[("Authorization", TOKEN)])).await,
        Deny::ApiKeyNotPresentInRequest,
    );
    assert_denied(
        &decide(&no_uri, rest_event(&[("X-Api-Key", API_KEY)])).await,
        Deny::AuthorizationHeaderNotPresentInRequest,
    );
    assert!(idp.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn any_answer_but_200_is_token_validation_fails_with_the_status_in_the_log_detail() {
    for status in [401, 403, 404, 500, 204, 302] {
        let idp = idp_answering("/userinfo", ResponseTemplate::new(status)).await;
        let decision = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
        assert_denied(&decision, Deny::TokenValidationFails);
        assert_reason(&decision, Reason::TokenRejected);
        let Decision::Deny { denial, .. } = decision else {
            panic!("denied")
        };
        assert!(
            denial
                .detail
                .unwrap()
                .ends_with(&format!("status {status}")),
            "{status}"
        );
    }
}

#[tokio::test]
async fn no_usable_answer_is_target_endpoint_error_with_a_reason_that_says_which() {
    let closed = ClosedPort::new();
    let refused = format!(
        r#"{{"token_validation_uri": {{"defaultURI": "http://127.0.0.1:{}/userinfo"}}, "timeouts": {{"connect_ms": 500, "total_ms": 1000}}}}"#,
        closed.port()
    );
    let unresolvable = r#"{"token_validation_uri": {"defaultURI": "https://idp.invalid/userinfo"}, "timeouts": {"connect_ms": 500, "total_ms": 1000}}"#;
    let idp = MockServer::start().await;
    for config in [refused.as_str(), unresolvable] {
        let decision = decide(&authorizer(config, &idp).await, request(&[])).await;
        assert_denied(&decision, Deny::TargetEndpointError);
        assert_reason(&decision, Reason::EndpointUnreachable);
    }
    let stalling = ResponseTemplate::new(200)
        .set_delay(Duration::from_secs(3))
        .set_body_raw("{}", "application/json");
    // Under the 4,096-byte limit, far over serde_json's nesting limit of 128.
    let deep = format!("{}{}", "[".repeat(2_000), "]".repeat(2_000));
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><user><id>&b;</id></user>"#;
    let cases = [
        (
            "stalling past the total timeout",
            stalling,
            Reason::EndpointUnreachable,
        ),
        (
            "a body over the size limit",
            ResponseTemplate::new(200).set_body_raw("x".repeat(5_000), "text/plain"),
            Reason::EndpointUnreachable,
        ),
        (
            "garbage declared as JSON",
            ResponseTemplate::new(200).set_body_raw("<<not json>>", "application/json"),
            Reason::ResponseMalformed,
        ),
        (
            "garbage declared as XML",
            ResponseTemplate::new(200).set_body_raw("{\"not\": \"xml\"}", "text/xml"),
            Reason::ResponseMalformed,
        ),
        (
            "JSON nested 2,000 deep",
            ResponseTemplate::new(200).set_body_raw(deep, "application/json"),
            Reason::ResponseMalformed,
        ),
        (
            "an XML entity bomb",
            ResponseTemplate::new(200).set_body_raw(bomb, "application/xml"),
            Reason::ResponseMalformed,
        ),
    ];
    for (case, response, reason) in cases {
        let idp = idp_answering("/userinfo", response).await;
        let decision = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
        assert_eq!(decision.reason(), Some(reason), "{case}: {decision:?}");
        assert_denied(&decision, Deny::TargetEndpointError);
    }
}

#[tokio::test]
async fn a_value_with_cr_or_lf_is_never_injected_but_the_rest_are() {
    let body = json!({"sub": "u-1", "name": "evil\r\nX-Admin: true"});
    let idp = idp_answering("/userinfo", json_response(body)).await;
    let decision = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
    assert_eq!(
        injected(&decision),
        BTreeMap::from([("X-User-Id".into(), "u-1".into())])
    );
    assert!(matches!(&decision, Decision::Allow { dropped, .. } if dropped == &["X-User-Name"]));
    assert!(!format!("{decision:?}").contains("X-Admin"));
}

#[tokio::test]
async fn a_200_of_another_content_type_is_valid_and_injects_nothing() {
    let idp = idp_answering(
        "/userinfo",
        ResponseTemplate::new(200).set_body_raw("ok", "text/plain"),
    )
    .await;
    let decision = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
    assert!(injected(&decision).is_empty());
}

#[tokio::test]
async fn a_cache_hit_makes_no_call_and_answers_the_same() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u-1"}))).await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let first = decide(&authorizer, request(&[])).await;
    let second = decide(&authorizer, request(&[])).await;
    assert!(!first.cached());
    assert!(second.cached());
    assert_eq!(injected(&first), injected(&second));
    assert_eq!(calls(&idp, "/userinfo").await, 1, "the hit made no call");
}

#[tokio::test]
async fn failures_are_never_cached() {
    let idp = idp_answering("/userinfo", ResponseTemplate::new(401)).await;
    let authorizer = authorizer(FORWARD, &idp).await;
    for _ in 0..2 {
        let decision = decide(&authorizer, request(&[])).await;
        assert_denied(&decision, Deny::TokenValidationFails);
        assert!(!decision.cached());
    }
    assert_eq!(
        calls(&idp, "/userinfo").await,
        2,
        "each failure was asked again"
    );
}

#[tokio::test]
async fn a_different_endpoint_or_token_is_a_different_cache_entry() {
    let idp = MockServer::start().await;
    Mock::given(path("/userinfo"))
        .respond_with(json_response(json!({"sub": "d"})))
        .mount(&idp)
        .await;
    Mock::given(path("/fr/userinfo"))
        .respond_with(json_response(json!({"email": "f"})))
        .mount(&idp)
        .await;
    let authorizer = authorizer(FORWARD, &idp).await;
    assert!(!decide(&authorizer, request(&[])).await.cached());
    assert!(
        !decide(&authorizer, request(&[("X-Region-Code", "FR")]))
            .await
            .cached()
    );
    let other_token = rest_event(&[
        ("X-Api-Key", API_KEY),
        ("Authorization", "Bearer another-token"),
    ]);
    assert!(!decide(&authorizer, other_token).await.cached());
    assert!(decide(&authorizer, request(&[])).await.cached());
    assert_eq!(calls(&idp, "/userinfo").await, 2);
    assert_eq!(calls(&idp, "/fr/userinfo").await, 1);
}

#[tokio::test]
async fn a_cached_result_expires_after_the_configured_ttl() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u"}))).await;
    let config = FORWARD.replace(
        r#""max_response_bytes""#,
        r#""cache": {"ttl_seconds": 1}, "max_response_bytes""#,
    );
    let authorizer = authorizer(&config, &idp).await;
    assert!(!decide(&authorizer, request(&[])).await.cached());
    assert!(decide(&authorizer, request(&[])).await.cached());
    let later = Moment::now().later(Duration::from_millis(1_300));
    assert!(!decide_at(&authorizer, request(&[]), later).await.cached());
    assert_eq!(calls(&idp, "/userinfo").await, 2);
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
    let decision = decide(&authorizer(&config, &idp).await, request(&[])).await;
    assert_eq!(injected(&decision)["X-User-Id"], "via-proxy");
    assert_eq!(proxy.requests(), 1);

    let closed = ClosedPort::new();
    let dead_proxy = format!(
        r#"{{"token_validation_uri": {{"defaultURI": "{{IDP}}/userinfo"}}, "http_proxy_server": "127.0.0.1", "http_proxy_port": {}}}"#,
        closed.port()
    );
    let decision = decide(&authorizer(&dead_proxy, &idp).await, request(&[])).await;
    assert_denied(&decision, Deny::TargetEndpointError);
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
        .mount(&idp)
        .await;
    let decision = decide(&authorizer(INTROSPECTION, &idp).await, request(&[])).await;
    let headers = injected(&decision);
    assert_eq!(headers["X-Client-Id"], "c-1");
    assert_eq!(headers["X-Scopes"], "patrons:read other");
    assert_eq!(calls(&idp, "/introspect").await, 1);
}

#[tokio::test]
async fn rfc7662_denies_inactive_expired_wrong_audience_and_missing_scope_tokens_each_with_a_true_reason()
 {
    let cases = [
        ("inactive", json!({"active": false}), Reason::TokenInactive),
        (
            "no active member",
            json!({"client_id": "c"}),
            Reason::TokenInactive,
        ),
        (
            "expired",
            json!({"active": true, "aud": "patrons-api", "scope": "patrons:read", "exp": now() - 1}),
            Reason::TokenExpired,
        ),
        (
            "another audience",
            json!({"active": true, "aud": "other-api", "scope": "patrons:read"}),
            Reason::AudienceMismatch,
        ),
        (
            "missing scope",
            json!({"active": true, "aud": "patrons-api", "scope": "patrons:write"}),
            Reason::ScopeMissing,
        ),
    ];
    for (case, body, reason) in cases {
        let idp = idp_answering_post("/introspect", json_response(body)).await;
        let decision = decide(&authorizer(INTROSPECTION, &idp).await, request(&[])).await;
        assert_eq!(decision.reason(), Some(reason), "{case}");
        assert_denied(&decision, Deny::TokenValidationFails);
    }
    assert_eq!(
        Reason::TokenInactive.description(),
        "The OAuth Token Validation Endpoint reports the token inactive.",
        "not Mashery's \"Response code 200 not retrieved\": the endpoint did answer 200"
    );
}

#[tokio::test]
async fn rfc7662_answered_without_json_is_target_endpoint_error() {
    let idp = idp_answering_post(
        "/introspect",
        ResponseTemplate::new(200).set_body_raw("active", "text/plain"),
    )
    .await;
    let decision = decide(&authorizer(INTROSPECTION, &idp).await, request(&[])).await;
    assert_denied(&decision, Deny::TargetEndpointError);
    assert_reason(&decision, Reason::ResponseMalformed);
}

#[tokio::test]
async fn a_cached_introspection_is_rechecked_and_denied_once_its_exp_passes() {
    let idp = idp_answering_post(
        "/introspect",
        json_response(json!({"active": true, "aud": "patrons-api", "scope": "patrons:read", "exp": now() + 2})),
    )
    .await;
    let authorizer = authorizer(INTROSPECTION, &idp).await;
    assert!(decide(&authorizer, request(&[])).await.is_allow());
    let hit = decide(&authorizer, request(&[])).await;
    assert!(hit.is_allow() && hit.cached(), "{hit:?}");
    let later = Moment::now().later(Duration::from_millis(2_200));
    let decision = decide_at(&authorizer, request(&[]), later).await;
    assert_denied(&decision, Deny::TokenValidationFails);
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
    let allowed = answer(&authorizer, allowed_event).await;
    assert_eq!(allowed["isAuthorized"], true, "{allowed}");
    assert_eq!(allowed["context"]["inject_x_user_id"], "u-2");
    assert_eq!(allowed["context"]["principal_id"], "u-2");
    let mut unknown_key = event;
    unknown_key["headers"]["x-api-key"] = json!("no-such-key");
    assert_eq!(
        answer(&authorizer, unknown_key).await,
        json!({"isAuthorized": false, "context": {"error": "ApiKeyNotValid", "error_description": "API key is not valid."}})
    );
}

#[tokio::test]
async fn the_rest_api_event_fixture_is_allowed_for_the_fixture_key() {
    let idp = idp_answering(
        "/fr/userinfo",
        json_response(json!({"email": "a@fr.example"})),
    )
    .await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let event: Value =
        serde_json::from_str(include_str!("../events/rest-api-request.json")).unwrap();
    let decision = decide(&authorizer, event).await;
    assert_eq!(principal(&decision), Some(FIXTURE_KEY));
    assert_eq!(injected(&decision)["X-User-Email"], "a@fr.example");
}

#[tokio::test]
async fn a_token_event_is_unsupported_unless_api_gateway_checks_the_api_key() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u-3"}))).await;
    let event: Value =
        serde_json::from_str(include_str!("../events/token-authorizer.json")).unwrap();
    let decision = decide(&authorizer(FORWARD, &idp).await, event.clone()).await;
    assert_denied(&decision, Deny::UnsupportedAuthorizerType);
    assert!(
        Reason::AuthorizerTypeUnsupported
            .description()
            .contains("REQUEST authorizer")
    );
    let edge = answer(&authorizer(FORWARD, &idp).await, event.clone()).await;
    assert_eq!(edge["policyDocument"]["Statement"][0]["Effect"], "Deny");
    assert_eq!(edge["context"]["error"], "UnsupportedAuthorizerType");

    let gateway_keys = FORWARD.replace(
        r#""block_authorization_header""#,
        r#""api_key": {"checked_by": "api_gateway"}, "block_authorization_header""#,
    );
    let authorizer = authorizer(&gateway_keys, &idp).await;
    let decision = decide(&authorizer, event.clone()).await;
    assert_eq!(
        injected(&decision)["X-User-Id"],
        "u-3",
        "validated at defaultURI"
    );
    let received = idp.received_requests().await.unwrap();
    assert_eq!(
        received[0].headers["authorization"],
        "incoming-client-token"
    );
    let mut no_token = event;
    no_token["authorizationToken"] = json!("");
    assert_denied(
        &decide(&authorizer, no_token).await,
        Deny::AuthorizationHeaderNotPresentInRequest,
    );
}

#[tokio::test]
async fn a_key_store_that_is_down_fails_closed() {
    let idp = MockServer::start().await;
    let closed = ClosedPort::new();
    let endpoint = closed.url();
    let keys = Arc::new(DynamoKeyStore::new(dynamodb_client(&endpoint), "keys"));
    let authorizer = authorizer_with(FORWARD, &idp, keys).await;
    let decision = decide(&authorizer, request(&[])).await;
    assert_denied(&decision, Deny::ApiKeyCheckUnavailable);
}

#[tokio::test]
async fn a_stalled_key_store_is_api_key_check_unavailable_within_the_operation_timeout() {
    let idp = MockServer::start().await;
    let stalled = StalledPort::new();
    let keys = Arc::new(DynamoKeyStore::new(dynamodb_client(&stalled.url()), "keys"));
    let authorizer = authorizer_with(FORWARD, &idp, keys).await;
    let started = std::time::Instant::now();
    let decision = decide(&authorizer, request(&[])).await;
    let elapsed = started.elapsed();
    assert_denied(&decision, Deny::ApiKeyCheckUnavailable);
    // Bounded by the operation timeout (2.5 s), with room for a loaded machine.
    assert!(
        elapsed < StoreLimits::default().operation + Duration::from_secs(2),
        "answered after {elapsed:?}"
    );
    println!("stalled key store denied after {elapsed:?}");
}

#[tokio::test]
async fn an_event_that_is_not_an_authorizer_event_is_an_error_not_a_panic() {
    for event in [
        json!({}),
        json!("text"),
        json!({"headers": {"x": "y"}}),
        json!({"type": "REQUEST", "headers": {"bad header": "y"}, "requestContext": {}}),
    ] {
        assert!(AuthorizerEvent::from_value(&event).is_err());
    }
}

#[tokio::test]
async fn each_decision_is_logged_once_with_its_reason_error_key_and_cache_flag() {
    let idp = idp_answering("/userinfo", ResponseTemplate::new(401)).await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let (logs, _guard) = LogCapture::start();
    let denied = 7;
    for i in 0..denied {
        let event = if i % 2 == 0 {
            request(&[])
        } else {
            rest_event(&[("Authorization", TOKEN)])
        };
        assert!(!decide(&authorizer, event).await.is_allow());
    }
    let text = logs.text();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("reason=")).collect();
    assert_eq!(lines.len(), denied, "one line per decision: {text}");
    let rejected = lines.iter().find(|l| l.contains("token_rejected")).unwrap();
    for part in [
        "error=\"TokenValidationFails\"",
        &format!("principal_id=\"{API_KEY}\""),
        "cached=false",
        "status 401",
    ] {
        assert!(rejected.contains(part), "{part} in {rejected}");
    }
    assert!(
        !text.contains("2YotnFZFEjr1zCsicMWpAA"),
        "no token in the log"
    );
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
    assert!(decide(&authorizer, request(&[])).await.is_allow());
    let disabled = rest_event(&[("X-Api-Key", DISABLED_KEY), ("Authorization", TOKEN)]);
    assert_denied(&decide(&authorizer, disabled).await, Deny::ApiKeyDisabled);
    let unknown = rest_event(&[("X-Api-Key", "not-in-the-table"), ("Authorization", TOKEN)]);
    assert_denied(&decide(&authorizer, unknown).await, Deny::ApiKeyNotValid);
}

#[tokio::test]
async fn an_introspection_answer_of_429_or_5xx_is_an_endpoint_failure_never_a_token_denial() {
    for status in [429, 500, 502, 503] {
        let idp = idp_answering_post("/introspect", ResponseTemplate::new(status)).await;
        let decision = decide(&authorizer(INTROSPECTION, &idp).await, request(&[])).await;
        assert_reason(&decision, Reason::EndpointFailed);
        assert_denied(&decision, Deny::TargetEndpointError);
    }
    let idp = idp_answering_post("/introspect", ResponseTemplate::new(401)).await;
    let decision = decide(&authorizer(INTROSPECTION, &idp).await, request(&[])).await;
    assert_denied(&decision, Deny::TokenValidationFails);
}

#[tokio::test]
async fn two_region_header_values_are_denied_by_name_in_any_form() {
    let idp = idp_answering("/fr/userinfo", json_response(json!({"email": "a@b.fr"}))).await;
    let authorizer = authorizer(FORWARD, &idp).await;
    let mut two_values = request(&[]);
    two_values["multiValueHeaders"]["X-Region-Code"] = json!(["FR", "US"]);
    let mut two_spellings = request(&[]);
    two_spellings["headers"]["X-Region-Code"] = json!("FR");
    two_spellings["headers"]["x-region-code"] = json!("US");
    for event in [
        two_values,
        two_spellings,
        request(&[("X-Region-Code", "FR,US")]),
    ] {
        let decision = decide(&authorizer, event).await;
        assert_reason(&decision, Reason::RegionMultiple);
        assert_denied(&decision, Deny::MultipleRegionHeadersInRequest);
    }
    assert_eq!(calls(&idp, "/fr/userinfo").await, 0);
    let one = decide(&authorizer, request(&[("X-Region-Code", "FR")])).await;
    assert!(one.is_allow(), "{one:?}");
}

#[tokio::test]
async fn two_spellings_of_a_header_in_headers_alone_are_two_values_whatever_their_order() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u"}))).await;
    let authorizer = authorizer(FORWARD, &idp).await;
    for (first, second) in [("bogus", API_KEY), (API_KEY, "bogus")] {
        let one = json!({
            "type": "REQUEST",
            "methodArn": METHOD_ARN,
            "headers": {"Authorization": TOKEN},
            "requestContext": {},
        });
        // Written as text so that the two spellings keep their order in the JSON.
        let text = one.to_string().replacen(
            r#""headers":{"#,
            &format!(r#""headers":{{"X-Api-Key":"{first}","x-api-key":"{second}","#),
            1,
        );
        let event = AuthorizerEvent::from_slice(text.as_bytes()).unwrap();
        let decision = handler::decide(&authorizer, &event, Moment::now()).await.0;
        assert_denied(&decision, Deny::MultipleApiKeysInRequest);
    }
    let text = format!(
        r#"{{"type":"REQUEST","methodArn":"{METHOD_ARN}","headers":{{"X-Api-Key":"{API_KEY}","Authorization":"Bearer a","authorization":"Bearer b"}},"requestContext":{{}}}}"#
    );
    let event = AuthorizerEvent::from_slice(text.as_bytes()).unwrap();
    let decision = handler::decide(&authorizer, &event, Moment::now()).await.0;
    assert_denied(&decision, Deny::MultipleAuthorizationHeadersInRequest);
    let mut v2: Value =
        serde_json::from_str(include_str!("../events/http-api-request.json")).unwrap();
    v2["headers"] = json!({"authorization": TOKEN});
    let v2 = v2.to_string().replacen(
        r#""headers":{"#,
        &format!(r#""headers":{{"x-api-key":"bogus","X-API-KEY":"{API_KEY}","#),
        1,
    );
    let event = AuthorizerEvent::from_slice(v2.as_bytes()).unwrap();
    let decision = handler::decide(&authorizer, &event, Moment::now()).await.0;
    assert_denied(&decision, Deny::MultipleApiKeysInRequest);
}

#[tokio::test]
async fn a_rest_event_without_a_method_arn_is_denied_and_never_allowed_on_anything() {
    let idp = idp_answering("/userinfo", json_response(json!({"sub": "u"}))).await;
    let authorizer = authorizer(FORWARD, &idp).await;
    for arn in [None, Some(""), Some("  ")] {
        let mut event = request(&[]);
        match arn {
            None => event.as_object_mut().unwrap().remove("methodArn"),
            Some(arn) => event
                .as_object_mut()
                .unwrap()
                .insert("methodArn".into(), json!(arn)),
        };
        let answer = answer(&authorizer, event).await;
        assert_eq!(
            answer["policyDocument"]["Statement"][0]["Effect"], "Deny",
            "{answer}"
        );
        assert_eq!(answer["context"]["error"], "UnsupportedAuthorizerType");
    }
    assert_eq!(calls(&idp, "/userinfo").await, 0);
    let token = json!({"type": "TOKEN", "authorizationToken": TOKEN});
    assert_eq!(
        answer(&authorizer, token).await["policyDocument"]["Statement"][0]["Effect"],
        "Deny"
    );
}

#[tokio::test]
async fn the_principal_is_who_the_token_authenticates_and_an_unusable_subject_falls_back_to_the_api_key()
 {
    for (body, principal_id) in [
        (json!({"sub": "user-7", "client_id": "app"}), "user-7"),
        (json!({"client_id": "app"}), "app"),
        (json!({"sub": "line\nbreak"}), API_KEY),
        (json!({"sub": 42}), API_KEY),
        (json!({"sub": "x".repeat(300)}), API_KEY),
        (json!({}), API_KEY),
    ] {
        let idp = idp_answering("/userinfo", json_response(body.clone())).await;
        let decision = decide(&authorizer(FORWARD, &idp).await, request(&[])).await;
        assert_eq!(principal(&decision), Some(principal_id), "{body}");
    }
}

/// A DynamoDB endpoint whose every `BatchGetItem` is throttled: a loopback server that
/// speaks the operation's HTTP shape (moto cannot be made to throttle). `unprocessed`
/// answers 200 leaving every key unprocessed; otherwise 400
/// `ProvisionedThroughputExceededException`.
async fn throttled_dynamodb(unprocessed: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(move |request: &wiremock::Request| {
            let asked: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            if unprocessed {
                ResponseTemplate::new(200).set_body_raw(
                    json!({"Responses": {}, "UnprocessedKeys": asked["RequestItems"]}).to_string(),
                    "application/x-amz-json-1.0",
                )
            } else {
                ResponseTemplate::new(400).set_body_raw(
                    json!({"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                        "message": "The level of configured provisioned throughput for the table was exceeded."})
                    .to_string(),
                    "application/x-amz-json-1.0",
                )
            }
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_throttled_store_is_a_bounded_named_denial_within_the_operation_timeout() {
    let limits = StoreLimits {
        operation: Duration::from_millis(1_500),
        ..StoreLimits::default()
    };
    for unprocessed in [true, false] {
        let dynamodb = throttled_dynamodb(unprocessed).await;
        let client = tokengate_tests::dynamodb_client_with(&dynamodb.uri(), &limits);
        let keys = Arc::new(DynamoKeyStore::new(client.clone(), "keys"));
        let lookup =
            tokengate_shared::store::dynamodb::DynamoTokenLookup::new(client, "keys", "tokens");
        let pre_inputs = PreInputs::parse(r#"{"validation": {"style": "tokengate"}}"#);
        let endpoint = HttpValidationEndpoint::new(pre_inputs.as_ref().ok()).unwrap();
        let authorizer = Authorizer::new(pre_inputs, keys, Arc::new(endpoint))
            .with_token_lookup(Arc::new(lookup));
        let started = std::time::Instant::now();
        let decision = decide(&authorizer, request(&[])).await;
        let elapsed = started.elapsed();
        assert_denied(&decision, Deny::ApiKeyCheckUnavailable);
        let calls = dynamodb.received_requests().await.unwrap().len();
        assert!(
            (2..=limits.max_attempts as usize).contains(&calls),
            "unprocessed {unprocessed}: {calls} calls, retried a few times and no more"
        );
        assert!(
            elapsed < limits.operation + Duration::from_millis(100),
            "unprocessed {unprocessed}: answered after {elapsed:?}"
        );
        println!("throttled (unprocessed {unprocessed}): denied after {elapsed:?}, {calls} calls");
    }
}
