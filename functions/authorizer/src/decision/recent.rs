//! `revocation_lag_seconds` above 0: the token and key records this execution environment
//! read, each kept at most that long, so that one environment reads one item at most once
//! per lag whatever its traffic. A revocation then takes effect within the lag. Only what
//! was found is kept: an unknown token or key is asked for again each time.

use std::time::Duration;

use moka::sync::Cache;
use tokengate_shared::{ClientKey, KeyId, KeyReader, StoreError, TokenAndKeys, TokenHash};
use tokengate_shared::{TokenLookup, TokenRecord};

use crate::moment::Moment;

/// Records kept per kind: far above one environment's working set, and a bound on memory.
const MAX_RECORDS: u64 = 10_000;

/// The records read, with when; with a lag of 0, nothing is kept.
pub(super) struct RecentReads {
    lag: Duration,
    tokens: Option<Cache<TokenHash, (TokenRecord, Moment)>>,
    keys: Option<Cache<KeyId, (ClientKey, Moment)>>,
}

impl RecentReads {
    /// Records kept for `lag_seconds` (0: read on every decision).
    pub(super) fn new(lag_seconds: u64) -> Self {
        let kept = lag_seconds > 0;
        Self {
            lag: Duration::from_secs(lag_seconds),
            tokens: kept.then(|| Cache::new(MAX_RECORDS)),
            keys: kept.then(|| Cache::new(MAX_RECORDS)),
        }
    }

    /// The token and these keys: from what was read within the lag when all of them are,
    /// else in one read of the token and those that are not.
    pub(super) async fn token_and_keys(
        &self,
        lookup: &dyn TokenLookup,
        token: &TokenHash,
        ids: &[KeyId],
        now: Moment,
    ) -> Result<TokenAndKeys, StoreError> {
        let (Some(tokens), Some(keys)) = (&self.tokens, &self.keys) else {
            return lookup.token_and_keys(token, ids).await;
        };
        let kept_token = tokens.get(token).filter(|(_, at)| self.fresh(*at, now));
        let mut found = TokenAndKeys::default();
        let mut stale = Vec::new();
        for id in ids {
            match keys.get(id).filter(|(_, at)| self.fresh(*at, now)) {
                Some((key, _)) => found.keys.push(key),
                None => stale.push(id.clone()),
            }
        }
        if let (Some((record, _)), true) = (kept_token, stale.is_empty()) {
            found.token = Some(record);
            return Ok(found);
        }
        let read = lookup.token_and_keys(token, &stale).await?;
        if let Some(record) = &read.token {
            tokens.insert(*token, (record.clone(), now));
        }
        for key in &read.keys {
            keys.insert(key.id.clone(), (key.clone(), now));
        }
        found.token = read.token;
        found.keys.extend(read.keys);
        Ok(found)
    }

    /// One key: as read within the lag, else read now.
    pub(super) async fn key(
        &self,
        reader: &dyn KeyReader,
        id: &KeyId,
        now: Moment,
    ) -> Result<Option<ClientKey>, StoreError> {
        let Some(keys) = &self.keys else {
            return reader.get(id).await;
        };
        if let Some((key, _)) = keys.get(id).filter(|(_, at)| self.fresh(*at, now)) {
            return Ok(Some(key));
        }
        let read = reader.get(id).await?;
        if let Some(key) = &read {
            keys.insert(id.clone(), (key.clone(), now));
        }
        Ok(read)
    }

    fn fresh(&self, read_at: Moment, now: Moment) -> bool {
        now.instant().saturating_duration_since(read_at.instant()) < self.lag
    }
}
