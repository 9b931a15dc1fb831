//! JWS signatures checked with ring, the crypto library the TLS configuration uses, so that
//! the binary carries one. jsonwebtoken reads the headers and the JWKs; either of its own
//! crypto backends (aws-lc-rs, RustCrypto) would be a second library in the binary.

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use ring::signature::{self as sig, RsaParameters, UnparsedPublicKey, VerificationAlgorithm};

/// Why a signature could not be checked at all, as opposed to checked and found wrong.
pub const KEY_DOES_NOT_FIT: &str = "the algorithm does not fit the key";

/// Whether `signature`, raw bytes, is `key`'s signature of `message` under `alg`.
///
/// # Errors
/// [`KEY_DOES_NOT_FIT`] when `alg` is not of the key's family (HMAC is never: a key set
/// holds public keys only).
pub fn verify(
    alg: Algorithm,
    key: &DecodingKey,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, &'static str> {
    if alg.family() != key.family() || alg.family() == AlgorithmFamily::Hmac {
        return Err(KEY_DOES_NOT_FIT);
    }
    if let Some(params) = rsa_parameters(alg) {
        return Ok(match key.kind() {
            DecodingKeyKind::RsaModulusExponent { n, e } => sig::RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok(),
            DecodingKeyKind::SecretOrDer(der) => UnparsedPublicKey::new(params, der)
                .verify(message, signature)
                .is_ok(),
        });
    }
    let algorithm: &'static dyn VerificationAlgorithm = match alg {
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &sig::ED25519,
        _ => return Err(KEY_DOES_NOT_FIT),
    };
    // EC and OKP JWKs arrive as the public point's bytes, which is what ring takes.
    let DecodingKeyKind::SecretOrDer(point) = key.kind() else {
        return Err(KEY_DOES_NOT_FIT);
    };
    Ok(UnparsedPublicKey::new(algorithm, point)
        .verify(message, signature)
        .is_ok())
}

/// RSA keys of 2048 to 8192 bits, as jsonwebtoken's backends accept.
fn rsa_parameters(alg: Algorithm) -> Option<&'static RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    //! Signed by jsonwebtoken on aws-lc-rs (a dev-dependency), checked by ring: two
    //! implementations that must agree.

    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair,
    };
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use jsonwebtoken::EncodingKey;
    use jsonwebtoken::jwk::Jwk;

    /// A fresh key pair for `alg`: how to sign, and the public key as a JWK gives it.
    fn pair(alg: Algorithm) -> (EncodingKey, DecodingKey) {
        let encoding = match alg.family() {
            AlgorithmFamily::Rsa => {
                let pair =
                    aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
                let pem = format!(
                    "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                    STANDARD.encode(pair.as_der().unwrap().as_ref())
                );
                EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
            }
            AlgorithmFamily::Ec => {
                let curve = if alg == Algorithm::ES256 {
                    &ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &ECDSA_P384_SHA384_FIXED_SIGNING
                };
                let pair = EcdsaKeyPair::generate(curve).unwrap();
                EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref())
            }
            _ => {
                let pair = Ed25519KeyPair::generate().unwrap();
                EncodingKey::from_ed_der(pair.to_pkcs8v1().unwrap().as_ref())
            }
        };
        let jwk: Jwk = Jwk::from_encoding_key(&encoding, alg).unwrap();
        (encoding, DecodingKey::from_jwk(&jwk).unwrap())
    }

    fn sign(alg: Algorithm, key: &EncodingKey, message: &[u8]) -> Vec<u8> {
        let signature = jsonwebtoken::crypto::sign(message, key, alg).unwrap();
        URL_SAFE_NO_PAD.decode(signature).unwrap()
    }

    #[test]
    fn every_public_key_algorithm_verifies_its_own_signature_and_not_a_changed_message() {
        use Algorithm::*;
        let rsa = pair(RS256);
        for alg in [
            RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA,
        ] {
            let fresh;
            let (encoding, decoding) = match alg.family() {
                AlgorithmFamily::Rsa => &rsa,
                _ => {
                    fresh = pair(alg);
                    &fresh
                }
            };
            let signature = sign(alg, encoding, b"header.payload");
            assert_eq!(
                verify(alg, decoding, b"header.payload", &signature),
                Ok(true),
                "{alg:?}"
            );
            assert_eq!(
                verify(alg, decoding, b"header.payloaD", &signature),
                Ok(false),
                "{alg:?}"
            );
            assert_eq!(
                verify(alg, decoding, b"header.payload", &signature[1..]),
                Ok(false),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn a_signature_by_another_key_of_the_same_algorithm_does_not_verify() {
        let (signer, _) = pair(Algorithm::ES256);
        let (_, other) = pair(Algorithm::ES256);
        let signature = sign(Algorithm::ES256, &signer, b"m");
        assert_eq!(
            verify(Algorithm::ES256, &other, b"m", &signature),
            Ok(false)
        );
    }

    #[test]
    fn an_algorithm_of_another_family_than_the_key_or_hmac_is_refused_unchecked() {
        let (_, ec) = pair(Algorithm::ES256);
        assert_eq!(
            verify(Algorithm::RS256, &ec, b"m", b"s"),
            Err(KEY_DOES_NOT_FIT)
        );
        let (_, ed) = pair(Algorithm::EdDSA);
        assert_eq!(
            verify(Algorithm::ES256, &ed, b"m", b"s"),
            Err(KEY_DOES_NOT_FIT)
        );
        let secret = DecodingKey::from_secret(b"shared").unwrap();
        assert_eq!(
            verify(Algorithm::HS256, &secret, b"m", b"s"),
            Err(KEY_DOES_NOT_FIT)
        );
    }
}
