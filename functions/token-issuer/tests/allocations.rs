//! Heap allocations per token request, counted by dhat: a count, unlike a time, is the same
//! on every run and every machine, so a test may hold it. The figures are printed:
//! `cargo nextest run --workspace --release -E 'binary(allocations)' --no-capture`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use lambda_http::{Body, Request};
use token_issuer::{TokenService, handler};
use tokengate_shared::store::memory::{MemoryKeyStore, MemoryTokenStore};
use tokengate_shared::{Audience, ClientKey, Grants, KeyAdmin, Scope};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn posted(body: String) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/oauth2/token")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::Text(body))
        .unwrap()
}

/// Issue 24: a client's scopes and audiences cost little beyond the plain request. Before
/// the form parser borrowed its parameters, the plain request took 40 allocations and this
/// one 52; today 22 and 28.
#[test]
fn a_token_for_three_scopes_and_an_audience_allocates_at_most_eight_blocks_more_than_a_plain_one() {
    let requests = 200;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (plain, plain_secret) = ClientKey::generate(BTreeSet::new(), None, 1);
    let (mut scoped, scoped_secret) = ClientKey::generate(BTreeSet::new(), None, 1);
    scoped.grants = Grants {
        scopes: ["orders.read", "orders.write", "reports.read"]
            .iter()
            .map(|s| Scope::parse(s).unwrap())
            .collect(),
        audiences: [Audience::parse("https://api.example.com").unwrap()].into(),
        token_ttl: None,
        token_format: None,
        plan: None,
    }
    .into();
    let keys = Arc::new(MemoryKeyStore::new());
    runtime.block_on(keys.create(&plain)).unwrap();
    runtime.block_on(keys.create(&scoped)).unwrap();
    let service = TokenService::new(keys, Arc::new(MemoryTokenStore::new()), 599);
    let cases = [
        (
            "client_secret_post",
            posted(format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                plain.id,
                plain_secret.expose()
            )),
        ),
        (
            "three_scopes_and_an_audience",
            posted(format!(
                "grant_type=client_credentials&client_id={}&client_secret={}&scope=orders.read%20orders.write%20reports.read&resource=https%3A%2F%2Fapi.example.com",
                scoped.id,
                scoped_secret.expose()
            )),
        ),
    ];
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut per_request = Vec::new();
    for (name, request) in cases {
        let before = dhat::HeapStats::get();
        for _ in 0..requests {
            let answer = runtime.block_on(handler::handle(&service, request.clone()));
            assert_eq!(answer.unwrap().status(), 200);
        }
        let after = dhat::HeapStats::get();
        let blocks = (after.total_blocks - before.total_blocks) / requests;
        let bytes = (after.total_bytes - before.total_bytes) / requests;
        println!("{name}: {blocks} allocations, {bytes} bytes per request (its clone included)");
        per_request.push(blocks);
    }
    assert!(
        per_request[1] <= per_request[0] + 8,
        "three scopes and an audience: {} allocations, the plain request {}",
        per_request[1],
        per_request[0]
    );
}
