//! The root certificates every HTTPS client of a function trusts, loaded once per cold
//! start and shared by the AWS SDK's client and the authorizer's reqwest client.
//!
//! By default they are Mozilla's roots compiled into the binary (`webpki-root-certs`): no
//! file is read. Reading the system's store instead costs a cold start hundreds of file
//! opens under `/etc/ssl/certs`, once per client. `SSL_CERT_FILE` names a PEM bundle to
//! trust instead, for a private CA: one file, read once.

use std::sync::LazyLock;

use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The trusted roots, and where they came from.
#[derive(Debug)]
pub struct Roots {
    /// Each root certificate, DER.
    pub der: Vec<CertificateDer<'static>>,
    /// The same as one PEM bundle, for clients that take PEM.
    pub pem: Vec<u8>,
    /// `compiled-in Mozilla roots` or the bundle's path, for the cold-start log.
    pub source: String,
}

static ROOTS: LazyLock<Result<Roots, String>> = LazyLock::new(|| {
    match std::env::var("SSL_CERT_FILE")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(path) => from_file(&path),
        None => Ok(compiled_in()),
    }
});

/// The roots, loaded on first use.
///
/// # Errors
/// When `SSL_CERT_FILE` names a file that cannot be read or holds no certificate.
pub fn roots() -> Result<&'static Roots, String> {
    ROOTS.as_ref().map_err(Clone::clone)
}

fn compiled_in() -> Roots {
    let der = webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec();
    let mut pem = Vec::with_capacity(der.len() * 2_000);
    for cert in &der {
        let body = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    Roots {
        der,
        pem,
        source: "compiled-in Mozilla roots".into(),
    }
}

fn from_file(path: &str) -> Result<Roots, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("SSL_CERT_FILE {path} cannot be read: {e}"))?;
    let der = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("SSL_CERT_FILE {path} is not a PEM bundle: {e}"))?;
    if der.is_empty() {
        return Err(format!("SSL_CERT_FILE {path} holds no certificate"));
    }
    Ok(Roots {
        der,
        pem,
        source: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_roots_round_trip_through_their_pem_bundle() {
        let roots = compiled_in();
        assert!(roots.der.len() > 100, "{}", roots.der.len());
        let parsed = CertificateDer::pem_slice_iter(&roots.pem)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(parsed, roots.der);
    }

    #[test]
    fn a_bundle_file_that_is_missing_or_empty_is_named() {
        let missing = from_file("/nonexistent/bundle.pem").unwrap_err();
        assert!(missing.starts_with("SSL_CERT_FILE /nonexistent/bundle.pem cannot be read"));
        let empty = std::env::temp_dir().join(format!("empty-{}.pem", std::process::id()));
        std::fs::write(&empty, b"no certificates here\n").unwrap();
        let problem = from_file(empty.to_str().unwrap()).unwrap_err();
        assert!(problem.ends_with("holds no certificate"), "{problem}");
        let _ = std::fs::remove_file(empty);
    }
}
