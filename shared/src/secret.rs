//! Client secrets and the only form in which tokengate keeps them.
//!
//! Secrets are generated here with 256 bits of entropy, so a slow password KDF buys
//! nothing: nobody can guess one, and a stolen hash cannot be brute-forced. What a hash
//! still needs is a per-key salt (no two keys' hashes can be compared or precomputed) and a
//! constant-time comparison. HMAC-SHA-256 keyed with the salt gives both in about a
//! microsecond, where bcrypt costs tens of milliseconds per token request.

use std::fmt;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::random;

type HmacSha256 = Hmac<Sha256>;

const SCHEME: &str = "hmac-sha256";
const SALT_LEN: usize = 16;
const MAC_LEN: usize = 32;
const SECRET_BYTES: usize = 32;

/// A client secret in plain text. It exists only between generation and printing it once,
/// or between decoding a request and verifying it; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A new secret: 256 random bits, base64url without padding (43 characters).
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(random::bytes::<SECRET_BYTES>()))
    }

    /// The secret's text, for showing it to its owner exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The stored form of a secret: a random salt and HMAC-SHA-256(salt, secret).
///
/// Its text form is `hmac-sha256$<salt>$<mac>` (base64url), so the scheme can change later
/// without a migration of every key at once.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash {
    salt: [u8; SALT_LEN],
    mac: [u8; MAC_LEN],
}

/// A stored hash that is not in the `hmac-sha256$salt$mac` form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored secret hash is not in the hmac-sha256$salt$mac form")]
pub struct InvalidSecretHash;

/// Verified against when a key does not exist, so an unknown key costs the same time as a
/// wrong secret and response timing does not reveal which keys exist.
static DECOY: LazyLock<SecretHash> = LazyLock::new(|| SecretHash::of(&Secret::generate()));

impl SecretHash {
    /// Hashes a secret under a fresh random salt.
    pub fn of(secret: &Secret) -> Self {
        let salt = random::bytes::<SALT_LEN>();
        let mac = Self::mac(&salt, secret.0.as_bytes())
            .finalize()
            .into_bytes()
            .into();
        Self { salt, mac }
    }

    /// Whether `candidate` is the secret this hash was made from, in constant time.
    pub fn verify(&self, candidate: &[u8]) -> bool {
        Self::mac(&self.salt, candidate)
            .verify_slice(&self.mac)
            .is_ok()
    }

    /// Spends the time of one verification and answers `false`: the path for unknown keys.
    pub fn verify_decoy(candidate: &[u8]) -> bool {
        let _ = DECOY.verify(candidate);
        false
    }

    /// The text form stored in `KEYS_TABLE`.
    pub fn encode(&self) -> String {
        format!(
            "{SCHEME}${}${}",
            URL_SAFE_NO_PAD.encode(self.salt),
            URL_SAFE_NO_PAD.encode(self.mac)
        )
    }

    /// Parses the text form written by [`SecretHash::encode`].
    pub fn parse(text: &str) -> Result<Self, InvalidSecretHash> {
        let mut parts = text.split('$');
        let (Some(SCHEME), Some(salt), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidSecretHash);
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| InvalidSecretHash);
        Ok(Self {
            salt: decode(salt)?.try_into().map_err(|_| InvalidSecretHash)?,
            mac: decode(mac)?.try_into().map_err(|_| InvalidSecretHash)?,
        })
    }

    fn mac(salt: &[u8], message: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(salt).expect("HMAC accepts a key of any length");
        mac.update(message);
        mac
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(hmac-sha256, <redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_has_256_bits_in_43_url_safe_characters() {
        let secret = Secret::generate();
        assert_eq!(secret.expose().len(), 43);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(secret.expose()).map(|b| b.len()),
            Ok(32)
        );
        assert_ne!(secret, Secret::generate());
    }

    #[test]
    fn a_hash_verifies_its_own_secret_and_nothing_else() {
        let secret = Secret::generate();
        let hash = SecretHash::of(&secret);
        assert!(hash.verify(secret.expose().as_bytes()));
        assert!(!hash.verify(Secret::generate().expose().as_bytes()));
        assert!(!hash.verify(b""));
        assert!(!hash.verify(&secret.expose().as_bytes()[..42]));
    }

    #[test]
    fn the_same_secret_hashes_differently_under_two_salts() {
        let secret = Secret::generate();
        assert_ne!(
            SecretHash::of(&secret).encode(),
            SecretHash::of(&secret).encode()
        );
    }

    #[test]
    fn the_text_form_round_trips_and_rejects_other_schemes() {
        let secret = Secret::generate();
        let hash = SecretHash::of(&secret);
        let parsed = SecretHash::parse(&hash.encode());
        assert_eq!(parsed.as_ref(), Ok(&hash));
        for bad in [
            "",
            "bcrypt$a$b",
            "hmac-sha256$abc",
            "hmac-sha256$$",
            "hmac-sha256$a$b$c",
        ] {
            assert_eq!(SecretHash::parse(bad), Err(InvalidSecretHash), "{bad:?}");
        }
    }

    #[test]
    fn debug_output_never_shows_a_secret_or_its_hash() {
        let secret = Secret::generate();
        let hash = SecretHash::of(&secret);
        let shown = format!("{secret:?} {hash:?}");
        assert!(!shown.contains(secret.expose()));
        assert!(!shown.contains(&hash.encode()["hmac-sha256$".len()..]));
    }

    #[test]
    fn the_decoy_never_verifies() {
        assert!(!SecretHash::verify_decoy(b"anything"));
    }
}
