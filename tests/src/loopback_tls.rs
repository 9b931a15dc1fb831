//! HTTPS for loopback peers: a throwaway certificate authority, and a certificate for
//! `127.0.0.1` it signed. The functions trust the authority through `SSL_CERT_FILE`, so
//! that the cold-start harness measures the TLS handshake a function makes with DynamoDB.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The authority's certificate in a PEM file, removed when dropped, and the server's
/// configuration.
#[derive(Debug)]
pub struct LoopbackTls {
    ca_file: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

impl LoopbackTls {
    /// A new authority (ECDSA P-256, as most public CAs' leaves are) and its server
    /// certificate for `127.0.0.1`.
    pub fn generate() -> Self {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "tokengate loopback CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("a CA key"))
            .expect("the CA signs itself");
        let server_key = KeyPair::generate().expect("a server key");
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("server parameters")
            .signed_by(&server_key, &ca)
            .expect("the CA signs the server's certificate");
        let ca_file =
            std::env::temp_dir().join(format!("{}.pem", crate::unique_name("loopback-ca")));
        std::fs::write(&ca_file, ca.pem()).expect("a file in the temporary folder");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_single_cert(vec![server.der().clone(), ca.der().clone()], key)
        .expect("the server's certificate and key match");
        Self {
            ca_file,
            server: Arc::new(server),
        }
    }

    /// The authority's certificate, PEM: the `SSL_CERT_FILE` (or boto3's `AWS_CA_BUNDLE`)
    /// that trusts the server.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Serves `listener`'s connections over TLS, for `axum::serve`.
    pub fn listener(&self, listener: TcpListener) -> TlsListener {
        TlsListener {
            tcp: listener,
            acceptor: TlsAcceptor::from(self.server.clone()),
        }
    }
}

impl Drop for LoopbackTls {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

/// A TCP listener whose connections are handed on once their handshake is done, one at a
/// time (the harness has one client); a failed handshake drops that connection only.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, address)) = self.tcp.accept().await else {
                continue;
            };
            // The handshake's flights are several writes: without this, Nagle's algorithm
            // holds one back for the client's delayed ACK, 40 ms.
            let _ = tcp.set_nodelay(true);
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
