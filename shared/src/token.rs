//! Opaque bearer tokens: minted here, stored only as their SHA-256.
//!
//! A token carries 128 random bits, so an unsalted SHA-256 is enough to make a stolen
//! table useless, and it lets the store look a token up by its hash in one read.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::code::SystemCode;
use crate::key::{ClientKey, KeyId, KeyStatus};
use crate::random;

/// An access token as handed to a client: 32 lowercase hex characters. Its `Debug` never
/// shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Mints a token from 128 bits of OS randomness.
    pub fn mint() -> Self {
        Self(hex::encode(random::bytes::<16>()))
    }

    /// The token's text, for the one response that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which the token is stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// SHA-256 of a token's text: the only form a token is stored or looked up in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// All zeros: a record's hash while its token is being made, never a token's.
    pub const UNSET: Self = Self([0; 32]);

    /// Hashes a token as presented by a caller (any text, valid or not).
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// The hash's first byte: uniformly spread, for sharding a map of tokens.
    pub fn first_byte(&self) -> u8 {
        self.0[0]
    }

    /// Lowercase hex, the stored key.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses the stored hex form.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to correlate log lines and too little to be worth anything.
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

/// What is stored about an issued token.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TokenRecord {
    /// The token's hash, the table's key.
    pub hash: TokenHash,
    /// The client key the token was issued to.
    pub key_id: KeyId,
    /// The `X-From-Code` of the token request; INN-Reach's path always has one, the
    /// generic `/oauth2/token` only when the client sent it.
    pub from_code: Option<SystemCode>,
    /// The `X-To-Code` of the token request, on the same terms.
    pub to_code: Option<SystemCode>,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The audiences the token is for (RFC 8707), none when it has none.
    pub audiences: BTreeSet<String>,
    /// Issue time, epoch seconds.
    pub issued_at: u64,
    /// Expiry, epoch seconds; also the table's TTL attribute.
    pub expires_at: u64,
}

impl TokenRecord {
    /// Whether the token is still within its lifetime at `now`, whether or not the
    /// table's TTL has deleted it yet.
    pub fn is_live_at(&self, now: u64) -> bool {
        now < self.expires_at
    }

    /// The one rule for a token being active, shared by introspection and the
    /// authorizer's `tokengate` style: within its lifetime, and its key (`owner`, read
    /// fresh) still exists, is active, and has not had its tokens revoked since this one
    /// was issued.
    pub fn active_claims(&self, owner: Option<&ClientKey>, now: u64) -> Option<ActiveToken> {
        let owner = owner.filter(|k| k.id == self.key_id)?;
        let active = self.is_live_at(now)
            && owner.status == KeyStatus::Active
            && self.issued_at > owner.tokens_revoked_at;
        active.then(|| ActiveToken {
            active: true,
            client_id: self.key_id.to_string(),
            scope: self.scope.clone(),
            exp: self.expires_at,
            iat: self.issued_at,
            token_type: "Bearer",
            from_code: self.from_code.as_ref().map(ToString::to_string),
            to_code: self.to_code.as_ref().map(ToString::to_string),
            aud: AudienceClaim::of(&self.audiences),
        })
    }
}

/// `aud` as RFC 7662 §2.2 and RFC 7519 §4.1.3 write it: a string for one audience, an array
/// for several.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum AudienceClaim {
    /// One audience.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl AudienceClaim {
    /// The claim for these audiences; `None` for none.
    pub fn of(audiences: &BTreeSet<String>) -> Option<Self> {
        match audiences.len() {
            0 => None,
            1 => audiences.first().cloned().map(Self::One),
            _ => Some(Self::Many(audiences.iter().cloned().collect())),
        }
    }

    /// Every audience it names.
    pub fn audiences(&self) -> Vec<&str> {
        match self {
            Self::One(one) => vec![one.as_str()],
            Self::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }
}

/// What is said of an active token (RFC 7662 §2.2): introspection's answer, and the
/// claims the authorizer's `tokengate` style injects headers from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ActiveToken {
    /// Always `true`.
    pub active: bool,
    /// The key the token was issued to.
    pub client_id: String,
    /// The granted scope.
    pub scope: String,
    /// Expiry, epoch seconds.
    pub exp: u64,
    /// Issue time, epoch seconds.
    pub iat: u64,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// The `X-From-Code` the token was issued for, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_code: Option<String>,
    /// The `X-To-Code` the token was issued for, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_code: Option<String>,
    /// The audiences the token is for, when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<AudienceClaim>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_is_32_lowercase_hex_characters_and_unique() {
        let token = AccessToken::mint();
        assert_eq!(token.expose().len(), 32);
        assert!(
            token
                .expose()
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        );
        assert_ne!(token, AccessToken::mint());
    }

    #[test]
    fn a_token_hash_is_its_sha256_and_round_trips_through_hex() {
        let hash = TokenHash::of("abc");
        assert_eq!(
            hash.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(TokenHash::from_hex("zz"), None);
    }

    #[test]
    fn a_token_is_active_only_while_live_with_its_own_active_key_that_has_not_revoked_it() {
        let (key, _) = ClientKey::generate(Default::default(), None, 0);
        let record = TokenRecord {
            hash: TokenHash::of("t"),
            key_id: key.id.clone(),
            from_code: None,
            to_code: SystemCode::parse("abcde").ok(),
            scope: "innreach_tp".into(),
            audiences: Default::default(),
            issued_at: 100,
            expires_at: 700,
        };
        let claims = record.active_claims(Some(&key), 200).unwrap();
        assert_eq!((claims.exp, claims.iat, claims.from_code), (700, 100, None));
        assert_eq!(claims.to_code.as_deref(), Some("abcde"));
        assert!(record.active_claims(Some(&key), 700).is_none(), "expired");
        assert!(record.active_claims(None, 200).is_none(), "key deleted");
        let (stranger, _) = ClientKey::generate(Default::default(), None, 0);
        assert!(record.active_claims(Some(&stranger), 200).is_none());
        let disabled = ClientKey {
            status: KeyStatus::Disabled,
            ..key.clone()
        };
        assert!(record.active_claims(Some(&disabled), 200).is_none());
        let revoked = ClientKey {
            tokens_revoked_at: 100,
            grants: Default::default(),
            ..key.clone()
        };
        assert!(record.active_claims(Some(&revoked), 200).is_none());
        let revoked_before = ClientKey {
            tokens_revoked_at: 99,
            grants: Default::default(),
            ..key
        };
        assert!(record.active_claims(Some(&revoked_before), 200).is_some());
    }

    #[test]
    fn debug_output_never_shows_the_token_or_its_whole_hash() {
        let token = AccessToken::mint();
        let shown = format!("{token:?} {:?}", token.hash());
        assert!(!shown.contains(token.expose()));
        assert!(!shown.contains(&token.hash().to_hex()));
    }
}
