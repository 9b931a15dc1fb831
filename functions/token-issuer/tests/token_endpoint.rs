//! The token endpoint's contract, driven through the real handler with the in-memory
//! stores (the same ones `tokengate serve` uses). The DynamoDB path is covered by the
//! end-to-end tests in `tests/`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use lambda_http::http::{HeaderMap, HeaderValue, StatusCode};
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use token_issuer::settings::Throttle;
use token_issuer::{TokenService, handler};
use tokengate_shared::store::memory::{MemoryKeyStore, MemoryTokenStore};
use tokengate_shared::{
    ClientKey, KeyAdmin, KeyId, KeyReader, KeyStatus, Revocation, StoreError, SystemCode,
    TokenHash, TokenRecord, TokenStore, clock,
};
use tokengate_tests::fixtures::{
    FIXTURE_KEY, FIXTURE_SECRET, LogCapture, basic, client_key, fixture_key,
};

const KEY: &str = FIXTURE_KEY;
const SECRET: &str = FIXTURE_SECRET;
const OTHER_KEY: &str = "3f2b8a9e-5c1d-4e7f-8a6b-9c0d1e2f3a4b";

struct Endpoint {
    keys: Arc<MemoryKeyStore>,
    tokens: Arc<MemoryTokenStore>,
    service: TokenService,
}

impl Endpoint {
    /// The example key from `events/`, valid for d2ir1, and a 599 s lifetime.
    async fn new() -> Self {
        Self::with_ttl(599).await
    }

    async fn with_ttl(ttl: u64) -> Self {
        let keys = Arc::new(MemoryKeyStore::new());
        let tokens = Arc::new(MemoryTokenStore::new());
        let service = TokenService::new(keys.clone(), tokens.clone(), ttl);
        let endpoint = Self {
            keys,
            tokens,
            service,
        };
        endpoint.add_key(KEY, SECRET, &["d2ir1"]).await;
        endpoint
    }

    async fn add_key(&self, id: &str, secret: &str, valid_for: &[&str]) {
        let key = client_key(id, secret, KeyStatus::Active, valid_for);
        self.keys.create(&key).await.unwrap();
    }

    async fn send(&self, request: Request) -> Answer {
        let response = handler::handle(&self.service, request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("expected a JSON text body, got {other:?}"),
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn issue_token(&self) -> String {
        let answer = self.send(TestRequest::token().build()).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.body["access_token"].as_str().unwrap().to_owned()
    }
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn assert_invalid_request(&self, description: &str) {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.body);
        assert_eq!(
            self.body,
            json!({"error": "invalid_request", "error_description": description})
        );
    }

    fn assert_client_authentication_failed(&self) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{}", self.body);
        assert_eq!(self.body["error"], "invalid_client", "{}", self.body);
        assert_eq!(
            self.headers["www-authenticate"],
            "Basic realm=\"tokengate\", charset=\"UTF-8\""
        );
        assert_eq!(self.headers["cache-control"], "no-store");
    }

    fn assert_error(&self, status: StatusCode, error: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"], error, "{}", self.body);
    }

    fn assert_authentication_failed(&self) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{}", self.body);
        assert_eq!(
            self.body,
            json!({"error": "invalid_token", "error_description": "Token authentication failed"})
        );
        assert_eq!(
            self.headers["www-authenticate"],
            "Basic realm=\"tokengate\", charset=\"UTF-8\""
        );
    }
}

/// A request under construction, valid until a test breaks it.
#[derive(Clone)]
struct TestRequest {
    method: &'static str,
    path: String,
    query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    /// The caller's address in the REST API request context, when set.
    source: Option<String>,
}

impl TestRequest {
    /// The same, as API Gateway would send it from `ip`.
    fn from(mut self, ip: &str) -> Self {
        self.source = Some(ip.to_owned());
        self
    }

    fn token() -> Self {
        Self {
            method: "POST",
            path: "/innreach/v2/oauth2/token".into(),
            query: "grant_type=client_credentials&scope=innreach_tp".into(),
            headers: [
                ("Authorization", basic(KEY, SECRET)),
                ("X-From-Code", "d2ir1".into()),
                ("X-To-Code", "abcde".into()),
                ("X-Request-Creation-Time", "1544466568".into()),
                ("Accept", "application/json".into()),
                ("Content-Type", "application/json".into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_bytes()))
            .collect(),
            body: Vec::new(),
            source: None,
        }
    }

    /// What any RFC 6749 client sends to `/oauth2/token`: Basic credentials and a form
    /// body, nothing else.
    fn standard() -> Self {
        Self {
            method: "POST",
            path: "/oauth2/token".into(),
            query: String::new(),
            headers: vec![
                ("Authorization".into(), basic(KEY, SECRET).into_bytes()),
                (
                    "Content-Type".into(),
                    b"application/x-www-form-urlencoded".to_vec(),
                ),
            ],
            body: b"grant_type=client_credentials".to_vec(),
            source: None,
        }
    }

    /// The same with `client_secret_post`: the credentials in the body.
    fn posted(self, extra: &str) -> Self {
        let body = String::from_utf8(self.body.clone()).unwrap();
        self.without("Authorization").body(&format!(
            "{body}&client_id={KEY}&client_secret={SECRET}{extra}"
        ))
    }

    fn revoke(token: &str) -> Self {
        Self::introspect(token).path("/oauth2/revoke")
    }

    fn introspect(token: &str) -> Self {
        Self {
            method: "POST",
            path: "/oauth2/introspect".into(),
            query: String::new(),
            headers: vec![
                ("Authorization".into(), basic(KEY, SECRET).into_bytes()),
                (
                    "Content-Type".into(),
                    b"application/x-www-form-urlencoded".to_vec(),
                ),
            ],
            body: format!("token={token}").into_bytes(),
            source: None,
        }
    }

