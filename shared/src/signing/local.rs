//! Signing keys held in process memory: decrypted envelope keys, and `serve`'s own. ring
//! signs, as it verifies in the authorizer and carries TLS: aws-lc-rs would sign RS256 in
//! half the time, for a token-issuer 1.1 MB larger (docs/decisions/0006-signing-jwts.md).
//! aws-lc-rs makes RSA keys, which ring cannot: only the rotator and the CLI call
//! [`generate`], so the functions' binaries leave it out.

use std::fmt;

use ring::rand::SystemRandom;
use ring::rsa::PublicKeyComponents;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};

use super::{PublicJwk, SigningAlg, SigningError};

/// A private key in PKCS #8 DER. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkcs8(Vec<u8>);

impl Pkcs8 {
    /// Wraps the DER of a private key.
    pub fn new(der: Vec<u8>) -> Self {
        Self(der)
    }

    /// The DER, for the one call that encrypts it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Pkcs8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkcs8(<redacted>)")
    }
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A key pair that signs in process.
pub struct LocalKey {
    alg: SigningAlg,
    pair: Pair,
    rng: SystemRandom,
}

impl fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl LocalKey {
    /// The key pair in `pkcs8`, for `alg`; `kid` names it in a refusal.
    pub fn from_pkcs8(kid: &str, alg: SigningAlg, pkcs8: &Pkcs8) -> Result<Self, SigningError> {
        let rng = SystemRandom::new();
        let refused = |e: ring::error::KeyRejected| {
            SigningError::invalid(kid, format!("not a {alg} private key: {e}"))
        };
        let pair = match alg {
            SigningAlg::Rs256 => Pair::Rsa(RsaKeyPair::from_pkcs8(&pkcs8.0).map_err(refused)?),
            SigningAlg::Es256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8.0, &rng)
                    .map_err(refused)?,
            ),
            SigningAlg::EdDsa => Pair::Ed(Ed25519KeyPair::from_pkcs8(&pkcs8.0).map_err(refused)?),
        };
        Ok(Self { alg, pair, rng })
    }

    /// The algorithm it signs with.
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The JWS signature of `input`.
    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SigningError> {
        let failed = |_| SigningError::Unsupported("the signature could not be computed".into());
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &self.rng, input, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
            Pair::Ec(pair) => Ok(pair
                .sign(&self.rng, input)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            Pair::Ed(pair) => Ok(pair.sign(input).as_ref().to_vec()),
        }
    }

    /// Its public half as a JWK named `kid`.
    pub fn public_jwk(&self, kid: &str) -> PublicJwk {
        match &self.pair {
            Pair::Rsa(pair) => {
                let parts = PublicKeyComponents::<Vec<u8>>::from(pair.public());
                PublicJwk::rsa(kid, &parts.n, &parts.e)
            }
            Pair::Ec(pair) => {
                // An uncompressed point: 0x04, then x and y.
                let point = pair.public_key().as_ref();
                PublicJwk::p256(kid, &point[1..33], &point[33..])
            }
            Pair::Ed(pair) => PublicJwk::ed25519(kid, pair.public_key().as_ref()),
        }
    }
}

/// A new private key for `alg`: RSA 2048 (aws-lc-rs), P-256 or Ed25519 (ring).
pub fn generate(alg: SigningAlg) -> Result<Pkcs8, SigningError> {
    let failed = || SigningError::Unsupported(format!("a {alg} key could not be generated"));
    let der = match alg {
        SigningAlg::Rs256 => {
            use aws_lc_rs::encoding::AsDer;
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| failed())?;
            let der = pair.as_der().map_err(|_| failed())?;
            der.as_ref().to_vec()
        }
        SigningAlg::Es256 => {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| failed())?
                .as_ref()
                .to_vec()
        }
        SigningAlg::EdDsa => Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| failed())?
            .as_ref()
            .to_vec(),
    };
    Ok(Pkcs8(der))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{
        ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
    };

    #[test]
    fn a_generated_key_of_each_algorithm_signs_what_its_public_key_verifies() {
        for alg in SigningAlg::ALL {
            let key = LocalKey::from_pkcs8("k1", alg, &generate(alg).unwrap()).unwrap();
            let signature = key.sign(b"header.claims").unwrap();
            let jwk = key.public_jwk("k1");
            assert_eq!((jwk.kid.as_str(), jwk.alg.as_str()), ("k1", alg.as_str()));
            let b64 = |v: &Option<String>| {
                use base64::Engine;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(v.as_deref().unwrap())
                    .unwrap()
            };
            let verified = match alg {
                SigningAlg::Rs256 => ring::rsa::PublicKeyComponents {
                    n: b64(&jwk.n),
                    e: b64(&jwk.e),
                }
                .verify(&RSA_PKCS1_2048_8192_SHA256, b"header.claims", &signature),
                SigningAlg::Es256 => {
                    let mut point = vec![4];
                    point.extend(b64(&jwk.x));
                    point.extend(b64(&jwk.y));
                    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                        .verify(b"header.claims", &signature)
                }
                SigningAlg::EdDsa => UnparsedPublicKey::new(&ED25519, b64(&jwk.x))
                    .verify(b"header.claims", &signature),
            };
            assert!(verified.is_ok(), "{alg}");
        }
    }

    #[test]
    fn a_key_of_another_algorithm_is_refused_naming_the_key_and_never_shown() {
        let pkcs8 = generate(SigningAlg::Es256).unwrap();
        let refused = LocalKey::from_pkcs8("k9", SigningAlg::Rs256, &pkcs8).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("signing key k9: not a RS256"),
            "{refused}"
        );
        assert_eq!(format!("{pkcs8:?}"), "Pkcs8(<redacted>)");
    }
}
