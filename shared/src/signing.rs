//! Signing tokengate's JWT access tokens (RFC 9068): the algorithms, the keys and their
//! rotation, and the keyring token-issuer signs with.
//!
//! A signing key's private half never rests in plaintext. In `envelope` mode it is made here
//! and stored encrypted under a KMS key, decrypted once per execution environment; in `kms`
//! mode it is a KMS asymmetric key, and KMS signs every token.

mod der;
pub mod dynamodb;
pub mod jwk;
pub mod jwt;
pub mod keyring;
pub mod kms;
pub mod local;
pub mod record;
pub mod rotation;
pub mod store;

pub use dynamodb::DynamoSigningKeyStore;
pub use jwk::{Jwks, PublicJwk};
pub use keyring::{Keyring, Signer};
pub use local::{LocalKey, Pkcs8};
pub use record::{KeyState, Protection, SigningKey};
pub use store::{MemorySigningKeyStore, SigningKeyStore};

use std::fmt;

/// How token-issuer's signing keys are held: `SIGNING_KEY_MODE`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SigningKeyMode {
    /// Made by tokengate, encrypted under `SIGNING_KMS_KEY_ID`, decrypted once per
    /// execution environment.
    #[default]
    Envelope,
    /// KMS asymmetric keys: KMS signs every token.
    Kms,
}

impl SigningKeyMode {
    /// Parses the configured name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "envelope" => Some(Self::Envelope),
            "kms" => Some(Self::Kms),
            _ => None,
        }
    }

    /// The configured name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Envelope => "envelope",
            Self::Kms => "kms",
        }
    }
}

/// A JWS algorithm tokengate signs with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over a 2048-bit key: the default, because API
    /// Gateway's JWT authorizer verifies RSA only.
    #[default]
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// Ed25519 (envelope mode only: KMS has no Ed25519 key in every region).
    EdDsa,
}

impl SigningAlg {
    /// Every algorithm, in the order the docs list them.
    pub const ALL: [Self; 3] = [Self::Rs256, Self::Es256, Self::EdDsa];

    /// The JWS name (RFC 7518, RFC 8037).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Parses a JWS name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == text)
    }

    /// The KMS key spec and signing algorithm for this algorithm, when KMS signs it.
    pub fn kms_names(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Rs256 => Some(("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256")),
            Self::Es256 => Some(("ECC_NIST_P256", "ECDSA_SHA_256")),
            Self::EdDsa => None,
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a token could not be signed, or a key made, read or published. Never carries key
/// material.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The table holds no current key: `tokengate signing-keys rotate` has never run.
    #[error("no current signing key (run `tokengate signing-keys rotate`)")]
    NoCurrentKey,
    /// KMS refused or failed.
    #[error("KMS: {0}")]
    Kms(String),
    /// A key, as stored or as KMS gave it, is not usable.
    #[error("signing key {kid}: {problem}")]
    InvalidKey {
        /// The key's id.
        kid: String,
        /// What is wrong with it.
        problem: String,
    },
    /// What the mode cannot do.
    #[error("{0}")]
    Unsupported(String),
    /// The signing keys table failed.
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

impl SigningError {
    pub(crate) fn invalid(kid: &str, problem: impl Into<String>) -> Self {
        Self::InvalidKey {
            kid: kid.to_owned(),
            problem: problem.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_and_modes_parse_from_their_own_names_only() {
        for alg in SigningAlg::ALL {
            assert_eq!(SigningAlg::parse(alg.as_str()), Some(alg));
        }
        assert_eq!(SigningAlg::parse("rs256"), None);
        assert_eq!(SigningAlg::parse("HS256"), None);
        assert_eq!(SigningKeyMode::parse("kms"), Some(SigningKeyMode::Kms));
        assert_eq!(SigningKeyMode::parse("plain"), None);
        assert_eq!(SigningAlg::EdDsa.kms_names(), None);
    }
}
