//! Signing keys as the signing keys table holds them, and the states rotation moves them
//! through: next (published, not yet signing), current (signing), previous (published until
//! every token it signed has expired), retired.

use std::sync::Arc;

use super::{Pkcs8, PublicJwk, SigningAlg};

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyState {
    /// Published, so verifiers know it before it signs; the next rotate makes it current.
    Next,
    /// Signs every new token.
    Current,
    /// Signs nothing; published until `retire_at`.
    Previous,
    /// Neither signs nor is published.
    Retired,
}

impl KeyState {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Previous => "previous",
            Self::Retired => "retired",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Next, Self::Current, Self::Previous, Self::Retired]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// How a key's private half is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protection {
    /// Encrypted under a KMS key (`SIGNING_KEY_MODE=envelope`).
    Envelope {
        /// The ciphertext `Encrypt` returned.
        ciphertext: Vec<u8>,
        /// The KMS key that encrypted it.
        kms_key_id: String,
    },
    /// A KMS asymmetric key, which signs (`SIGNING_KEY_MODE=kms`).
    Kms {
        /// Its key id or ARN.
        key_id: String,
    },
    /// In process memory only: `serve`'s keys, which no table ever holds.
    InMemory(Arc<Pkcs8>),
}

impl Protection {
    /// The mode's name, as `signing-keys list` shows it.
    pub fn mode(&self) -> &'static str {
        match self {
            Self::Envelope { .. } => "envelope",
            Self::Kms { .. } => "kms",
            Self::InMemory(_) => "memory",
        }
    }
}

/// A signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Its id: the `kid` of its JWK and of every token it signs.
    pub kid: String,
    /// The algorithm it signs with.
    pub alg: SigningAlg,
    /// Where it is in its life, as last written.
    pub state: KeyState,
    /// Its public half.
    pub jwk: PublicJwk,
    /// Its private half.
    pub protection: Protection,
    /// When it was made, epoch seconds.
    pub created_at: u64,
    /// When it entered `state`, epoch seconds.
    pub state_since: u64,
    /// For a previous key, when it stops being published: when every token it signed has
    /// expired.
    pub retire_at: Option<u64>,
}

impl SigningKey {
    /// Its state at `now`: a previous key past `retire_at` is retired, written or not.
    pub fn state_at(&self, now: u64) -> KeyState {
        match (self.state, self.retire_at) {
            (KeyState::Previous, Some(at)) if at <= now => KeyState::Retired,
            (state, _) => state,
        }
    }

    /// Whether it is in the JWKS at `now`.
    pub fn is_published_at(&self, now: u64) -> bool {
        self.state_at(now) != KeyState::Retired
    }
}

/// A key's move from one state to another, made only if it is still in `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The key.
    pub kid: String,
    /// The state it must be in.
    pub from: KeyState,
    /// The state it moves to.
    pub to: KeyState,
    /// When it stops being published, for a key made previous.
    pub retire_at: Option<u64>,
}

/// One rotation, written at once: new keys, and moves of existing ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Keys to store; none may exist already.
    pub created: Vec<SigningKey>,
    /// Keys to move.
    pub moved: Vec<StateChange>,
}

/// What a rotation at `now` does to `keys`, before any new key is made: which keys move, and
/// which new keys it needs (`states`, in the order they are to be made).
///
/// - The next key becomes current, and the current one previous, retired at
///   `now + retire_after`.
/// - Previous keys past their retirement become retired.
/// - A new next key is made; the very first rotate makes a current key too. Without a next
///   key to promote, no new key signs before it has been published: only a next is made.
pub fn plan(keys: &[SigningKey], now: u64, retire_after: u64) -> (Vec<StateChange>, Vec<KeyState>) {
    let find = |state: KeyState| keys.iter().find(|k| k.state == state);
    let mut moved = Vec::new();
    let change = |key: &SigningKey, to: KeyState, retire_at: Option<u64>| StateChange {
        kid: key.kid.clone(),
        from: key.state,
        to,
        retire_at,
    };
    let mut needed = Vec::new();
    match (find(KeyState::Current), find(KeyState::Next)) {
        (current, Some(next)) => {
            moved.push(change(next, KeyState::Current, None));
            if let Some(current) = current {
                let retire_at = now.saturating_add(retire_after);
                moved.push(change(current, KeyState::Previous, Some(retire_at)));
            }
        }
        (None, None) => needed.push(KeyState::Current),
        (Some(_), None) => {}
    }
    needed.push(KeyState::Next);
    for key in keys {
        if key.state == KeyState::Previous && key.state_at(now) == KeyState::Retired {
            moved.push(change(key, KeyState::Retired, key.retire_at));
        }
    }
    (moved, needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, state: KeyState, retire_at: Option<u64>) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            alg: SigningAlg::Rs256,
            state,
            jwk: PublicJwk::rsa(kid, &[1], &[1, 0, 1]),
            protection: Protection::Kms { key_id: kid.into() },
            created_at: 0,
            state_since: 0,
            retire_at,
        }
    }

    #[test]
    fn the_first_rotation_makes_a_current_and_a_next_key_and_moves_nothing() {
        assert_eq!(
            plan(&[], 10, 100),
            (vec![], vec![KeyState::Current, KeyState::Next])
        );
    }

    #[test]
    fn a_rotation_promotes_next_demotes_current_until_its_tokens_expire_and_retires_the_expired() {
        let keys = [
            key("old", KeyState::Previous, Some(50)),
            key("young", KeyState::Previous, Some(500)),
            key("cur", KeyState::Current, None),
            key("nxt", KeyState::Next, None),
        ];
        let (moved, needed) = plan(&keys, 100, 1000);
        assert_eq!(needed, vec![KeyState::Next]);
        let moves: Vec<_> = moved
            .iter()
            .map(|m| (m.kid.as_str(), m.from, m.to, m.retire_at))
            .collect();
        assert_eq!(
            moves,
            vec![
                ("nxt", KeyState::Next, KeyState::Current, None),
                ("cur", KeyState::Current, KeyState::Previous, Some(1100)),
                ("old", KeyState::Previous, KeyState::Retired, Some(50)),
            ]
        );
    }

    #[test]
    fn without_a_published_next_key_a_rotation_makes_one_and_keeps_the_current_signing() {
        let (moved, needed) = plan(&[key("cur", KeyState::Current, None)], 100, 1000);
        assert_eq!((moved, needed), (vec![], vec![KeyState::Next]));
    }

    #[test]
    fn a_previous_key_is_published_until_its_retirement_and_not_after() {
        let previous = key("p", KeyState::Previous, Some(200));
        assert!(previous.is_published_at(199));
        assert!(!previous.is_published_at(200));
        assert_eq!(previous.state_at(200), KeyState::Retired);
        assert!(!key("r", KeyState::Retired, None).is_published_at(0));
    }
}
