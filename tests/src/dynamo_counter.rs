//! A reverse proxy in front of a DynamoDB endpoint that records each operation it relays
//! (`X-Amz-Target`) and how long the endpoint took: the proof of how many round trips a
//! function makes, and the peer's share of a cold start. Over HTTP, or over HTTPS as
//! DynamoDB is ([`DynamoCounter::start_https`]). With [`ItemLimits`]
//! ([`DynamoCounter::start_limited`]) it also holds each item to a read and a write rate,
//! as DynamoDB holds a partition, answering `ProvisionedThroughputExceededException` past
//! them ([`crate::item_limits`]).

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};

use crate::item_limits::{ItemLimits, ItemMeter, Usage};
use crate::loopback_tls::LoopbackTls;

/// The proxy, stopped on drop.
#[derive(Debug)]
pub struct DynamoCounter {
    scheme: &'static str,
    port: u16,
    operations: Arc<Mutex<Vec<String>>>,
    upstream_time: Arc<Mutex<std::time::Duration>>,
    meter: Option<Arc<ItemMeter>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Relay {
    upstream: String,
    http: reqwest::Client,
    operations: Arc<Mutex<Vec<String>>>,
    upstream_time: Arc<Mutex<std::time::Duration>>,
    meter: Option<Arc<ItemMeter>>,
}

impl DynamoCounter {
    /// Starts the proxy on a free loopback port, relaying to `upstream` (moto's URL).
    pub async fn start(upstream: &str) -> Self {
        Self::serve(upstream, None, None).await
    }

    /// The same, serving HTTPS with `tls`'s certificate: the clients trust
    /// [`LoopbackTls::ca_file`].
    pub async fn start_https(upstream: &str, tls: &LoopbackTls) -> Self {
        Self::serve(upstream, Some(tls), None).await
    }

    /// The same over HTTP, holding each item to `limits`.
    pub async fn start_limited(upstream: &str, limits: ItemLimits) -> Self {
        Self::serve(upstream, None, Some(Arc::new(ItemMeter::new(limits)))).await
    }

    /// With limits: each item's read and write units so far, and the requests refused.
    pub fn usage(&self) -> Option<Usage> {
        self.meter.as_ref().map(|m| m.usage())
    }

    async fn serve(
        upstream: &str,
        tls: Option<&LoopbackTls>,
        meter: Option<Arc<ItemMeter>>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the counter");
        let port = listener.local_addr().expect("a bound address").port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let operations = Arc::new(Mutex::new(Vec::new()));
        let upstream_time = Arc::new(Mutex::new(std::time::Duration::ZERO));
        let relay = Relay {
            upstream: upstream.trim_end_matches('/').to_owned(),
            // Plain HTTP to moto; a client needs a TLS configuration all the same.
            http: reqwest::Client::builder()
                .tls_backend_preconfigured(tokengate_shared::tls::trusting_nothing())
                .build()
                .expect("a plain HTTP client builds"),
            operations: operations.clone(),
            upstream_time: upstream_time.clone(),
            meter: meter.clone(),
        };
        let router = axum::Router::new().fallback(forward).with_state(relay);
        let task = match tls {
            Some(tls) => {
                let listener = tls.listener(listener);
                tokio::spawn(async move {
                    let _ = axum::serve(listener, router).await;
                })
            }
            None => tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            }),
        };
        Self {
            scheme,
            port,
            operations,
            upstream_time,
            meter,
            task,
        }
    }

    /// The time the endpoint spent answering since the last call, relaying included.
    pub fn take_upstream_time(&self) -> std::time::Duration {
        std::mem::take(
            &mut *self
                .upstream_time
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The endpoint to give the SDK (`AWS_ENDPOINT_URL_DYNAMODB`).
    pub fn endpoint(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    /// The operations relayed since the last call (`GetItem`, `BatchGetItem`, …), in order.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .operations
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

impl Drop for DynamoCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    State(relay): State<Relay>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("unknown")
        .to_owned();
    relay
        .operations
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(operation.clone());
    if let Some(meter) = &relay.meter
        && let Some(refusal) = meter.admit(&operation, &body)
    {
        return refusal;
    }
    let mut request = relay
        .http
        .request(method, format!("{}{uri}", relay.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let started = std::time::Instant::now();
    let sent = request.send().await;
    let answer_and_body = match sent {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let bytes = answer.bytes().await.unwrap_or_default();
            Some((status, headers, bytes))
        }
        Err(_) => None,
    };
    *relay
        .upstream_time
        .lock()
        .unwrap_or_else(PoisonError::into_inner) += started.elapsed();
    let Some((status, answer_headers, bytes)) = answer_and_body else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap_or_default();
    };
    let mut response = Response::builder().status(status);
    for (name, value) in &answer_headers {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(bytes)).unwrap_or_default()
}
