//! Any bytes as a request to token-issuer's handler (both token routes, introspection,
//! revocation, metadata and unknown routes), with in-memory stores: a JSON answer, never a
//! panic.
//!
//! The input is request text: the first line a path and query, then `Name: value` header
//! lines, a blank line, and the body. It is built into the request directly, not through
//! lambda_http's event conversion, which panics on some URIs (see DEVELOP.md, "Fuzzing").
#![no_main]

use std::sync::{Arc, OnceLock};

use lambda_http::Body;
use lambda_http::http::{HeaderName, HeaderValue, Request};
use libfuzzer_sys::fuzz_target;

#[path = "support.rs"]
mod support;
use token_issuer::{TokenService, handler};
use tokengate_shared::store::memory::MemoryTokenStore;

struct Harness {
    runtime: tokio::runtime::Runtime,
    service: TokenService,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let (runtime, keys) = support::runtime_and_keys();
        let service = TokenService::new(keys, Arc::new(MemoryTokenStore::new()), 599);
        Harness { runtime, service }
    })
}

/// The request the text describes, or `None` when its first line is no URI.
fn request(data: &[u8]) -> Option<lambda_http::Request> {
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let mut builder = Request::builder().method("POST").uri(lines.next()?);
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            )
        {
            builder = builder.header(name, value);
        }
    }
    let body = if body.is_empty() {
        Body::Empty
    } else {
        Body::Text(body.to_owned())
    };
    builder.body(body).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = request(data) else {
        return;
    };
    let harness = harness();
    let Ok(response) = harness
        .runtime
        .block_on(handler::handle(&harness.service, request));
    let Body::Text(body) = response.body() else {
        panic!("every answer is JSON text");
    };
    serde_json::from_str::<serde_json::Value>(body).expect("every answer is JSON");
});
