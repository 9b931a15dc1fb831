//! `tokengate serve`'s admin listener, on a loopback port of its own as Kong's and
//! Oathkeeper's are: `GET /health` (the store's reachability) and `GET /metrics` (the same
//! counters the Lambda functions emit as EMF, in the Prometheus text format, under
//! Prometheus' names: [`crate::prometheus`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use tokengate_shared::{KeyAdmin, KeyId};

use crate::CliError;
use crate::answer::json_answer;
use crate::prometheus::PrometheusNames;

/// How long `/health` waits for the store before calling it unreachable.
const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the admin routes read.
pub struct Admin {
    /// The recorder's rendering of every metric.
    pub metrics: PrometheusHandle,
    /// The store `/health` probes.
    pub keys: Arc<dyn KeyAdmin>,
    /// `memory` or `dynamodb`, for `/health`.
    pub store: &'static str,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").field("store", &self.store).finish()
    }
}

/// Installs the process's metrics recorder (Prometheus), names the functions' metrics, and
/// keeps its histograms trimmed.
///
/// # Errors
/// When a recorder is already installed.
pub fn install_recorder() -> Result<PrometheusHandle, CliError> {
    let (recorder, handle) = PrometheusNames::new();
    metrics::set_global_recorder(recorder)
        .map_err(|e| CliError::Setup(format!("cannot install the metrics recorder: {e}")))?;
    authorizer::metrics::describe();
    token_issuer::metrics::describe();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// The admin router.
pub fn router(admin: Admin) -> axum::Router {
    axum::Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(Arc::new(admin))
}

async fn health(State(admin): State<Arc<Admin>>) -> Response {
    // Any read will do: a key that does not exist costs one GetItem on DynamoDB.
    let problem = match KeyId::parse("tokengate-health-probe") {
        Ok(id) => match tokio::time::timeout(STORE_PROBE_TIMEOUT, admin.keys.get(&id)).await {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("no answer within {STORE_PROBE_TIMEOUT:?}")),
        },
        Err(e) => Some(e.to_string()),
    };
    let (status, body) = match problem {
        None => (
            StatusCode::OK,
            json!({"status": "ok", "store": {"kind": admin.store, "reachable": true}}),
        ),
        Some(detail) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "unavailable",
                "store": {"kind": admin.store, "reachable": false, "detail": detail}}),
        ),
    };
    json_answer(status, &body)
}

async fn metrics(State(admin): State<Arc<Admin>>) -> Response {
    let mut response = admin.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

async fn not_found() -> Response {
    json_answer(
        StatusCode::NOT_FOUND,
        &json!({"error": "not_found",
            "error_description": "The admin port serves GET /health and GET /metrics."}),
    )
}
