//! Cold starts measured the way Lambda has them: a small Lambda Runtime API server on
//! loopback spawns a function binary with a Lambda-like environment, serves it one event,
//! and records how long the binary took to ask for its first event (init), to post its
//! answer (first answer), and its peak resident memory (`VmHWM`), CPU time and page faults at
//! that moment.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::Notify;

use crate::ProcessGroup;

/// What one cold start measured.
#[derive(Debug, Clone)]
pub struct ColdStart {
    /// From spawning the process to its first `GET …/invocation/next`.
    pub init: Duration,
    /// From spawning the process to its answer being posted.
    pub first_answer: Duration,
    /// `VmHWM` when the answer arrived, in KiB.
    pub peak_rss_kib: u64,
    /// CPU time of all the process's threads when the answer arrived: unlike the times
    /// above, it leaves out the peers' service time and the machine's other work.
    pub cpu: Duration,
    /// Minor page faults when the answer arrived: the pages of the binary and heap touched.
    pub page_faults: u64,
    /// What the function answered.
    pub answer: serde_json::Value,
}

#[derive(Default)]
struct Invocation {
    event: Option<Vec<u8>>,
    next_at: Option<Instant>,
    answered_at: Option<Instant>,
    answer: Option<Bytes>,
    error: Option<String>,
    at_init: Option<Box<dyn FnOnce() + Send>>,
}

#[derive(Clone)]
struct Api {
    invocation: Arc<Mutex<Invocation>>,
    done: Arc<Notify>,
}

impl Api {
    fn with<T>(&self, f: impl FnOnce(&mut Invocation) -> T) -> T {
        f(&mut self
            .invocation
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }
}

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

async fn next(State(api): State<Api>) -> Response {
    let (event, at_init) = api.with(|i| {
        i.next_at.get_or_insert_with(Instant::now);
        (i.event.take(), i.at_init.take())
    });
    if let Some(at_init) = at_init {
        at_init();
    }
    let Some(event) = event else {
        // The one event is served: the function waits here until it is stopped.
        std::future::pending::<()>().await;
        return StatusCode::NO_CONTENT.into_response();
    };
    invocation(event.into(), HeaderValue::from_static(REQUEST_ID))
}

/// An invocation as the Runtime API hands it out: the event, with its request id, a
/// deadline 10 s away and the function's ARN.
pub(crate) fn invocation(event: axum::body::Bytes, request_id: HeaderValue) -> Response {
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        + Duration::from_secs(10);
    let mut response = event.into_response();
    let headers = response.headers_mut();
    headers.insert("lambda-runtime-aws-request-id", request_id);
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from(deadline.as_millis() as u64),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:coldstart"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    response
}

async fn answer(State(api): State<Api>, UrlPath(_id): UrlPath<String>, body: Bytes) -> StatusCode {
    api.with(|i| {
        i.answered_at = Some(Instant::now());
        i.answer = Some(body);
    });
    api.done.notify_one();
    StatusCode::ACCEPTED
}

async fn invocation_error(
    State(api): State<Api>,
    UrlPath(_id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    init_error(State(api), body).await
}

async fn init_error(State(api): State<Api>, body: Bytes) -> StatusCode {
    api.with(|i| i.error = Some(String::from_utf8_lossy(&body).into_owned()));
    api.done.notify_one();
    StatusCode::ACCEPTED
}

/// `binary` as Lambda starts a function: its Runtime API at `runtime_api`, Lambda's
/// variables and dummy credentials, then `env`; its output discarded.
pub fn lambda_command(binary: &Path, runtime_api: &str, env: &[(String, String)]) -> Command {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "coldstart")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/coldstart")
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/12/02/[$LATEST]coldstart",
        )
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "coldstart")
        .env("AWS_SECRET_ACCESS_KEY", "coldstart")
        .env("AWS_SESSION_TOKEN", "coldstart")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("LAMBDA_TASK_ROOT", "/var/task")
        .env("TZ", ":UTC")
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// The peak resident set of a live process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time so far of a live process's threads (`schedstat`, nanoseconds), and its minor
/// page faults (`stat`'s tenth field).
fn cpu_and_faults(pid: u32) -> Option<(Duration, u64)> {
    let mut cpu = Duration::ZERO;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let schedstat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        cpu += Duration::from_nanos(schedstat.split_whitespace().next()?.parse().ok()?);
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let minor_faults = after_name.split_whitespace().nth(7)?.parse().ok()?;
    Some((cpu, minor_faults))
}

/// Spawns `binary` with `args` as Lambda would, with `env` on top of the Lambda variables,
/// serves it `event`, and measures its cold start. `at_init` runs when the function first
/// asks for an event. The process is stopped afterwards.
///
/// # Errors
/// When the function reports an error, exits, or does not answer within `limit`.
pub async fn measure(
    binary: &Path,
    args: &[String],
    env: &[(String, String)],
    event: &[u8],
    limit: Duration,
    at_init: impl FnOnce() + Send + 'static,
) -> Result<ColdStart, String> {
    let api = Api {
        invocation: Arc::new(Mutex::new(Invocation {
            event: Some(event.to_vec()),
            at_init: Some(Box::new(at_init)),
            ..Invocation::default()
        })),
        done: Arc::new(Notify::new()),
    };
    let router = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(answer))
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("no loopback port for the runtime API: {e}"))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("no runtime API address: {e}"))?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let mut command = lambda_command(binary, &address.to_string(), env);
    command.args(args);
    let started = Instant::now();
    let mut process = ProcessGroup::spawn(&mut command)
        .map_err(|e| format!("{} did not start: {e}", binary.display()))?;
    let pid = process.child().id();
    let answered = tokio::time::timeout(limit, api.done.notified()).await;
    let peak = peak_rss_kib(pid);
    let usage = cpu_and_faults(pid);
    let exited = process.child().try_wait().ok().flatten();
    drop(process);
    server.abort();
    let stderr_hint = || format!("{} (exit {exited:?})", binary.display());
    answered.map_err(|_| format!("{}: no answer within {limit:?}", stderr_hint()))?;
    let (next_at, answered_at, answer, error) =
        api.with(|i| (i.next_at, i.answered_at, i.answer.take(), i.error.take()));
    if let Some(error) = error {
        return Err(format!("{}: the function reported {error}", stderr_hint()));
    }
    let (Some(next_at), Some(answered_at), Some(answer)) = (next_at, answered_at, answer) else {
        return Err(format!("{}: no answer was posted", stderr_hint()));
    };
    let (cpu, page_faults) =
        usage.ok_or_else(|| format!("{}: no schedstat or stat in /proc", stderr_hint()))?;
    Ok(ColdStart {
        init: next_at - started,
        first_answer: answered_at - started,
        peak_rss_kib: peak.ok_or_else(|| format!("{}: no VmHWM", stderr_hint()))?,
        cpu,
        page_faults,
        answer: serde_json::from_slice(&answer)
            .map_err(|e| format!("{}: the answer is not JSON: {e}", stderr_hint()))?,
    })
}

/// The median of some durations (the mean of the middle two for an even count).
pub fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}
