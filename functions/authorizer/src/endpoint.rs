//! The call to the token validation endpoint: transport only. What the answer means is
//! decided in [`crate::decision`].

use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};

use crate::pre_inputs::{DEFAULT_MAX_RESPONSE_BYTES, PreInputs};

/// What to ask the endpoint.
#[derive(Clone, Copy)]
pub enum ValidationCall<'a> {
    /// Mashery's style: GET with the caller's `Authorization` header passed through.
    Forward {
        /// The caller's `Authorization` header value.
        authorization: &'a str,
    },
    /// RFC 7662: POST `token=…` with the authorizer's client credentials.
    Introspect {
        /// The bearer token.
        token: &'a str,
        /// The authorizer's client id.
        client_id: &'a str,
        /// The authorizer's client secret.
        client_secret: &'a str,
    },
    /// A plain GET of a public JSON document: a JWKS, or an issuer's metadata.
    Document,
}

impl std::fmt::Debug for ValidationCall<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Forward { .. } => f.write_str("Forward(<redacted>)"),
            Self::Introspect { client_id, .. } => write!(f, "Introspect(client_id={client_id})"),
            Self::Document => f.write_str("Document"),
        }
    }
}

/// The kind of body, by the response's declared `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// `application/json` or `*/*+json`.
    Json,
    /// `application/xml`, `text/xml` or `*/*+xml`.
    Xml,
    /// Anything else, or nothing.
    Other,
}

impl ContentKind {
    /// Classifies a `Content-Type` header value.
    pub fn of(content_type: Option<&str>) -> Self {
        let media = content_type
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if media == "application/json" || media.ends_with("+json") {
            Self::Json
        } else if media == "application/xml" || media == "text/xml" || media.ends_with("+xml") {
            Self::Xml
        } else {
            Self::Other
        }
    }
}

/// The endpoint's answer. The body is read only for a 200.
#[derive(Debug, Clone)]
pub struct EndpointResponse {
    /// The HTTP status.
    pub status: u16,
    /// The declared content kind.
    pub content: ContentKind,
    /// The body, at most the configured size (empty unless the status is 200).
    pub body: Vec<u8>,
    /// How long the answer may be cached, from `Cache-Control` (`no-store` and `no-cache`
    /// are zero).
    pub max_age: Option<std::time::Duration>,
}

/// The lifetime `Cache-Control` gives a response: `max-age`, or zero for `no-store` and
/// `no-cache`.
pub fn max_age(cache_control: &str) -> Option<std::time::Duration> {
    let mut max_age = None;
    for directive in cache_control.split(',').map(str::trim) {
        let name = directive.split('=').next().unwrap_or_default();
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(std::time::Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            max_age = directive
                .split_once('=')
                .and_then(|(_, n)| n.trim().trim_matches('"').parse().ok())
                .map(std::time::Duration::from_secs);
        }
    }
    max_age
}

/// No usable answer: refused, unresolvable, timed out, or a body over the limit.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct NoResponse(pub String);

/// A token validation endpoint, as the decision sees it.
#[async_trait]
pub trait ValidationEndpoint: Send + Sync {
    /// Makes one validation call.
    async fn call(
        &self,
        endpoint: &Url,
        call: ValidationCall<'_>,
    ) -> Result<EndpointResponse, NoResponse>;

    /// Opens a connection to `endpoint` ahead of the first request, if the transport can.
    async fn warm_up(&self, _endpoint: &Url) {}
}

/// The real endpoint, over one reqwest client built at cold start.
#[derive(Debug, Clone)]
pub struct HttpValidationEndpoint {
    client: reqwest::Client,
    max_response_bytes: usize,
}

impl HttpValidationEndpoint {
    /// A client for these pre-inputs: their proxy (and no other: environment proxy
    /// variables are ignored so the configuration alone decides), their timeouts, no
    /// redirects.
    pub fn new(pre_inputs: Option<&PreInputs>) -> Result<Self, reqwest::Error> {
        let timeouts = pre_inputs.map(|p| p.timeouts).unwrap_or_default();
        // The TLS configuration the SDK's transport uses too, built once; an unusable
        // SSL_CERT_FILE leaves no roots, so every HTTPS call fails and names it in the log.
        let builder = match tokengate_shared::tls::client_config() {
            Ok(tls) => reqwest::Client::builder().tls_backend_preconfigured(tls),
            Err(problem) => {
                tracing::error!(reason = "tls_roots_unusable", detail = %problem);
                reqwest::Client::builder()
                    .tls_backend_preconfigured(tokengate_shared::tls::trusting_nothing())
            }
        };
        let mut builder = builder
            .http1_only()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.total)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tokengate-authorizer/", env!("CARGO_PKG_VERSION")));
        builder = match pre_inputs.and_then(|p| p.proxy.as_ref()) {
            Some(proxy) => builder.proxy(reqwest::Proxy::all(proxy.as_str())?),
            None => builder.no_proxy(),
        };
        Ok(Self {
            client: builder.build()?,
            max_response_bytes: pre_inputs
                .map_or(DEFAULT_MAX_RESPONSE_BYTES, |p| p.max_response_bytes),
        })
    }
}

