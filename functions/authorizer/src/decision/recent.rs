//! `revocation_lag_seconds` above 0: the token and key records this execution environment
//! read, each kept at most that long, so that one environment reads one item at most once
//! per lag whatever its traffic. A revocation then takes effect within the lag. Only what
//! was found is kept: an unknown token or key is asked for again each time.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokengate_shared::{ClientKey, KeyId, KeyReader, StoreError, TokenAndKeys, TokenHash};
use tokengate_shared::{TokenLookup, TokenRecord};

use crate::moment::Moment;

/// Records kept per kind: far above one environment's working set, and a bound on memory.
const MAX_RECORDS: usize = 10_000;

/// Records by id, each with the moment it was read. A plain map: a second cache crate's
/// code for two more record types would cost the binary a quarter of a megabyte.
struct Kept<K, V> {
    lag: Duration,
    records: Mutex<HashMap<K, (V, Moment)>>,
}

impl<K: Hash + Eq, V: Clone> Kept<K, V> {
    fn new(lag: Duration) -> Self {
        Self {
            lag,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// The record, if it was read less than the lag before `now`.
    fn get(&self, id: &K, now: Moment) -> Option<V> {
        let records = self.records.lock().ok()?;
        let (record, at) = records.get(id)?;
        fresh(*at, now, self.lag).then(|| record.clone())
    }

    /// Keeps `record`, read at `now`; when full, the stale go first, then all.
    fn insert(&self, id: K, record: V, now: Moment) {
        let Ok(mut records) = self.records.lock() else {
            return;
        };
        if records.len() >= MAX_RECORDS {
            records.retain(|_, (_, at)| fresh(*at, now, self.lag));
            if records.len() >= MAX_RECORDS {
                records.clear();
            }
        }
        records.insert(id, (record, now));
    }
}

fn fresh(read_at: Moment, now: Moment, lag: Duration) -> bool {
    now.instant().saturating_duration_since(read_at.instant()) < lag
}

/// The records read, with when; with a lag of 0, nothing is kept.
pub(super) struct RecentReads {
    tokens: Option<Kept<TokenHash, TokenRecord>>,
    keys: Option<Kept<KeyId, ClientKey>>,
}

impl RecentReads {
    /// Records kept for `lag_seconds` (0: read on every decision).
    pub(super) fn new(lag_seconds: u64) -> Self {
        let lag = Duration::from_secs(lag_seconds);
        let kept = lag_seconds > 0;
        Self {
            tokens: kept.then(|| Kept::new(lag)),
            keys: kept.then(|| Kept::new(lag)),
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
        let kept_token = tokens.get(token, now);
        let mut found = TokenAndKeys::default();
        let mut stale = Vec::new();
        for id in ids {
            match keys.get(id, now) {
                Some(key) => found.keys.push(key),
                None => stale.push(id.clone()),
            }
        }
        if let (Some(record), true) = (kept_token, stale.is_empty()) {
            found.token = Some(record);
            return Ok(found);
        }
        let read = lookup.token_and_keys(token, &stale).await?;
        if let Some(record) = &read.token {
            tokens.insert(*token, record.clone(), now);
        }
        for key in &read.keys {
            keys.insert(key.id.clone(), key.clone(), now);
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
        if let Some(key) = keys.get(id, now) {
            return Ok(Some(key));
        }
        let read = reader.get(id).await?;
        if let Some(key) = &read {
            keys.insert(id.clone(), key.clone(), now);
        }
        Ok(read)
    }
}
