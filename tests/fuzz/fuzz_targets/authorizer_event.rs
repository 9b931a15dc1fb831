//! Any bytes as an authorizer event, decided against an in-memory key store holding the
//! fixtures' key and a validation endpoint that always answers the same JSON: a decision
//! and an answer, or a refused event, never a panic.
#![no_main]

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use authorizer::apigw::AuthorizerEvent;
use authorizer::endpoint::{
    ContentKind, EndpointResponse, NoResponse, ValidationCall, ValidationEndpoint,
};
use authorizer::{Authorizer, Moment, PreInputs, handler};
use libfuzzer_sys::fuzz_target;

#[path = "support.rs"]
mod support;
use reqwest::Url;

/// Always the same 200: the decision's code past the call is what is fuzzed.
struct FixedEndpoint;

#[async_trait]
impl ValidationEndpoint for FixedEndpoint {
    async fn call(
        &self,
        _endpoint: &Url,
        _call: ValidationCall<'_>,
    ) -> Result<EndpointResponse, NoResponse> {
        Ok(EndpointResponse {
            status: 200,
            content: ContentKind::Json,
            body: br#"{"active": true, "sub": "u-1", "email": "a@fr.example", "scope": "read", "exp": 4102444800}"#.to_vec(),
            max_age: None,
        })
    }
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    authorizer: Authorizer,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let (runtime, keys) = support::runtime_and_keys();
        let pre_inputs = PreInputs::parse(
            r#"{"token_validation_uri": {"regionCodeHeader": "X-Region-Code",
                  "regionCodeValue": {"FR": "http://127.0.0.1:9/fr"}, "defaultURI": "http://127.0.0.1:9/"},
                "inject_headers": {"FR": {"X-User-Email": "$.email"}, "default": {"X-User-Id": "$.sub", "X-Scope": "$.scope"}},
                "cache": {"ttl_seconds": 0}}"#,
        );
        Harness {
            runtime,
            authorizer: Authorizer::new(pre_inputs, keys, Arc::new(FixedEndpoint)),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(event) = AuthorizerEvent::from_slice(data) else {
        return;
    };
    let harness = harness();
    let (decision, answer) =
        harness
            .runtime
            .block_on(handler::decide(&harness.authorizer, &event, Moment::now()));
    let text = serde_json::to_string(&answer).expect("an answer serializes");
    assert_eq!(
        decision.is_allow(),
        text.contains("\"Allow\"") || text.contains("\"isAuthorized\":true")
    );
});
