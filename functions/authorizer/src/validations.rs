//! The validation cache: what a validated token came to, kept under a hash of the token
//! and where it was validated, and re-checked on every hit. An entry is used only before
//! its own expiry, judged by the decision's [`Moment`]; the cache's own eviction bounds
//! its memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use tokengate_shared::KeyId;

use crate::check::Claims;
use crate::injection::InjectedHeader;
use crate::moment::Moment;
use crate::pre_inputs::CacheSettings;

/// What the cache keeps for a validated token: the injected headers and the claims to
/// re-check on every hit.
#[derive(Debug, Clone)]
pub(crate) struct Validated {
    pub(crate) headers: Vec<InjectedHeader>,
    pub(crate) dropped: Vec<String>,
    pub(crate) claims: Claims,
    /// `tokengate` style: the key the token was issued to, which never changes.
    pub(crate) owner: Option<KeyId>,
    /// How long it may be kept, from `created`.
    ttl: Duration,
    created: Instant,
}

impl Validated {
    /// A result validated at `now`, to be kept for at most `ttl`, and never past `exp`.
    pub(crate) fn new(
        headers: Vec<InjectedHeader>,
        dropped: Vec<String>,
        claims: Claims,
        owner: Option<KeyId>,
        (ttl, exp): (Duration, Option<u64>),
        now: Moment,
    ) -> Self {
        let ttl = exp.map_or(ttl, |exp| {
            ttl.min(Duration::from_secs(exp.saturating_sub(now.epoch_seconds())))
        });
        Self {
            headers,
            dropped,
            claims,
            owner,
            ttl,
            created: now.instant(),
        }
    }

    fn fresh_at(&self, now: Moment) -> bool {
        now.instant().saturating_duration_since(self.created) < self.ttl
    }
}

struct PerEntryTtl;

impl Expiry<[u8; 32], Arc<Validated>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Validated>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The cache, when `cache.ttl_seconds` is not zero.
pub(crate) struct Validations(Option<Cache<[u8; 32], Arc<Validated>>>);

impl Validations {
    pub(crate) fn new(settings: Option<CacheSettings>) -> Self {
        Self(settings.filter(|c| !c.ttl.is_zero()).map(|c| {
            Cache::builder()
                .max_capacity(c.max_entries)
                .expire_after(PerEntryTtl)
                .build()
        }))
    }

    /// The entry for `key` while it is fresh at `now`, counted as a hit or a miss when the
    /// cache is on.
    pub(crate) fn get(&self, key: &[u8; 32], now: Moment) -> Option<Arc<Validated>> {
        let cache = self.0.as_ref()?;
        let hit = cache.get(key).filter(|hit| hit.fresh_at(now));
        crate::metrics::cache(hit.is_some());
        hit
    }

    /// Keeps a result, unless it may not be kept at all.
    pub(crate) fn insert(&self, key: [u8; 32], validated: &Arc<Validated>) {
        if let Some(cache) = self.0.as_ref().filter(|_| !validated.ttl.is_zero()) {
            cache.insert(key, validated.clone());
        }
    }

    /// Forgets a result that no longer holds.
    pub(crate) fn invalidate(&self, key: &[u8; 32]) {
        if let Some(cache) = &self.0 {
            cache.invalidate(key);
        }
    }
}

/// The cache key's stand-in for a validation URI in the `tokengate` style.
pub(crate) const TOKENGATE_CACHE: &str = "tokengate:";

/// A hash of the token and where it was validated: the raw token is never a cache key.
pub(crate) fn cache_key(authorization: &str, endpoint: &str, injection_set: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [authorization, endpoint, injection_set] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Url;

    #[test]
    fn cache_keys_differ_by_token_endpoint_and_injection_set_and_hide_the_token() {
        let a = Url::parse("https://a.example/introspect").unwrap();
        let b = Url::parse("https://b.example/introspect").unwrap();
        let (a, b) = (a.as_str(), b.as_str());
        let key = cache_key("Bearer t1", a, "default");
        assert_ne!(key, cache_key("Bearer t2", a, "default"));
        assert_ne!(key, cache_key("Bearer t1", b, "default"));
        assert_ne!(key, cache_key("Bearer t1", a, "FR"));
        assert_eq!(key, cache_key("Bearer t1", a, "default"));
        assert_ne!(key, cache_key("Bearer t1", TOKENGATE_CACHE, "default"));
    }
}
