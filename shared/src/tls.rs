//! The one TLS client configuration of a function, built once per cold start and shared by
//! every HTTPS client it has: the AWS SDK's transport ([`crate::transport`]) and the
//! authorizer's client for validation endpoints.
//!
//! By default it trusts Mozilla's roots compiled into the binary as trust anchors
//! (`webpki-roots`): no file is read and no certificate is parsed. Reading the system's
//! store instead costs a cold start hundreds of file opens under `/etc/ssl/certs` and a parse
//! of each certificate, once per client. `SSL_CERT_FILE` names a PEM bundle to trust instead,
//! for a private CA: one file, read and parsed once.

use std::sync::{Arc, LazyLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

static CONFIG: LazyLock<Result<ClientConfig, String>> = LazyLock::new(|| {
    let roots = match std::env::var("SSL_CERT_FILE")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(path) => from_file(&path)?,
        None => compiled_in(),
    };
    build(roots)
});

/// The configuration, built on first use. Cloning it is cheap: its parts are shared.
///
/// # Errors
/// When `SSL_CERT_FILE` names a file that cannot be read or holds no usable certificate.
pub fn client_config() -> Result<ClientConfig, String> {
    CONFIG.clone()
}

fn compiled_in() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn from_file(path: &str) -> Result<RootCertStore, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("SSL_CERT_FILE {path} cannot be read: {e}"))?;
    let der = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("SSL_CERT_FILE {path} is not a PEM bundle: {e}"))?;
    let mut roots = RootCertStore::empty();
    let (_, unusable) = roots.add_parsable_certificates(der);
    if roots.is_empty() {
        return Err(format!(
            "SSL_CERT_FILE {path} holds no usable certificate ({unusable} could not be parsed)"
        ));
    }
    Ok(roots)
}

/// A configuration that trusts no server: for a client that speaks plain HTTP only (the
/// Lambda Runtime API), or stands in when the roots are unusable, so that every HTTPS call
/// fails and says so.
pub fn trusting_nothing() -> ClientConfig {
    build(RootCertStore::empty()).expect("ring supports rustls's default protocol versions")
}

/// TLS 1.2 and 1.3 with ring, the one crypto provider in the binaries, named here so that
/// no process-wide default has to be installed: reqwest is built without one of its own, and
/// every client is given this configuration.
fn build(roots: RootCertStore) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_roots_are_mozillas_and_make_a_configuration() {
        let roots = compiled_in();
        assert!(roots.len() > 100, "{}", roots.len());
        let config = build(roots).unwrap();
        assert!(config.alpn_protocols.is_empty(), "HTTP/1.1 only");
    }

    #[test]
    fn the_configuration_trusting_nothing_builds_on_ring_the_one_provider() {
        let config = trusting_nothing();
        assert!(config.alpn_protocols.is_empty(), "HTTP/1.1 only");
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(
            config.crypto_provider().cipher_suites,
            ring.cipher_suites,
            "the one provider"
        );
    }

    #[test]
    fn a_bundle_file_that_is_missing_or_empty_is_named() {
        let missing = from_file("/nonexistent/bundle.pem").unwrap_err();
        assert!(missing.starts_with("SSL_CERT_FILE /nonexistent/bundle.pem cannot be read"));
        let empty = std::env::temp_dir().join(format!("empty-{}.pem", std::process::id()));
        std::fs::write(&empty, b"no certificates here\n").unwrap();
        let problem = from_file(empty.to_str().unwrap()).unwrap_err();
        assert!(problem.contains("holds no usable certificate"), "{problem}");
        let _ = std::fs::remove_file(empty);
    }
}