/// An endpoint as it may be logged: scheme, host, port and path, never user info or a
/// query string, which could carry credentials.
pub fn loggable(endpoint: &Url) -> String {
    format!(
        "{}{}",
        endpoint.origin().ascii_serialization(),
        endpoint.path()
    )
}

/// The innermost cause of an error chain ("Connection refused (os error 111)").
pub fn innermost_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

fn no_response(err: &reqwest::Error) -> NoResponse {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "the body could not be read"
    } else {
        "the request failed"
    };
    NoResponse(format!("{what}: {}", innermost_cause(err)))
}

#[async_trait]
impl ValidationEndpoint for HttpValidationEndpoint {
    async fn call(
        &self,
        endpoint: &Url,
        call: ValidationCall<'_>,
    ) -> Result<EndpointResponse, NoResponse> {
        let accept = HeaderValue::from_static("application/json, application/xml;q=0.9, */*;q=0.1");
        let request = match call {
            ValidationCall::Forward { authorization } => {
                let value = HeaderValue::from_str(authorization).map_err(|_| {
                    NoResponse("the Authorization header cannot be forwarded".into())
                })?;
                self.client
                    .get(endpoint.clone())
                    .header(AUTHORIZATION, value)
            }
            ValidationCall::Introspect {
                token,
                client_id,
                client_secret,
            } => self
                .client
                .post(endpoint.clone())
                .basic_auth(form_encode(client_id), Some(form_encode(client_secret)))
                .form(&[("token", token), ("token_type_hint", "access_token")]),
            ValidationCall::Document => self.client.get(endpoint.clone()),
        };
        let mut response = request
            .header(ACCEPT, accept)
            .send()
            .await
            .map_err(|e| no_response(&e))?;
        let status = response.status().as_u16();
        let content = ContentKind::of(
            response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let mut body = Vec::new();
        if status == 200 {
            if response
                .content_length()
                .is_some_and(|len| len > self.max_response_bytes as u64)
            {
                return Err(NoResponse(format!(
                    "the body is over {} bytes",
                    self.max_response_bytes
                )));
            }
            while let Some(chunk) = response.chunk().await.map_err(|e| no_response(&e))? {
                if body.len() + chunk.len() > self.max_response_bytes {
                    return Err(NoResponse(format!(
                        "the body is over {} bytes",
                        self.max_response_bytes
                    )));
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(EndpointResponse {
            status,
            content,
            body,
            max_age,
        })
    }

    /// Opens a connection to `endpoint` so the first request does not pay for the TCP and
    /// TLS handshakes; any answer, or none, is fine.
    async fn warm_up(&self, endpoint: &Url) {
        let _ = self
            .client
            .head(endpoint.clone())
            .timeout(std::time::Duration::from_secs(1))
            .send()
            .await;
    }
}

/// RFC 6749 §2.3.1: client credentials are form-urlencoded before HTTP Basic.
fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_endpoint_never_shows_credentials_or_a_query() {
        let url = Url::parse("https://user:s3cret@idp.example:8443/introspect?key=k").unwrap();
        assert_eq!(loggable(&url), "https://idp.example:8443/introspect");
    }

    #[test]
    fn content_types_are_classified_by_media_type() {
        assert_eq!(
            ContentKind::of(Some("application/json; charset=utf-8")),
            ContentKind::Json
        );
        assert_eq!(
            ContentKind::of(Some("application/token-introspection+json")),
            ContentKind::Json
        );
        assert_eq!(ContentKind::of(Some("text/xml")), ContentKind::Xml);
        assert_eq!(
            ContentKind::of(Some("application/soap+xml")),
            ContentKind::Xml
        );
        assert_eq!(ContentKind::of(Some("text/plain")), ContentKind::Other);
        assert_eq!(ContentKind::of(None), ContentKind::Other);
    }

    #[test]
    fn cache_control_gives_max_age_and_no_store_or_no_cache_give_zero() {
        use std::time::Duration;
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("max-age=60, no-cache"), Some(Duration::ZERO));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn client_credentials_are_form_encoded_for_basic() {
        assert_eq!(form_encode("a b:c%d+é"), "a+b%3Ac%25d%2B%C3%A9");
    }
}
