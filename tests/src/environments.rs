//! Execution environments as Lambda runs them: N processes of one function binary, each
//! asking one loopback Lambda Runtime API for its next invocation, so that invocations
//! spread over whichever environment is free. The scale of a deployment, on one machine.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

use crate::ProcessGroup;
use crate::coldstart::lambda_command;

struct Job {
    event: Bytes,
    answer: oneshot::Sender<Bytes>,
}

#[derive(Clone)]
struct Api {
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Bytes>>>>,
    next_id: Arc<AtomicU64>,
}

async fn next(State(api): State<Api>) -> Response {
    let job = api.queue.lock().await.recv().await;
    let Some(job) = job else {
        std::future::pending::<()>().await;
        return StatusCode::NO_CONTENT.into_response();
    };
    let id = format!("req-{}", api.next_id.fetch_add(1, Ordering::Relaxed));
    api.waiting
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id.clone(), job.answer);
    match HeaderValue::from_str(&id) {
        Ok(id) => crate::coldstart::invocation(job.event, id),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn answer(State(api): State<Api>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    let waiting = api
        .waiting
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
    if let Some(waiting) = waiting {
        let _ = waiting.send(body);
    }
    StatusCode::ACCEPTED
}

/// The environments, stopped on drop.
pub struct Environments {
    _processes: Vec<ProcessGroup>,
    jobs: mpsc::Sender<Job>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Environments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environments")
            .field("processes", &self._processes.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Environments {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Environments {
    /// Starts `count` processes of `binary` with `env`, each an execution environment.
    ///
    /// # Panics
    /// When no loopback port is free or the binary does not start.
    pub async fn start(binary: &Path, count: usize, env: &[(String, String)]) -> Self {
        let (jobs, queue) = mpsc::channel(100_000);
        let api = Api {
            queue: Arc::new(tokio::sync::Mutex::new(queue)),
            waiting: Arc::default(),
            next_id: Arc::default(),
        };
        let router = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(answer))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(answer))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the runtime API");
        let address = listener.local_addr().expect("an address").to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let processes = (0..count)
            .map(|_| {
                ProcessGroup::spawn(&mut lambda_command(binary, &address, env))
                    .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()))
            })
            .collect();
        Self {
            _processes: processes,
            jobs,
            server,
        }
    }

    /// `event` sent `rate` times a second for `duration`, each queued on its tick: every
    /// answer, once all have come.
    pub async fn paced(
        &self,
        event: &Bytes,
        rate: u64,
        duration: Duration,
    ) -> Vec<Result<serde_json::Value, String>> {
        let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
        let count = (duration.as_secs_f64() * rate as f64).round() as u64;
        let mut ticks = tokio::time::interval(interval);
        let mut answers = Vec::new();
        for _ in 0..count {
            ticks.tick().await;
            answers.push(self.invoke(event.clone()));
        }
        futures_util::future::join_all(answers).await
    }

    /// One invocation, queued now for whichever environment is free: the function's answer
    /// as JSON, once it comes, or why there is none within 10 s.
    pub fn invoke(
        &self,
        event: Bytes,
    ) -> impl std::future::Future<Output = Result<serde_json::Value, String>> + use<> {
        let (answer, answered) = oneshot::channel();
        let queued = self.jobs.try_send(Job { event, answer });
        async move {
            queued.map_err(|e| format!("the invocation was not queued: {e}"))?;
            let body = tokio::time::timeout(Duration::from_secs(10), answered)
                .await
                .map_err(|_| "no answer within 10 s".to_owned())?
                .map_err(|_| "the invocation was dropped".to_owned())?;
            serde_json::from_slice(&body).map_err(|e| format!("the answer is not JSON: {e}"))
        }
    }
}
