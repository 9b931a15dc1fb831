//! Any bytes as the bearer token of a request to a `jwt`-style authorizer whose key set is
//! `tests/fuzz/jwks.json` (public keys only: their private halves were thrown away once the
//! seeds were signed). The seeds are expired tokens those keys signed, so a mutation either
//! breaks the signature or keeps the expiry: every decision is a Deny, never a panic.
#![no_main]

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use authorizer::apigw::AuthorizerEvent;
use authorizer::endpoint::{EndpointResponse, NoResponse, ValidationCall, ValidationEndpoint};
use authorizer::{Authorizer, Moment, PreInputs, handler};
use libfuzzer_sys::fuzz_target;

#[path = "support.rs"]
mod support;
use reqwest::Url;
use tokengate_tests::fixtures::FIXTURE_KEY;

/// The JWKS endpoint is down: the keys come from the file alone.
struct DownEndpoint;

#[async_trait]
impl ValidationEndpoint for DownEndpoint {
    async fn call(
        &self,
        _endpoint: &Url,
        _call: ValidationCall<'_>,
    ) -> Result<EndpointResponse, NoResponse> {
        Err(NoResponse("down".into()))
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
        let jwks = concat!(env!("CARGO_MANIFEST_DIR"), "/jwks.json");
        let pre_inputs = PreInputs::parse(&format!(
            r#"{{"token_validation_uri": {{"defaultURI": "http://127.0.0.1:9/jwks"}},
                "validation": {{"style": "jwt", "issuer": "https://idp.example/", "audience": "api://orders",
                  "required_scopes": ["orders.read"], "leeway_seconds": 300, "jwks_file": "{jwks}"}},
                "inject_headers": {{"X-User-Id": "$.sub", "X-Client-Id": "$.client_id"}},
                "cache": {{"ttl_seconds": 0}}}}"#
        ));
        assert!(pre_inputs.is_ok(), "{:?}", pre_inputs.err());
        Harness {
            runtime,
            authorizer: Authorizer::new(pre_inputs, keys, Arc::new(DownEndpoint)),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let authorization = format!("Bearer {token}");
    let Ok(event) = AuthorizerEvent::from_value(&serde_json::json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders",
        "headers": {"X-Api-Key": FIXTURE_KEY, "Authorization": authorization},
    })) else {
        return;
    };
    let harness = harness();
    let (decision, _) =
        harness
            .runtime
            .block_on(handler::decide(&harness.authorizer, &event, Moment::now()));
    assert!(!decision.is_allow(), "no token is forged: {decision:?}");
});