    fn set(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self = self.without(name);
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    fn add(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_owned(), value.as_bytes().to_vec()));
        self
    }

    fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }

    fn query(mut self, query: &str) -> Self {
        self.query = query.to_owned();
        self
    }

    fn body(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self
    }

    fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    fn path(mut self, path: &str) -> Self {
        self.path = path.to_owned();
        self
    }

    fn build(self) -> Request {
        let uri = if self.query.is_empty() {
            self.path
        } else {
            format!("{}?{}", self.path, self.query)
        };
        let mut request = lambda_http::http::Request::builder()
            .method(self.method)
            .uri(uri);
        for (name, value) in &self.headers {
            request = request.header(name, HeaderValue::from_bytes(value).unwrap());
        }
        let body = if self.body.is_empty() {
            Body::Empty
        } else {
            Body::Binary(self.body)
        };
        let request = request.body(body).unwrap();
        match self.source {
            None => request,
            Some(ip) => {
                let mut context =
                    lambda_http::aws_lambda_events::apigw::ApiGatewayProxyRequestContext::default();
                context.identity.source_ip = Some(ip);
                lambda_http::RequestExt::with_request_context(
                    request,
                    lambda_http::request::RequestContext::ApiGatewayV1(context),
                )
            }
        }
    }
}

#[tokio::test]
async fn issues_a_bearer_token_for_a_valid_key_and_secret_with_all_headers() {
    let endpoint = Endpoint::new().await;
    let answer = endpoint.send(TestRequest::token().build()).await;
    assert_eq!(answer.status, StatusCode::OK);
    let token = answer.body["access_token"].as_str().unwrap();
    assert_eq!(token.len(), 32);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 599);
    assert_eq!(answer.body.as_object().unwrap().len(), 3);
    assert_eq!(answer.headers["content-type"], "application/json");
}

#[tokio::test]
async fn every_token_response_carries_cache_control_no_store() {
    let endpoint = Endpoint::new().await;
    let requests = [
        TestRequest::token(),
        TestRequest::token().set("Authorization", basic(KEY, "wrong")),
        TestRequest::token().query("grant_type=client_credentials"),
        TestRequest::introspect("0123"),
    ];
    for request in requests {
        let answer = endpoint.send(request.build()).await;
        assert_eq!(
            answer.headers["cache-control"], "no-store",
            "{}",
            answer.body
        );
        assert_eq!(answer.headers["pragma"], "no-cache");
    }
}

#[tokio::test]
async fn expires_in_follows_the_configured_token_lifetime() {
    let endpoint = Endpoint::with_ttl(3600).await;
    let answer = endpoint.send(TestRequest::token().build()).await;
    assert_eq!(answer.body["expires_in"], 3600);
}

#[tokio::test]
async fn stores_the_token_only_as_its_hash_with_key_codes_scope_and_times() {
    let endpoint = Endpoint::new().await;
    let before = clock::now_epoch_seconds();
    let token = endpoint.issue_token().await;
    let record = endpoint
        .tokens
        .get(&TokenHash::of(&token))
        .await
        .unwrap()
        .expect("the token is stored under its hash");
    assert_eq!(record.key_id.as_str(), KEY);
    assert_eq!(record.from_code, SystemCode::parse("d2ir1").ok());
    assert_eq!(record.to_code, SystemCode::parse("abcde").ok());
    assert_eq!(record.scope, "innreach_tp");
    assert!(record.issued_at >= before);
    assert_eq!(record.expires_at, record.issued_at + 599);
    assert!(!format!("{record:?}").contains(&token));
}

