//! Public keys as JWKs (RFC 7517), and the JWKS token-issuer publishes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::SigningAlg;
use super::der::SpkiKey;

/// A public signing key as a JWK: `use: sig`, its `alg` and `kid`, and its key members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// The JWS algorithm the key signs with.
    pub alg: String,
    /// The key id, the `kid` of every token it signs.
    pub kid: String,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// The curve: `P-256` or `Ed25519`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// The point's x coordinate, or the Ed25519 public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The point's y coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

fn b64(bytes: &[u8]) -> Option<String> {
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

impl PublicJwk {
    fn bare(kty: &str, alg: SigningAlg, kid: &str) -> Self {
        Self {
            kty: kty.to_owned(),
            use_: "sig".to_owned(),
            alg: alg.as_str().to_owned(),
            kid: kid.to_owned(),
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
        }
    }

    /// An RSA key from its modulus and exponent.
    pub fn rsa(kid: &str, n: &[u8], e: &[u8]) -> Self {
        Self {
            n: b64(n),
            e: b64(e),
            ..Self::bare("RSA", SigningAlg::Rs256, kid)
        }
    }

    /// A P-256 key from its coordinates.
    pub fn p256(kid: &str, x: &[u8], y: &[u8]) -> Self {
        Self {
            crv: Some("P-256".to_owned()),
            x: b64(x),
            y: b64(y),
            ..Self::bare("EC", SigningAlg::Es256, kid)
        }
    }

    /// An Ed25519 key from its 32 bytes.
    pub fn ed25519(kid: &str, public: &[u8]) -> Self {
        Self {
            crv: Some("Ed25519".to_owned()),
            x: b64(public),
            ..Self::bare("OKP", SigningAlg::EdDsa, kid)
        }
    }

    /// The key of a `SubjectPublicKeyInfo` (KMS's `GetPublicKey`), for `alg`.
    pub fn from_spki(kid: &str, alg: SigningAlg, der: &[u8]) -> Option<Self> {
        match (super::der::spki(der)?, alg) {
            (SpkiKey::Rsa { n, e }, SigningAlg::Rs256) => Some(Self::rsa(kid, n, e)),
            (SpkiKey::P256 { x, y }, SigningAlg::Es256) => Some(Self::p256(kid, x, y)),
            _ => None,
        }
    }
}

/// A JWK Set: what `GET /.well-known/jwks.json` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The published keys.
    pub keys: Vec<PublicJwk>,
}
