//! API Gateway's authorizer cache, emulated (`--authorizer-cache-ttl`): answers kept by
//! the values of the identity sources `tokengate api render` renders (`Authorization`, the
//! API key header, the region header), never by route, and reused for any route until
//! they expire. A request missing a source is refused before the authorizer, as API
//! Gateway refuses it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use authorizer::apigw::AuthorizerAnswer;
use axum::http::HeaderMap;

/// The most answers kept; past it, the expired go, and then all.
const MAX_ENTRIES: usize = 10_000;

pub(super) struct AuthorizerCache {
    ttl: Duration,
    sources: Vec<String>,
    entries: Mutex<HashMap<Vec<String>, Kept>>,
}

/// An answer, and when it was kept.
type Kept = (Instant, Arc<AuthorizerAnswer>);

impl AuthorizerCache {
    /// A cache keyed by these header names, keeping answers `ttl`.
    pub(super) fn new(ttl: Duration, sources: Vec<String>) -> Self {
        Self {
            ttl,
            sources,
            entries: Mutex::default(),
        }
    }

    /// The cache key: every identity source's values, or `None` when one is missing or
    /// empty (API Gateway's 401 `IdentityNotPresentInRequest`).
    pub(super) fn key(&self, headers: &HeaderMap) -> Option<Vec<String>> {
        self.sources
            .iter()
            .map(|name| {
                let values: Vec<&[u8]> =
                    headers.get_all(name).iter().map(|v| v.as_bytes()).collect();
                let joined = values.join(&b","[..]);
                (!joined.is_empty()).then(|| String::from_utf8_lossy(&joined).into_owned())
            })
            .collect()
    }

    /// The answer kept for `key`, while it lives.
    pub(super) fn get(&self, key: &[String]) -> Option<Arc<AuthorizerAnswer>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, answer)| answer.clone())
    }

    /// Keeps `answer` for `key`.
    pub(super) fn put(&self, key: Vec<String>, answer: Arc<AuthorizerAnswer>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), answer));
    }
}
