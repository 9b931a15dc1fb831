//! RFC 9068 JWT access tokens: the header, the claims, and the compact serialization.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::SigningAlg;
use crate::random;

/// A JWT access token's header (RFC 9068 §2.1).
#[derive(Debug, Serialize)]
pub struct Header<'a> {
    /// Always `at+jwt`.
    pub typ: &'static str,
    /// The signing algorithm.
    pub alg: &'static str,
    /// The signing key's id.
    pub kid: &'a str,
}

impl<'a> Header<'a> {
    /// The header of a token that `kid` signs with `alg`.
    pub fn new(alg: SigningAlg, kid: &'a str) -> Self {
        Self {
            typ: "at+jwt",
            alg: alg.as_str(),
            kid,
        }
    }
}

/// `aud`: one audience as a string, several as an array (RFC 7519 §4.1.3).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Aud<'a> {
    /// One.
    One(&'a str),
    /// Several.
    Many(Vec<&'a str>),
}

/// A JWT access token's claims (RFC 9068 §2.2).
#[derive(Debug, Serialize)]
pub struct Claims<'a> {
    /// The issuer, as the metadata announces it.
    pub iss: &'a str,
    /// The client: its key id.
    pub sub: &'a str,
    /// The client: its key id.
    pub client_id: &'a str,
    /// The granted audiences, or the issuer when none were.
    pub aud: Aud<'a>,
    /// Expiry, epoch seconds.
    pub exp: u64,
    /// Issue time, epoch seconds.
    pub iat: u64,
    /// 128 random bits, in hex.
    pub jti: String,
    /// The granted scopes, space-separated.
    pub scope: &'a str,
    /// INN-Reach's `X-From-Code`, when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_code: Option<&'a str>,
    /// INN-Reach's `X-To-Code`, when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_code: Option<&'a str>,
}

/// A fresh `jti`.
pub fn new_jti() -> String {
    hex::encode(random::bytes::<16>())
}

/// `BASE64URL(header) . BASE64URL(claims)`: what is signed.
pub fn signing_input(header: &Header<'_>, claims: &Claims<'_>) -> String {
    let mut input = String::with_capacity(512);
    for (i, json) in [serde_json::to_vec(header), serde_json::to_vec(claims)]
        .into_iter()
        .enumerate()
    {
        if i == 1 {
            input.push('.');
        }
        // Serializing these structs cannot fail: strings and numbers only.
        URL_SAFE_NO_PAD.encode_string(json.unwrap_or_default(), &mut input);
    }
    input
}

/// The compact serialization: the signing input, `.`, the signature.
pub fn compact(mut input: String, signature: &[u8]) -> String {
    input.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut input);
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_three_base64url_parts_whose_header_says_at_jwt_and_names_its_key() {
        let claims = Claims {
            iss: "https://issuer.example",
            sub: "key-1",
            client_id: "key-1",
            aud: Aud::Many(vec!["https://a.example", "https://b.example"]),
            exp: 700,
            iat: 100,
            jti: new_jti(),
            scope: "orders.read",
            from_code: None,
            to_code: Some("abcde"),
        };
        let token = compact(
            signing_input(&Header::new(SigningAlg::Es256, "kid-1"), &claims),
            &[1, 2, 3],
        );
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |part: &str| -> serde_json::Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        assert_eq!(
            decode(parts[0]),
            serde_json::json!({"typ": "at+jwt", "alg": "ES256", "kid": "kid-1"})
        );
        let body = decode(parts[1]);
        assert_eq!(body["aud"][1], "https://b.example");
        assert_eq!(body["to_code"], "abcde");
        assert!(body.get("from_code").is_none());
        assert_eq!(body["jti"].as_str().unwrap().len(), 32);
        assert_eq!(parts[2], "AQID");
    }
}
