//! The AWS SDK's HTTP transport: a reqwest client, HTTP/1.1 only, over the function's one
//! TLS configuration ([`crate::tls`]).
//!
//! The SDK's own transport brings a second HTTP stack with HTTP/2, which DynamoDB does not
//! speak, and builds a TLS configuration of its own from PEM. The published reqwest adapters
//! either force reqwest's HTTP/2 on or build their own clients over the system's roots, so
//! this small one is ours.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// An [`HttpClient`] for the SDK over one reqwest client and its connection pool.
#[derive(Debug, Clone)]
pub struct SdkTransport {
    client: reqwest::Client,
}

impl SdkTransport {
    /// A transport whose connections are established within `connect_timeout`. The SDK's
    /// attempt and operation timeouts bound everything else.
    ///
    /// # Errors
    /// The TLS configuration's problem ([`crate::tls::client_config`]), or reqwest's.
    pub fn new(connect_timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::client_config()?)
            .http1_only()
            .connect_timeout(connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { client })
    }

    /// The same, shared, as the SDK's configuration takes it.
    pub fn shared(self) -> SharedHttpClient {
        SharedHttpClient::new(self)
    }
}

impl HttpClient for SdkTransport {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for SdkTransport {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request.map(reqwest::Body::wrap),
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(Box::new(e)))),
        };
        let request = match reqwest::Request::try_from(request) {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(connector_error(e))),
        };
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let response = client.execute(request).await.map_err(connector_error)?;
            let response = http::Response::<reqwest::Body>::from(response);
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(Box::new(e), None))
        })
    }
}

/// The SDK retries timeouts and I/O errors; a connection never made is safe to retry
/// whatever the operation.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(Box::new(e))
    } else if e.is_connect() {
        ConnectorError::io(Box::new(e)).never_connected()
    } else if e.is_builder() {
        ConnectorError::user(Box::new(e))
    } else if e.is_request() || e.is_body() || e.is_decode() {
        ConnectorError::io(Box::new(e))
    } else {
        ConnectorError::other(Box::new(e), None)
    }
}