#[tokio::test]
async fn accepts_grant_type_and_scope_in_a_form_body() {
    let endpoint = Endpoint::new().await;
    let request = TestRequest::token()
        .query("")
        .set("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=innreach_tp");
    assert_eq!(endpoint.send(request.build()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn serves_the_same_handler_at_oauth2_token() {
    let endpoint = Endpoint::new().await;
    let request = TestRequest::token().path("/oauth2/token");
    assert_eq!(endpoint.send(request.build()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn decodes_basic_credentials_per_rfc_6749_with_a_colon_in_the_secret() {
    let endpoint = Endpoint::new().await;
    endpoint
        .add_key("key:with:colons", "se:cr:et", &["d2ir1"])
        .await;
    // The id is form-urlencoded (its colons escaped); the secret's colons stand as they are.
    let request =
        TestRequest::token().set("Authorization", basic("key%3Awith%3Acolons", "se:cr:et"));
    assert_eq!(endpoint.send(request.build()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn decodes_form_urlencoded_credentials_and_unpadded_base64_and_a_lowercase_scheme() {
    let endpoint = Endpoint::new().await;
    endpoint
        .add_key("spaced-key", "a secret+with%odd chars", &["d2ir1"])
        .await;
    let encoded = STANDARD_NO_PAD.encode("spaced-key:a+secret%2Bwith%25odd%20chars");
    let request = TestRequest::token().set("Authorization", format!("basic {encoded}"));
    assert_eq!(endpoint.send(request.build()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn answers_400_naming_each_missing_or_malformed_part() {
    let valid = TestRequest::token;
    let long = "A".repeat(10_000);
    let not_utf8 = format!("Basic {}", STANDARD.encode(b"key:\xff\xfe secret"));
    let cases: Vec<(&str, TestRequest, &str)> = vec![
        (
            "no Authorization header",
            valid().without("Authorization"),
            "The Authorization header is required.",
        ),
        (
            "an empty Authorization header",
            valid().set("Authorization", ""),
            "The Authorization header is required.",
        ),
        (
            "a Bearer Authorization header",
            valid().set("Authorization", "Bearer abc"),
            "The Authorization header must use the Basic scheme.",
        ),
        (
            "Basic with nothing after it",
            valid().set("Authorization", "Basic"),
            "The Authorization header must use the Basic scheme.",
        ),
        (
            "garbled base64",
            valid().set("Authorization", "Basic !!!not-base64!!!"),
            "The Authorization header's Basic credentials must be base64.",
        ),
        (
            "credentials without a colon",
            valid().set(
                "Authorization",
                format!("Basic {}", STANDARD.encode("keyonly")),
            ),
            "The Authorization header's Basic credentials must be key:secret.",
        ),
        (
            "a secret that is not UTF-8",
            valid().set("Authorization", not_utf8),
            "The Authorization header's Basic credentials must be UTF-8.",
        ),
        (
            "two Authorization headers",
            valid().add("Authorization", &basic(KEY, SECRET)),
            "The Authorization header must appear once.",
        ),
        (
            "no X-From-Code",
            valid().without("X-From-Code"),
            "The X-From-Code header is required.",
        ),
        (
            "a four-character X-From-Code",
            valid().set("X-From-Code", "d2ir"),
            "The X-From-Code header must be a five-character code of letters and digits.",
        ),
        (
            "a six-character X-From-Code",
            valid().set("X-From-Code", "d2ir12"),
            "The X-From-Code header must be a five-character code of letters and digits.",
        ),
        (
            "a 10,000-character X-From-Code",
            valid().set("X-From-Code", &long),
            "The X-From-Code header must be a five-character code of letters and digits.",
        ),
        (
            "an X-From-Code with bytes beyond ASCII",
            valid().set("X-From-Code", b"d2ir\xe9"),
            "The X-From-Code header must be printable ASCII.",
        ),
        (
            "no X-To-Code",
            valid().without("X-To-Code"),
            "The X-To-Code header is required.",
        ),
        (
            "a four-character X-To-Code",
            valid().set("X-To-Code", "abcd"),
            "The X-To-Code header must be a five-character code of letters and digits.",
        ),
        (
            "a six-character X-To-Code",
            valid().set("X-To-Code", "abcdef"),
            "The X-To-Code header must be a five-character code of letters and digits.",
        ),
        (
            "no X-Request-Creation-Time",
            valid().without("X-Request-Creation-Time"),
            "The X-Request-Creation-Time header is required.",
        ),
        (
            "a non-numeric X-Request-Creation-Time",
            valid().set("X-Request-Creation-Time", "yesterday"),
            "The X-Request-Creation-Time header must be epoch seconds, a whole number.",
        ),
        (
            "a negative X-Request-Creation-Time",
            valid().set("X-Request-Creation-Time", "-5"),
            "The X-Request-Creation-Time header must be epoch seconds, a whole number.",
        ),
        (
            "a signed X-Request-Creation-Time",
            valid().set("X-Request-Creation-Time", "+5"),
            "The X-Request-Creation-Time header must be epoch seconds, a whole number.",
        ),
        (
            "a fractional X-Request-Creation-Time",
            valid().set("X-Request-Creation-Time", "1544466568.5"),
            "The X-Request-Creation-Time header must be epoch seconds, a whole number.",
        ),
        (
            "no Accept",
            valid().without("Accept"),
            "The Accept header is required.",
        ),
        (
            "an Accept that excludes JSON",
            valid().set("Accept", "text/html"),
            "The Accept header must allow application/json.",
        ),
        (
            "no Content-Type",
            valid().without("Content-Type"),
            "The Content-Type header is required.",
        ),
        (
            "a text/plain Content-Type",
            valid().set("Content-Type", "text/plain"),
            "The Content-Type header must be application/json (or application/x-www-form-urlencoded with the parameters in the body).",
        ),
        (
            "no grant_type",
            valid().query("scope=innreach_tp"),
            "The grant_type parameter is required.",
        ),
        (
            "a wrong grant_type",
            valid().query("grant_type=password&scope=innreach_tp"),
            "The grant_type parameter must be client_credentials.",
        ),
        (
            "a repeated grant_type",
            valid().query(
                "grant_type=client_credentials&grant_type=client_credentials&scope=innreach_tp",
            ),
            "The grant_type parameter must appear once.",
        ),
        (
            "no scope",
            valid().query("grant_type=client_credentials"),
            "The scope parameter is required.",
        ),
        (
            "an empty scope",
            valid().query("grant_type=client_credentials&scope="),
            "The scope parameter is required.",
        ),
        (
            "a wrong scope",
            valid().query("grant_type=client_credentials&scope=admin"),
            "The scope parameter must be innreach_tp.",
        ),
        (
            "parameters in a JSON request's body",
            valid()
                .query("")
                .body("grant_type=client_credentials&scope=innreach_tp"),
            "The grant_type parameter is required.",
        ),
    ];
    let endpoint = Endpoint::new().await;
    for (case, request, description) in cases {
        let answer = endpoint.send(request.build()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{case}: {}",
            answer.body
        );
        assert_eq!(answer.body["error_description"], description, "{case}");
        answer.assert_invalid_request(description);
    }
}

#[tokio::test]
async fn a_malformed_request_is_400_even_with_wrong_credentials() {
    let endpoint = Endpoint::new().await;
    let request = TestRequest::token()
        .set("Authorization", basic(KEY, "wrong"))
        .query("grant_type=client_credentials");
    endpoint
        .send(request.build())
        .await
        .assert_invalid_request("The scope parameter is required.");
}

#[tokio::test]
async fn answers_401_for_every_credential_that_does_not_authenticate_for_the_from_code() {
    let endpoint = Endpoint::new().await;
    endpoint
        .add_key("elsewhere-key", "elsewhere-secret", &["zzzzz"])
        .await;
    endpoint
        .add_key("disabled-key", "disabled-secret", &["d2ir1"])
        .await;
    endpoint
        .keys
        .set_status(
            &KeyId::parse("disabled-key").unwrap(),
            KeyStatus::Disabled,
            2,
        )
        .await
        .unwrap();
    let cases = [
        ("a wrong secret", basic(KEY, "not-the-secret")),
        ("an empty secret", basic(KEY, "")),
        ("an unknown key", basic("no-such-key", SECRET)),
        ("an empty key", basic("", SECRET)),
        ("a 200-character key", basic(&"k".repeat(200), SECRET)),
        ("a key with a space", basic("has space", SECRET)),
        ("a 64 KiB secret", basic(KEY, &"s".repeat(65_536))),
        (
            "a key valid for another code",
            basic("elsewhere-key", "elsewhere-secret"),
        ),
        ("a disabled key", basic("disabled-key", "disabled-secret")),
    ];
    for (case, authorization) in cases {
        let request = TestRequest::token().set("Authorization", authorization);
        let answer = endpoint.send(request.build()).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{case}");
        answer.assert_authentication_failed();
    }
}

#[tokio::test]
async fn a_key_valid_for_several_codes_gets_tokens_for_each() {
    let endpoint = Endpoint::new().await;
    endpoint
        .add_key("central-key", "central-secret", &["d2ir1", "abcde"])
        .await;
    for from in ["d2ir1", "abcde"] {
        let request = TestRequest::token()
            .set("Authorization", basic("central-key", "central-secret"))
            .set("X-From-Code", from);
        assert_eq!(
            endpoint.send(request.build()).await.status,
            StatusCode::OK,
            "{from}"
        );
    }
}

#[tokio::test]
async fn unknown_routes_are_404_json_and_other_methods_are_405_with_allow() {
    let endpoint = Endpoint::new().await;
    let answer = endpoint
        .send(TestRequest::token().path("/innreach/v2/other").build())
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body["error"], "not_found");
    for method in ["GET", "PUT", "DELETE"] {
        let answer = endpoint
            .send(TestRequest::token().method(method).build())
            .await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(answer.body["error"], "method_not_allowed");
        assert_eq!(answer.headers["allow"], "POST");
    }
}

#[tokio::test]
async fn the_rest_api_event_fixture_is_routed_without_its_stage_and_gets_a_token() {
    let endpoint = Endpoint::new().await;
    let event = include_str!("../events/token-request-rest-api.json");
    let request = lambda_http::request::from_str(event).unwrap();
    assert!(
        request.uri().path().starts_with("/prod/"),
        "the stage is in the URI"
    );
    let answer = endpoint.send(request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn the_http_api_event_fixture_gets_a_token() {
    let endpoint = Endpoint::new().await;
    let event = include_str!("../events/token-request-http-api.json");
    let answer = endpoint
        .send(lambda_http::request::from_str(event).unwrap())
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn the_introspection_event_fixture_reports_its_unknown_token_inactive() {
    let endpoint = Endpoint::new().await;
    let event = include_str!("../events/introspect-request-http-api.json");
    let answer = endpoint
        .send(lambda_http::request::from_str(event).unwrap())
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, json!({"active": false}));
}

#[tokio::test]
async fn introspection_reports_an_issued_token_active_with_its_claims() {
    let endpoint = Endpoint::new().await;
    let token = endpoint.issue_token().await;
    let answer = endpoint.send(TestRequest::introspect(&token).build()).await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = &answer.body;
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], KEY);
    assert_eq!(body["scope"], "innreach_tp");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["from_code"], "d2ir1");
    assert_eq!(body["to_code"], "abcde");
    assert_eq!(
        body["exp"].as_u64().unwrap(),
        body["iat"].as_u64().unwrap() + 599
    );
    assert_eq!(answer.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn introspection_reports_an_expired_token_inactive_though_it_is_still_stored() {
    let endpoint = Endpoint::new().await;
    let now = clock::now_epoch_seconds();
    let expired = TokenRecord {
        hash: TokenHash::of("expired-token"),
        key_id: KeyId::parse(KEY).unwrap(),
        from_code: SystemCode::parse("d2ir1").ok(),
        to_code: SystemCode::parse("abcde").ok(),
        scope: "innreach_tp".into(),
        audiences: Default::default(),
        issued_at: now - 700,
        expires_at: now - 101,
    };
    endpoint.tokens.put(&expired).await.unwrap();
    let answer = endpoint
        .send(TestRequest::introspect("expired-token").build())
        .await;
    assert_eq!(answer.body, json!({"active": false}));
}

#[tokio::test]
async fn introspection_reports_an_unknown_token_inactive() {
    let endpoint = Endpoint::new().await;
    for token in [
        "0123456789abcdef0123456789abcdef",
        "",
        "%00",
        &"x".repeat(10_000),
    ] {
        let request = TestRequest::introspect("")
            .body(&format!("token={token}&token_type_hint=access_token"));
        let answer = endpoint.send(request.build()).await;
        if token.is_empty() {
            answer.assert_invalid_request("The token parameter is required.");
        } else {
            assert_eq!(answer.body, json!({"active": false}), "{token:.20}");
        }
    }
}

#[tokio::test]
async fn introspection_reports_a_token_inactive_once_its_key_is_disabled_or_deleted() {
    let endpoint = Endpoint::new().await;
    endpoint
        .add_key("resource-key", "resource-secret", &[])
        .await;
    let token = endpoint.issue_token().await;
    let as_resource = || {
        TestRequest::introspect(&token)
            .set("Authorization", basic("resource-key", "resource-secret"))
    };
    assert_eq!(
        endpoint.send(as_resource().build()).await.body["active"],
        true
    );
    let id = KeyId::parse(KEY).unwrap();
    endpoint
        .keys
        .set_status(&id, KeyStatus::Disabled, 3)
        .await
        .unwrap();
    assert_eq!(
        endpoint.send(as_resource().build()).await.body,
        json!({"active": false})
    );
    endpoint
        .keys
        .set_status(&id, KeyStatus::Active, 4)
        .await
        .unwrap();
    assert_eq!(
        endpoint.send(as_resource().build()).await.body["active"],
        true
    );
    endpoint.keys.delete(&id).await.unwrap();
    assert_eq!(
        endpoint.send(as_resource().build()).await.body,
        json!({"active": false})
    );
}

#[tokio::test]
async fn introspection_refuses_a_caller_whose_key_is_disabled_or_wrong() {
    let endpoint = Endpoint::new().await;
    let token = endpoint.issue_token().await;
    let wrong = TestRequest::introspect(&token).set("Authorization", basic(KEY, "wrong"));
    endpoint
        .send(wrong.build())
        .await
        .assert_client_authentication_failed();
    endpoint
        .keys
        .set_status(&KeyId::parse(KEY).unwrap(), KeyStatus::Disabled, 5)
        .await
        .unwrap();
    endpoint
        .send(TestRequest::introspect(&token).build())
        .await
        .assert_client_authentication_failed();
}

#[tokio::test]
async fn introspection_needs_a_form_body_with_one_token() {
    let endpoint = Endpoint::new().await;
    let json_body = TestRequest::introspect("abc").set("Content-Type", "application/json");
    endpoint
        .send(json_body.build())
        .await
        .assert_invalid_request(
            "The Content-Type header must be application/x-www-form-urlencoded.",
        );
    let twice = TestRequest::introspect("").body("token=a&token=b");
    endpoint
        .send(twice.build())
        .await
        .assert_invalid_request("The token parameter must appear once.");
}

#[tokio::test]
async fn introspection_without_credentials_is_401_invalid_client_asking_for_basic() {
    let endpoint = Endpoint::new().await;
    let no_auth = TestRequest::introspect("abc").without("Authorization");
    let answer = endpoint.send(no_auth.build()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body["error"], "invalid_client");
    assert_eq!(
        answer.headers["www-authenticate"],
        "Basic realm=\"tokengate\", charset=\"UTF-8\""
    );
    assert_eq!(answer.headers["cache-control"], "no-store");
}

/// Counts store calls around the real in-memory stores.
#[derive(Default)]
struct Counting {
    key_reads: AtomicUsize,
    token_reads: AtomicUsize,
    writes: AtomicUsize,
    keys: MemoryKeyStore,
    tokens: MemoryTokenStore,
}

#[async_trait]
impl KeyReader for Counting {
    async fn get(&self, id: &KeyId) -> Result<Option<ClientKey>, StoreError> {
        self.key_reads.fetch_add(1, Ordering::SeqCst);
        self.keys.get(id).await
    }
}

#[async_trait]
impl tokengate_shared::FailureLog for Counting {
    async fn reserve_failure(
        &self,
        id: &KeyId,
        now: u64,
        limit: tokengate_shared::FailureLimit,
    ) -> Result<tokengate_shared::Reservation, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.keys.reserve_failure(id, now, limit).await
    }
}

#[async_trait]
impl tokengate_shared::SourceFailureLog for Counting {
    async fn reserve_source_failure(
        &self,
        source: &str,
        now: u64,
        limit: tokengate_shared::FailureLimit,
    ) -> Result<tokengate_shared::Reservation, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.tokens.reserve_source_failure(source, now, limit).await
    }
}

#[async_trait]
impl TokenStore for Counting {
    async fn put(&self, record: &TokenRecord) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.tokens.put(record).await
    }
    async fn get(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.token_reads.fetch_add(1, Ordering::SeqCst);
        self.tokens.get(hash).await
    }
    async fn revoke(&self, hash: &TokenHash, owner: &KeyId) -> Result<Revocation, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.tokens.revoke(hash, owner).await
    }
}

#[tokio::test]
async fn issuing_a_token_costs_exactly_one_read_and_one_write() {
    let store = Arc::new(Counting::default());
    store.keys.create(&fixture_key()).await.unwrap();
    let service = TokenService::new(store.clone(), store.clone(), 599);
    let response = handler::handle(&service, TestRequest::token().build())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let reads = store.key_reads.load(Ordering::SeqCst) + store.token_reads.load(Ordering::SeqCst);
    assert_eq!(reads, 1, "reads");
    assert_eq!(store.writes.load(Ordering::SeqCst), 1, "writes");
}

#[tokio::test]
async fn neither_secrets_nor_tokens_reach_the_logs() {
    let (logs, _guard) = LogCapture::start();

    let endpoint = Endpoint::new().await;
    let token = endpoint.issue_token().await;
    endpoint.send(TestRequest::introspect(&token).build()).await;
    endpoint
        .send(
            TestRequest::token()
                .set("Authorization", basic(KEY, "a-wrong-secret"))
                .build(),
        )
        .await;
    endpoint
        .send(
            TestRequest::token()
                .set("Authorization", basic("unknown-key", "another-secret"))
                .build(),
        )
        .await;
    // The standard routes, the credentials in the body: issued, refused, revoked.
    let posted = endpoint
        .send(TestRequest::standard().posted("").build())
        .await;
    let posted_token = posted.body["access_token"].as_str().unwrap().to_owned();
    let wrong_post = TestRequest::standard()
        .without("Authorization")
        .body(&format!(
            "grant_type=client_credentials&client_id={KEY}&client_secret=a-posted-wrong-secret"
        ));
    endpoint.send(wrong_post.build()).await;
    endpoint
        .send(TestRequest::revoke(&posted_token).posted("").build())
        .await;

    let logged = logs.text();
    assert!(
        logged.contains("token_issued"),
        "the log has its lines: {logged}"
    );
    assert!(logged.contains("authentication_failed"));
    assert!(logged.contains("token_revoked"));
    for needle in [
        SECRET,
        token.as_str(),
        posted_token.as_str(),
        "a-wrong-secret",
        "another-secret",
        "a-posted-wrong-secret",
        &TokenHash::of(&token).to_hex(),
        &TokenHash::of(&posted_token).to_hex(),
    ] {
        assert!(!logged.contains(needle), "{needle} leaked into: {logged}");
    }
}

/// A wrong secret for `KEY`, sent to the token endpoint.
fn wrong_secret() -> Request {
    a_wrong_secret().build()
}

fn a_wrong_secret() -> TestRequest {
    TestRequest::token().set("Authorization", basic(KEY, "a-wrong-secret"))
}

#[tokio::test]
async fn past_ten_wrong_secrets_failures_get_429_and_the_right_secret_still_gets_its_token() {
    let endpoint = Endpoint::new().await;
    endpoint
        .add_key(OTHER_KEY, "other-secret", &["d2ir1"])
        .await;
    for _ in 0..10 {
        assert_eq!(
            endpoint.send(wrong_secret()).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = endpoint.send(wrong_secret()).await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        throttled.body
    );
    assert_eq!(throttled.body["error"], "temporarily_unavailable");
    let retry_after: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry_after), "{retry_after}");
    assert_eq!(throttled.headers["cache-control"], "no-store");

    let token = endpoint.send(TestRequest::token().build()).await;
    assert_eq!(
        token.status,
        StatusCode::OK,
        "the right secret: {}",
        token.body
    );
    let token = token.body["access_token"].as_str().unwrap().to_owned();
    let introspection = endpoint.send(TestRequest::introspect(&token).build()).await;
    assert_eq!(introspection.body["active"], true, "introspection too");
    let revocation = endpoint.send(TestRequest::revoke(&token).build()).await;
    assert_eq!(revocation.status, StatusCode::OK, "and its own revocation");
    let other = endpoint
        .send(
            TestRequest::token()
                .set("Authorization", basic(OTHER_KEY, "other-secret"))
                .build(),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "another key is unaffected");
}

#[tokio::test]
async fn a_strangers_hundred_wrong_secrets_throttle_the_stranger_and_never_the_keys_owner() {
    let endpoint = Endpoint::new().await;
    let stranger = "198.51.100.66";
    let mut answers = Vec::new();
    for _ in 0..100 {
        answers.push(
            endpoint
                .send(a_wrong_secret().from(stranger).build())
                .await
                .status,
        );
    }
    assert_eq!(
        answers
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        10,
        "ten failures are answered, then the stranger is throttled"
    );
    assert!(
        answers[10..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS)
    );
    // Another key, guessed from the same address: the address itself is throttled.
    let elsewhere = TestRequest::token()
        .set("Authorization", basic(OTHER_KEY, "a-guess"))
        .from(stranger);
    assert_eq!(
        endpoint.send(elsewhere.build()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    for (request, what) in [
        (TestRequest::token(), "token"),
        (TestRequest::standard(), "token at /oauth2/token"),
        (TestRequest::introspect("x"), "introspection"),
        (TestRequest::revoke("x"), "revocation"),
    ] {
        let answer = endpoint.send(request.from("192.0.2.10").build()).await;
        assert_eq!(answer.status, StatusCode::OK, "{what}: {}", answer.body);
    }
    let same_address = endpoint
        .send(TestRequest::token().from(stranger).build())
        .await;
    assert_eq!(
        same_address.status,
        StatusCode::OK,
        "even from the throttled address, the right secret is not refused"
    );
}

#[tokio::test]
async fn sixty_concurrent_wrong_secrets_are_counted_exactly_against_a_limit_of_ten() {
    let endpoint = Endpoint::new().await;
    let service = &endpoint.service;
    let answers = futures_util::future::join_all(
        (0..60).map(|_| async { handler::handle(service, wrong_secret()).await.unwrap() }),
    )
    .await;
    let refused = answers
        .iter()
        .filter(|a| a.status() == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(refused, 10, "only ten guesses are ever answered 401");
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.status() == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        50
    );
}

#[tokio::test]
async fn fewer_failures_than_the_limit_leave_the_right_secret_working() {
    let endpoint = Endpoint::new().await;
    for _ in 0..9 {
        endpoint.send(wrong_secret()).await;
    }
    endpoint.issue_token().await;
}

#[tokio::test]
async fn once_the_window_closes_wrong_secrets_are_answered_401_again() {
    let endpoint = Endpoint::new().await;
    let service = TokenService::new(endpoint.keys.clone(), endpoint.tokens.clone(), 599)
        .with_throttle(Throttle {
            max_failures: 2,
            window_seconds: 1,
        });
    for _ in 0..2 {
        let answer = handler::handle(&service, wrong_secret()).await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = handler::handle(&service, wrong_secret()).await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "1");
    // Epoch seconds: the window that opened during second t closes at t + 1.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let again = handler::handle(&service, wrong_secret()).await.unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_wrong_secret_and_an_unknown_key_id_cost_the_same_one_read_and_one_write() {
    let store = Arc::new(Counting::default());
    store.keys.create(&fixture_key()).await.unwrap();
    let service = TokenService::new(store.clone(), store.clone(), 599);
    let response = handler::handle(&service, wrong_secret()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(store.key_reads.load(Ordering::SeqCst), 1, "reads");
    assert_eq!(
        store.writes.load(Ordering::SeqCst),
        1,
        "the failure, reserved"
    );
    let unknown = TestRequest::token()
        .set("Authorization", basic(&KeyId::generate().to_string(), "x"))
        .build();
    handler::handle(&service, unknown).await.unwrap();
    assert_eq!(store.key_reads.load(Ordering::SeqCst), 2, "reads");
    assert_eq!(
        store.writes.load(Ordering::SeqCst),
        2,
        "the same conditional write, which finds no key to count"
    );
    let right = handler::handle(&service, TestRequest::token().build())
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert_eq!(
        store.writes.load(Ordering::SeqCst),
        3,
        "success writes its token and counts nothing"
    );
}

#[tokio::test]
async fn any_oauth_client_gets_a_token_at_oauth2_token_with_basic_credentials_and_a_form_body_alone()
 {
    let endpoint = Endpoint::new().await;
    let answer = endpoint.send(TestRequest::standard().build()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.headers["cache-control"], "no-store");
    let token = answer.body["access_token"].as_str().unwrap();
    let record = endpoint.tokens.get(&TokenHash::of(token)).await.unwrap();
    let record = record.unwrap();
    assert_eq!((record.from_code, record.to_code), (None, None));
    assert_eq!(record.scope, "innreach_tp");
    // Introspection leaves out the codes the token was not issued for.
    let claims = endpoint.send(TestRequest::introspect(token).build()).await;
    assert_eq!(claims.body["active"], true);
    assert!(claims.body.get("from_code").is_none(), "{}", claims.body);
}

#[tokio::test]
async fn client_secret_post_gets_a_token_and_introspects_and_revokes_with_the_credentials_in_the_body()
 {
    let endpoint = Endpoint::new().await;
    let answer = endpoint
        .send(TestRequest::standard().posted("").build())
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let token = answer.body["access_token"].as_str().unwrap();
    let introspected = endpoint
        .send(TestRequest::introspect(token).posted("").build())
        .await;
    assert_eq!(introspected.body["active"], true, "{}", introspected.body);
    let revoked = endpoint
        .send(TestRequest::revoke(token).posted("").build())
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    let after = endpoint.send(TestRequest::introspect(token).build()).await;
    assert_eq!(after.body, json!({"active": false}));
}

#[tokio::test]
async fn the_inn_reach_headers_are_optional_at_oauth2_token_but_checked_when_sent() {
    let endpoint = Endpoint::new().await;
    endpoint.add_key(OTHER_KEY, SECRET, &["other"]).await;
    let with_codes = TestRequest::standard()
        .set("X-From-Code", "d2ir1")
        .set("X-To-Code", "abcde")
        .set("Accept", "application/json");
    let answer = endpoint.send(with_codes.build()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let token = answer.body["access_token"].as_str().unwrap();
    let claims = endpoint.send(TestRequest::introspect(token).build()).await;
    assert_eq!(claims.body["from_code"], "d2ir1");
    // A code the key is not valid for: it authenticated, so it is unauthorized_client.
    let not_its_code = TestRequest::standard()
        .set("Authorization", basic(OTHER_KEY, SECRET))
        .set("X-From-Code", "d2ir1");
    endpoint
        .send(not_its_code.build())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    for (name, bad) in [
        ("X-From-Code", "toolong"),
        ("X-To-Code", "a b"),
        ("X-Request-Creation-Time", "+12"),
        ("Accept", "text/html"),
    ] {
        let answer = endpoint
            .send(TestRequest::standard().set(name, bad).build())
            .await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
        let description = answer.body["error_description"].as_str().unwrap();
        assert!(description.contains(name), "{name}: {description}");
    }
}

#[tokio::test]
async fn scope_is_optional_at_oauth2_token_and_any_other_scope_is_invalid_scope() {
    let endpoint = Endpoint::new().await;
    for ok in [
        "grant_type=client_credentials",
        "grant_type=client_credentials&scope=innreach_tp",
    ] {
        let answer = endpoint
            .send(TestRequest::standard().body(ok).build())
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{ok}: {}", answer.body);
    }
    for bad in ["admin", "innreach_tp admin", "innreach_tp+admin"] {
        let body = format!("grant_type=client_credentials&scope={bad}");
        endpoint
            .send(TestRequest::standard().body(&body).build())
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
}

#[tokio::test]
async fn a_grant_type_other_than_client_credentials_is_unsupported_grant_type() {
    let endpoint = Endpoint::new().await;
    let password = TestRequest::standard().body("grant_type=password&username=a&password=b");
    endpoint
        .send(password.build())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let missing = TestRequest::standard().body("scope=innreach_tp");
    endpoint
        .send(missing.build())
        .await
        .assert_invalid_request("The grant_type parameter is required.");
}

#[tokio::test]
async fn the_standard_routes_answer_refused_or_missing_credentials_with_401_invalid_client() {
    let endpoint = Endpoint::new().await;
    let token = endpoint.issue_token().await;
    let cases = [
        TestRequest::standard().set("Authorization", basic(KEY, "wrong")),
        TestRequest::standard().without("Authorization"),
        TestRequest::standard()
            .without("Authorization")
            .body("grant_type=client_credentials&client_id=nobody&client_secret=x"),
        TestRequest::standard()
            .without("Authorization")
            .body(&format!("grant_type=client_credentials&client_id={KEY}")),
        TestRequest::introspect(&token).without("Authorization"),
        TestRequest::revoke(&token).without("Authorization"),
        TestRequest::revoke(&token).set("Authorization", basic(KEY, "wrong")),
    ];
    for request in cases {
        endpoint
            .send(request.build())
            .await
            .assert_client_authentication_failed();
    }
    // INN-Reach's path keeps its own answer.
    endpoint
        .send(
            TestRequest::token()
                .set("Authorization", basic(KEY, "wrong"))
                .build(),
        )
        .await
        .assert_authentication_failed();
}

#[tokio::test]
async fn both_client_authentication_methods_in_one_request_are_a_400_on_every_route() {
    let endpoint = Endpoint::new().await;
    let token = endpoint.issue_token().await;
    let both = |request: TestRequest| {
        let body = String::from_utf8(request.body.clone()).unwrap();
        request.body(&format!("{body}&client_id={KEY}&client_secret={SECRET}"))
    };
    let inn_reach = TestRequest::token()
        .query("")
        .set("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=innreach_tp");
    for request in [
        both(TestRequest::standard()),
        both(TestRequest::introspect(&token)),
        both(TestRequest::revoke(&token)),
        both(inn_reach),
    ] {
        endpoint.send(request.build()).await.assert_invalid_request(
            "Use one client authentication method: HTTP Basic, or client_id and client_secret in the body, not both.",
        );
    }
    let still_active = endpoint.send(TestRequest::introspect(&token).build()).await;
    assert_eq!(still_active.body["active"], true);
}

#[tokio::test]
async fn a_revoked_token_is_inactive_at_introspection_at_once() {
    let endpoint = Endpoint::new().await;
    let token = endpoint.issue_token().await;
    let answer = endpoint.send(TestRequest::revoke(&token).build()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let after = endpoint.send(TestRequest::introspect(&token).build()).await;
    assert_eq!(after.body, json!({"active": false}));
}

#[tokio::test]
async fn revoking_an_unknown_or_already_revoked_token_answers_200_and_a_hint_is_accepted() {
    let endpoint = Endpoint::new().await;
    let token = endpoint.issue_token().await;
    for body in [
        "token=never-issued".to_owned(),
        format!("token={token}&token_type_hint=access_token"),
        format!("token={token}&token_type_hint=refresh_token"),
    ] {
        let answer = endpoint
            .send(TestRequest::revoke("").body(&body).build())
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{body}: {}", answer.body);
    }
    let missing = TestRequest::revoke("").body("token_type_hint=access_token");
    endpoint
        .send(missing.build())
        .await
        .assert_invalid_request("The token parameter is required.");
}

#[tokio::test]
async fn revoking_another_clients_token_is_refused_and_leaves_it_active() {
    let endpoint = Endpoint::new().await;
    endpoint.add_key(OTHER_KEY, SECRET, &["d2ir1"]).await;
    let token = endpoint.issue_token().await;
    let by_other = TestRequest::revoke(&token).set("Authorization", basic(OTHER_KEY, SECRET));
    endpoint
        .send(by_other.build())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    let after = endpoint.send(TestRequest::introspect(&token).build()).await;
    assert_eq!(after.body["active"], true);
}

#[tokio::test]
async fn revoking_every_token_of_a_key_makes_them_inactive_and_later_ones_are_not() {
    let endpoint = Endpoint::new().await;
    let token = endpoint.issue_token().await;
    let id = KeyId::parse(KEY).unwrap();
    let now = clock::now_epoch_seconds();
    endpoint.keys.revoke_tokens(&id, now).await.unwrap();
    let after = endpoint.send(TestRequest::introspect(&token).build()).await;
    assert_eq!(after.body, json!({"active": false}));
    // A token issued after the revocation's second is active.
    let later = TokenRecord {
        hash: TokenHash::of("later"),
        key_id: id,
        from_code: None,
        to_code: None,
        scope: "innreach_tp".into(),
        audiences: Default::default(),
        issued_at: now + 1,
        expires_at: now + 600,
    };
    endpoint.tokens.put(&later).await.unwrap();
    let answer = endpoint
        .send(TestRequest::introspect("later").build())
        .await;
    assert_eq!(answer.body["active"], true);
}

#[tokio::test]
async fn revocation_costs_one_key_read_and_one_conditional_write() {
    let store = Arc::new(Counting::default());
    store.keys.create(&fixture_key()).await.unwrap();
    let service = TokenService::new(store.clone(), store.clone(), 599);
    let answer = handler::handle(&service, TestRequest::revoke("some-token").build())
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(store.key_reads.load(Ordering::SeqCst), 1, "key reads");
    assert_eq!(store.token_reads.load(Ordering::SeqCst), 0, "token reads");
    assert_eq!(store.writes.load(Ordering::SeqCst), 1, "writes");
}

#[tokio::test]
async fn a_throttled_key_still_revokes_and_introspects_with_its_right_secret() {
    let keys = Arc::new(MemoryKeyStore::new());
    keys.create(&fixture_key()).await.unwrap();
    let service =
        TokenService::new(keys, Arc::new(MemoryTokenStore::new()), 599).with_throttle(Throttle {
            max_failures: 1,
            window_seconds: 60,
        });
    let wrong = TestRequest::revoke("t").set("Authorization", basic(KEY, "wrong"));
    handler::handle(&service, wrong.clone().build())
        .await
        .unwrap();
    let again = handler::handle(&service, wrong.build()).await.unwrap();
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(again.headers().contains_key("retry-after"));
    for request in [TestRequest::revoke("t"), TestRequest::introspect("t")] {
        let answer = handler::handle(&service, request.build()).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn the_metadata_document_lists_every_endpoint_under_the_configured_issuer() {
    let endpoint = Endpoint::new().await;
    let scopes = ["innreach_tp", "orders.read"]
        .map(|s| tokengate_shared::Scope::parse(s).unwrap())
        .to_vec();
    let service = TokenService::new(endpoint.keys.clone(), endpoint.tokens.clone(), 599)
        .with_issuer(Some("https://auth.example.com/prod".into()))
        .with_scopes_supported(scopes);
    let request = TestRequest::standard()
        .method("GET")
        .path("/.well-known/oauth-authorization-server")
        .without("Authorization")
        .body("");
    let response = handler::handle(&service, request.build()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let Body::Text(text) = response.body() else {
        panic!("a JSON text body")
    };
    let document: Value = serde_json::from_str(text).unwrap();
    let methods = json!(["client_secret_basic", "client_secret_post"]);
    assert_eq!(
        document,
        json!({
            "issuer": "https://auth.example.com/prod",
            "token_endpoint": "https://auth.example.com/prod/oauth2/token",
            "introspection_endpoint": "https://auth.example.com/prod/oauth2/introspect",
            "revocation_endpoint": "https://auth.example.com/prod/oauth2/revoke",
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": methods,
            "introspection_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_methods_supported": methods,
            "scopes_supported": ["innreach_tp", "orders.read"],
        })
    );
    // Without SCOPES_SUPPORTED the member is left out: the scopes are the clients', and the
    // table is never scanned for them.
    let plain = TokenService::new(endpoint.keys.clone(), endpoint.tokens.clone(), 599)
        .with_issuer(Some("https://auth.example.com/prod".into()));
    let request = TestRequest::standard()
        .method("GET")
        .path("/.well-known/oauth-authorization-server")
        .without("Authorization")
        .body("");
    let response = handler::handle(&plain, request.build()).await.unwrap();
    let Body::Text(text) = response.body() else {
        panic!("a JSON text body")
    };
    let document: Value = serde_json::from_str(text).unwrap();
    assert!(document.get("scopes_supported").is_none(), "{document}");
}

#[tokio::test]
async fn without_issuer_url_the_issuer_is_the_contexts_domain_and_stage_never_the_clients_host() {
    let endpoint = Endpoint::new().await;
    let event = include_str!("../events/token-request-rest-api.json")
        .replace(
            "/innreach/v2/oauth2/token",
            "/.well-known/oauth-authorization-server",
        )
        .replace("\"POST\"", "\"GET\"")
        .replace(
            "\"Host\": \"abc123.execute-api.us-east-1.amazonaws.com\"",
            "\"Host\": \"evil.example\", \"X-Forwarded-Proto\": \"http\"",
        )
        .replace(
            "\"Host\": [\"abc123.execute-api.us-east-1.amazonaws.com\"]",
            "\"Host\": [\"evil.example\"], \"X-Forwarded-Proto\": [\"http\"]",
        );
    let request = lambda_http::request::from_str(&event).unwrap();
    let host = "abc123.execute-api.us-east-1.amazonaws.com";
    let answer = endpoint.send(request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["issuer"], format!("https://{host}/prod"));
    assert_eq!(
        answer.headers["cache-control"], "no-store",
        "a derived issuer is kept by no shared cache"
    );
    assert_eq!(
        answer.body["token_endpoint"],
        format!("https://{host}/prod/oauth2/token")
    );
    let no_context = TestRequest::standard()
        .method("GET")
        .path("/.well-known/oauth-authorization-server")
        .without("Authorization")
        .body("");
    let unknown = endpoint.send(no_context.build()).await;
    assert_eq!(unknown.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        unknown.body["error_description"]
            .as_str()
            .unwrap()
            .contains("ISSUER_URL")
    );
    let post = TestRequest::standard().path("/.well-known/oauth-authorization-server");
    let refused = endpoint.send(post.build()).await;
    assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(refused.headers["allow"], "GET");
}

#[tokio::test]
async fn client_credentials_in_the_query_string_are_a_400_at_every_standard_route() {
    let endpoint = Endpoint::new().await;
    for request in [
        TestRequest::standard()
            .without("Authorization")
            .query(&format!("client_id={KEY}&client_secret={SECRET}")),
        TestRequest::standard()
            .without("Authorization")
            .body("")
            .without("Content-Type")
            .query(&format!(
                "grant_type=client_credentials&client_id={KEY}&client_secret={SECRET}"
            )),
        TestRequest::standard().query("client_secret=x"),
        TestRequest::introspect("t").query(&format!("client_secret={SECRET}")),
        TestRequest::revoke("t").query(&format!("client_id={KEY}")),
    ] {
        let answer = endpoint.send(request.build()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        assert_eq!(answer.body["error"], "invalid_request");
        let description = answer.body["error_description"].as_str().unwrap();
        assert!(
            description.contains("never in the URL's query string"),
            "{description}"
        );
        assert!(!description.contains(SECRET));
    }
}
