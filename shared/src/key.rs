//! Client keys: who may ask for tokens, with which secret, on behalf of which systems.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use crate::code::SystemCode;
use crate::grants::Grants;
use crate::secret::{Secret, SecretHash};

/// A client key's identifier, the user-id half of HTTP Basic credentials.
///
/// tokengate generates UUIDs; any 1 to 128 visible ASCII characters are accepted so keys
/// provisioned elsewhere can be imported.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct KeyId(String);

/// Why a string is not a [`KeyId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key id is 1 to 128 visible ASCII characters")]
pub struct InvalidKeyId;

impl KeyId {
    /// The longest key id accepted.
    pub const MAX_LEN: usize = 128;

    /// A new random key id (a UUID, as INN-Reach keys are).
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// Parses a key id, rejecting empty, over-long or non-printable ones before they reach
    /// a store.
    pub fn parse(value: &str) -> Result<Self, InvalidKeyId> {
        let printable = value.bytes().all(|b| b.is_ascii_graphic());
        if !value.is_empty() && value.len() <= Self::MAX_LEN && printable {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidKeyId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a key may be used.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyStatus {
    /// The key authenticates.
    Active,
    /// The key is kept but authenticates nothing, and tokens it issued stop introspecting
    /// as active.
    Disabled,
}

impl KeyStatus {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// A client key as stored: never the secret, only its hash.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ClientKey {
    /// The key id.
    pub id: KeyId,
    /// The salted hash of the key's secret.
    pub secret_hash: SecretHash,
    /// The `X-From-Code` systems this key may request tokens for.
    pub codes: BTreeSet<SystemCode>,
    /// Whether the key may be used.
    pub status: KeyStatus,
    /// When the key was created, epoch seconds.
    pub created_at: u64,
    /// When the key's secret or status last changed, epoch seconds.
    pub updated_at: u64,
    /// A free-text note for operators.
    pub description: Option<String>,
    /// Failed authentications in the current window, for brute-force throttling.
    pub failures: FailedAttempts,
    /// Every token this key was issued at or before this time (epoch seconds) is revoked:
    /// `tokengate tokens revoke --key`. 0 when never used.
    pub tokens_revoked_at: u64,
    /// The scopes, audiences and token lifetime it may be granted; shared, so that reading a
    /// key from memory does not copy them.
    pub grants: Arc<Grants>,
}

/// Failed authentications of a key: how many, since when. Kept in the key's own record,
/// which authentication reads anyway, and written only on a failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailedAttempts {
    /// Failures since `since`.
    pub count: u64,
    /// When the window opened (the first failure in it), epoch seconds.
    pub since: u64,
}

impl FailedAttempts {
    /// The seconds until the key may authenticate again, when `max` failures fell within
    /// the `window` that is still open at `now`; `None` when it is not throttled.
    pub fn throttled_for(&self, now: u64, max: u64, window: u64) -> Option<u64> {
        let closes = self.since.saturating_add(window);
        (self.count >= max && now < closes).then(|| closes - now)
    }

    /// One more failure at `now`, within `limit`: the attempts counted in the open window
    /// (or as the first of a new one), or, when the window already holds `limit.max`, the
    /// seconds until it closes.
    pub fn reserve(&self, now: u64, limit: FailureLimit) -> Result<Self, u64> {
        if let Some(retry_after) = self.throttled_for(now, limit.max, limit.window) {
            return Err(retry_after);
        }
        if self.count > 0 && now < self.since.saturating_add(limit.window) {
            Ok(Self {
                count: self.count + 1,
                since: self.since,
            })
        } else {
            Ok(Self {
                count: 1,
                since: now,
            })
        }
    }
}

/// At most `max` failed authentications in a window of `window` seconds, opened by the
/// first: `TOKEN_MAX_FAILURES` and `TOKEN_FAILURE_WINDOW_SECONDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    /// Failures allowed in one window.
    pub max: u64,
    /// The window's length, in seconds.
    pub window: u64,
}

/// What reserving one failed attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted: the window had room (or nothing was there to count).
    Counted,
    /// The window is full: no more failures until it closes.
    Throttled {
        /// Seconds until the window closes.
        retry_after: u64,
    },
}

impl ClientKey {
    /// The longest description accepted.
    pub const MAX_DESCRIPTION_LEN: usize = 1024;

    /// A new active key with a fresh id and secret. The secret is returned once, here, and
    /// the key keeps only its hash.
    pub fn generate(
        codes: BTreeSet<SystemCode>,
        description: Option<String>,
        now: u64,
    ) -> (Self, Secret) {
        let secret = Secret::generate();
        let key = Self {
            id: KeyId::generate(),
            secret_hash: SecretHash::of(&secret),
            codes,
            status: KeyStatus::Active,
            created_at: now,
            updated_at: now,
            description,
            failures: FailedAttempts::default(),
            tokens_revoked_at: 0,
            grants: Arc::default(),
        };
        (key, secret)
    }

    /// Whether this key may request tokens for `code`.
    pub fn is_valid_for(&self, code: &SystemCode) -> bool {
        self.codes.contains(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_reserved_only_while_their_window_has_room() {
        let limit = FailureLimit {
            max: 10,
            window: 300,
        };
        let mut attempts = FailedAttempts::default();
        for at in 100..110 {
            attempts = attempts.reserve(at, limit).unwrap();
        }
        assert_eq!(
            attempts,
            FailedAttempts {
                count: 10,
                since: 100
            }
        );
        assert_eq!(attempts.reserve(110, limit), Err(290));
        assert_eq!(attempts.reserve(399, limit), Err(1));
        assert_eq!(
            attempts.reserve(400, limit),
            Ok(FailedAttempts {
                count: 1,
                since: 400
            }),
            "a failure after the window opens a new one"
        );
    }

    fn codes(list: &[&str]) -> BTreeSet<SystemCode> {
        list.iter()
            .filter_map(|c| SystemCode::parse(c).ok())
            .collect()
    }

    #[test]
    fn a_generated_key_is_active_and_keeps_only_the_hash_of_its_secret() {
        let (key, secret) = ClientKey::generate(codes(&["d2ir1"]), None, 1);
        assert_eq!(key.status, KeyStatus::Active);
        assert!(key.secret_hash.verify(secret.expose().as_bytes()));
        assert!(!format!("{key:?}").contains(secret.expose()));
    }

    #[test]
    fn a_key_is_valid_only_for_its_own_codes() {
        let (key, _) = ClientKey::generate(codes(&["d2ir1", "abcde"]), None, 1);
        assert!(key.is_valid_for(&SystemCode::parse("abcde").unwrap()));
        assert!(!key.is_valid_for(&SystemCode::parse("zzzzz").unwrap()));
    }

    #[test]
    fn key_ids_are_printable_and_bounded() {
        assert!(KeyId::parse("6f1a0c1e-1b1f-4d6b-9a57-0c8f3f1d2e3a").is_ok());
        let too_long = "k".repeat(KeyId::MAX_LEN + 1);
        for bad in ["", "has space", "tab\t", too_long.as_str(), "ключ"] {
            assert_eq!(KeyId::parse(bad), Err(InvalidKeyId), "{bad:?}");
        }
    }

    #[test]
    fn a_generated_key_id_is_a_uuid() {
        assert!(uuid::Uuid::parse_str(KeyId::generate().as_str()).is_ok());
    }
}
