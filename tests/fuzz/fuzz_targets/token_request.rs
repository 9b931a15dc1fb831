//! Any bytes as an API Gateway event to the token endpoint (token, introspection and
//! unknown routes), with in-memory stores: a JSON answer, never a panic.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use token_issuer::{TokenService, handler};
use tokengate_shared::store::memory::{MemoryKeyStore, MemoryTokenStore};
use tokengate_shared::KeyAdmin;
use tokengate_tests::fixtures::fixture_key;

struct Harness {
    runtime: tokio::runtime::Runtime,
    service: TokenService,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let keys = Arc::new(MemoryKeyStore::new());
        runtime
            .block_on(keys.create(&fixture_key()))
            .expect("the key is stored");
        let service = TokenService::new(keys, Arc::new(MemoryTokenStore::new()), 599);
        Harness { runtime, service }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(request) = lambda_http::request::from_str(text) else {
        return;
    };
    let harness = harness();
    let Ok(response) = harness
        .runtime
        .block_on(handler::handle(&harness.service, request));
    let lambda_http::Body::Text(body) = response.body() else {
        panic!("every answer is JSON text");
    };
    serde_json::from_str::<serde_json::Value>(body).expect("every answer is JSON");
});
