//! The listeners: HTTP/1.1 connections with a header-read timeout and a bound on what hyper
//! parses, each request tagged with its peer; and the signals that stop serve.

use std::net::SocketAddr;

use super::bare_errors;
use crate::CliError;

/// What hyper itself parses before the handler sees the count, well above [`MAX_HEADERS`];
/// past it hyper answers 431 itself, rewritten as JSON by [`bare_errors`].
const PARSED_HEADERS: usize = 1_000;

/// The address a connection came from: the source API Gateway would name.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peer(pub(super) std::net::IpAddr);

/// Ctrl-C or SIGTERM.
pub(super) async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// A listener on 127.0.0.1:`port`, and its address.
pub(super) async fn listen(
    port: u16,
    option: &'static str,
) -> Result<(tokio::net::TcpListener, SocketAddr), CliError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| CliError::Bind {
            address: format!("127.0.0.1:{port}"),
            option,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| CliError::Bind {
        address: format!("127.0.0.1:{port}"),
        option,
        source,
    })?;
    Ok((listener, address))
}

/// Serves HTTP/1.1 connections with a header-read (and idle keep-alive) timeout, which
/// `axum::serve` does not offer.
pub(super) async fn accept_loop(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    header_timeout: std::time::Duration,
) -> Result<(), CliError> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off, keep serving.
                tracing::warn!(reason = "accept_failed", error = %e);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let service =
            TowerToHyperService::new(router.clone().layer(axum::Extension(Peer(peer.ip()))));
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_headers(PARSED_HEADERS)
                .serve_connection(TokioIo::new(bare_errors::JsonErrors::new(stream)), service)
                .await;
        });
    }
}
