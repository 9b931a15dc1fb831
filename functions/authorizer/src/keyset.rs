//! The usable signing keys of a JWKS, each bound to the algorithms it may verify. A leaf:
//! the pre-inputs hold a configured key set, and [`crate::jwt`] fetches and uses them.

use std::fmt;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

/// One signing key, bound to the algorithms it may verify.
pub(crate) struct SigningKey {
    pub(crate) kid: Option<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) key: DecodingKey,
}

/// The usable signing keys of a JWKS: public keys for signatures, of the allowed
/// algorithms. Symmetric (`oct`) keys, encryption keys and keys of other curves are left
/// out.
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| (&k.kid, &k.algorithms)))
            .finish()
    }
}

impl KeySet {
    /// The signing keys of a JWKS document that can verify one of `allowed`.
    pub fn parse(json: &[u8], allowed: &[Algorithm]) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<Value>,
        }
        let document: Document = serde_json::from_slice(json)
            .map_err(|e| format!("not a JWKS, an object with a keys list ({e})"))?;
        let keys: Vec<SigningKey> = document
            .keys
            .into_iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key).ok())
            .filter_map(|jwk| {
                let algorithms = key_algorithms(&jwk, allowed);
                let key = DecodingKey::from_jwk(&jwk).ok()?;
                (!algorithms.is_empty()).then(|| SigningKey {
                    kid: jwk.common.key_id.clone(),
                    algorithms,
                    key,
                })
            })
            .collect();
        if keys.is_empty() {
            return Err("holds no public signing key for the allowed algorithms".into());
        }
        Ok(Self { keys })
    }

    /// How many usable keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none (never true of a parsed set).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys that may verify a token with this `kid` (any key, without one) and `alg`.
    pub(crate) fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a SigningKey> + 'a {
        self.keys.iter().filter(move |k| {
            k.algorithms.contains(&alg) && kid.is_none_or(|kid| k.kid.as_deref() == Some(kid))
        })
    }

    pub(crate) fn knows(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        self.candidates(kid, alg).next().is_some()
    }
}

/// The algorithms a JWK may verify: the one it declares (`alg`), or those its key type and
/// curve fit; none for a key meant for something else than signatures.
fn key_algorithms(jwk: &Jwk, allowed: &[Algorithm]) -> Vec<Algorithm> {
    use Algorithm::{ES256, ES384, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512};
    let common = &jwk.common;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
        || common
            .key_operations
            .as_ref()
            .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return Vec::new();
    }
    let fitting: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[RS256, RS384, RS512, PS256, PS384, PS512],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[ES256],
            EllipticCurve::P384 => &[ES384],
            _ => &[],
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => &[EdDSA],
        _ => &[],
    };
    match common.key_algorithm {
        Some(declared) => Algorithm::try_from(declared)
            .ok()
            .filter(|alg| fitting.contains(alg) && allowed.contains(alg))
            .into_iter()
            .collect(),
        None => fitting
            .iter()
            .filter(|alg| allowed.contains(alg))
            .copied()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: [Algorithm; 9] = crate::pre_inputs::DEFAULT_JWT_ALGORITHMS;

    fn jwk(value: Value) -> Jwk {
        serde_json::from_value(value).unwrap()
    }

    const N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";

    #[test]
    fn a_key_verifies_only_the_algorithm_it_declares_or_those_its_type_and_curve_fit() {
        let declared = jwk(json!({"kty": "RSA", "alg": "RS256", "n": N, "e": "AQAB"}));
        assert_eq!(key_algorithms(&declared, &ALL), [Algorithm::RS256]);
        let undeclared = jwk(json!({"kty": "RSA", "n": N, "e": "AQAB"}));
        assert_eq!(key_algorithms(&undeclared, &ALL).len(), 6);
        assert_eq!(
            key_algorithms(&undeclared, &[Algorithm::ES256, Algorithm::PS256]),
            [Algorithm::PS256]
        );
        let mismatched = jwk(json!({"kty": "RSA", "alg": "ES256", "n": N, "e": "AQAB"}));
        assert!(key_algorithms(&mismatched, &ALL).is_empty());
        let p384 = jwk(json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}));
        assert_eq!(key_algorithms(&p384, &ALL), [Algorithm::ES384]);
        let ed = jwk(json!({"kty": "OKP", "crv": "Ed25519", "x": "AA"}));
        assert_eq!(key_algorithms(&ed, &ALL), [Algorithm::EdDSA]);
    }

    #[test]
    fn symmetric_encryption_and_verify_less_keys_are_never_used() {
        let oct = jwk(json!({"kty": "oct", "k": "c2VjcmV0"}));
        assert!(key_algorithms(&oct, &ALL).is_empty());
        let oct_hs = jwk(json!({"kty": "oct", "alg": "HS256", "k": "c2VjcmV0"}));
        assert!(key_algorithms(&oct_hs, &ALL).is_empty());
        let enc = jwk(json!({"kty": "RSA", "use": "enc", "n": N, "e": "AQAB"}));
        assert!(key_algorithms(&enc, &ALL).is_empty());
        let sign_only = jwk(json!({"kty": "RSA", "key_ops": ["sign"], "n": N, "e": "AQAB"}));
        assert!(key_algorithms(&sign_only, &ALL).is_empty());
    }

    #[test]
    fn a_jwks_with_no_usable_key_is_refused_and_unusable_keys_are_skipped() {
        let only_oct = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).to_string();
        assert!(KeySet::parse(only_oct.as_bytes(), &ALL).is_err());
        assert!(KeySet::parse(b"[]", &ALL).is_err());
        let mixed = json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0"},
            {"kty": "weird"},
            {"kty": "RSA", "kid": "r1", "n": N, "e": "AQAB"}
        ]})
        .to_string();
        let set = KeySet::parse(mixed.as_bytes(), &ALL).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.knows(Some("r1"), Algorithm::RS256));
        assert!(set.knows(None, Algorithm::PS512));
        assert!(!set.knows(Some("r2"), Algorithm::RS256));
        assert!(!set.knows(Some("r1"), Algorithm::ES256));
    }
}
