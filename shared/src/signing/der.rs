//! The little DER that KMS answers in: an ECDSA signature (`SEQUENCE { r, s }`) and a
//! `SubjectPublicKeyInfo`. Lengths are checked before every slice; anything else is `None`.

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;

/// rsaEncryption, 1.2.840.113549.1.1.1.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1.
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1, 1.2.840.10045.3.1.7.
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// One element: its tag, its contents, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 2 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |len, b| (len << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = element(input)?;
    (found == tag).then_some((contents, rest))
}

/// A positive INTEGER's magnitude, without the sign byte DER may put before it.
fn unsigned(contents: &[u8]) -> &[u8] {
    let mut bytes = contents;
    while let [0, rest @ ..] = bytes {
        if rest.is_empty() {
            break;
        }
        bytes = rest;
    }
    bytes
}

/// An ECDSA signature in DER as JWS writes it: `r || s`, each left-padded to `size` bytes.
pub(crate) fn ecdsa_fixed(der: &[u8], size: usize) -> Option<Vec<u8>> {
    let (body, rest) = expect(der, SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (r, body) = expect(body, INTEGER)?;
    let (s, body) = expect(body, INTEGER)?;
    if !body.is_empty() {
        return None;
    }
    let mut fixed = vec![0u8; 2 * size];
    for (half, value) in [r, s].into_iter().enumerate() {
        let value = unsigned(value);
        if value.len() > size {
            return None;
        }
        let end = (half + 1) * size;
        fixed[end - value.len()..end].copy_from_slice(value);
    }
    Some(fixed)
}

/// A public key, as a `SubjectPublicKeyInfo` holds one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SpkiKey<'a> {
    /// RSA: modulus and public exponent, big-endian without leading zeros.
    Rsa { n: &'a [u8], e: &'a [u8] },
    /// P-256: the point's coordinates, 32 bytes each.
    P256 { x: &'a [u8], y: &'a [u8] },
}

/// Reads an RSA or P-256 `SubjectPublicKeyInfo`.
pub(crate) fn spki(der: &[u8]) -> Option<SpkiKey<'_>> {
    let (body, _) = expect(der, SEQUENCE)?;
    let (algorithm, body) = expect(body, SEQUENCE)?;
    let (bits, _) = expect(body, BIT_STRING)?;
    let (oid, parameters) = expect(algorithm, OID)?;
    let key = match bits {
        [0, key @ ..] => key,
        _ => return None,
    };
    if oid == RSA_ENCRYPTION {
        let (rsa, _) = expect(key, SEQUENCE)?;
        let (n, rsa) = expect(rsa, INTEGER)?;
        let (e, _) = expect(rsa, INTEGER)?;
        return Some(SpkiKey::Rsa {
            n: unsigned(n),
            e: unsigned(e),
        });
    }
    let (curve, _) = expect(parameters, OID)?;
    match key {
        [0x04, point @ ..] if oid == EC_PUBLIC_KEY && curve == P256 && point.len() == 64 => {
            let (x, y) = point.split_at(32);
            Some(SpkiKey::P256 { x, y })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ecdsa_signature_in_der_becomes_r_and_s_padded_to_the_curve_size() {
        // r with a sign byte, s shorter than 32 bytes.
        let mut der = vec![SEQUENCE, 0, INTEGER, 33, 0];
        der.extend([0x80; 32]);
        der.extend([INTEGER, 2, 0x01, 0x02]);
        der[1] = u8::try_from(der.len() - 2).unwrap();
        let fixed = ecdsa_fixed(&der, 32).unwrap();
        assert_eq!(&fixed[..32], &[0x80; 32]);
        assert_eq!(&fixed[32..62], &[0; 30]);
        assert_eq!(&fixed[62..], &[1, 2]);
    }

    #[test]
    fn truncated_or_trailing_or_oversized_der_is_refused() {
        assert_eq!(ecdsa_fixed(&[SEQUENCE, 4, INTEGER, 1, 1], 32), None);
        assert_eq!(
            ecdsa_fixed(&[SEQUENCE, 6, INTEGER, 1, 1, INTEGER, 1, 1, 0], 32),
            None
        );
        let mut long = vec![SEQUENCE, 38, INTEGER, 33];
        long.extend([0x7f; 33]);
        long.extend([INTEGER, 1, 1]);
        assert_eq!(ecdsa_fixed(&long, 32), None);
        assert_eq!(spki(&[SEQUENCE, 0x82, 0xff]), None);
        assert_eq!(spki(&[]), None);
    }
}
