//! The upstream side of `tokengate serve`: the headers the backend receives, the built-in
//! echo, and the proxy to `--upstream`, whose base path a request can never climb out of.

use authorizer::endpoint::{innermost_cause, loggable};
use authorizer::header_rules::{HOP_BY_HOP, same_variable};
use authorizer::injection::InjectedHeader;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;

use crate::answer::json_answer;

/// Why the upstream gave no answer, kept on the 502/504 response for the request's log line.
#[derive(Debug, Clone)]
pub(super) struct UpstreamFailure(pub(super) String);

/// Whether a request path has a dot segment (`.` or `..`), raw or percent-encoded, with `/`
/// or `\` as the separator: such a path could climb out of the upstream's base once
/// resolved, after the authorizer saw it unresolved.
pub(super) fn has_dot_segment(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    [path, decoded.as_ref()].iter().any(|p| {
        p.split(['/', '\\'])
            .any(|segment| segment == "." || segment == "..")
    })
}

/// The upstream URL for a request path: the base's path, then the request's path as it
/// came, appended and never resolved (dot segments were refused before).
pub(super) fn upstream_url(
    upstream: &reqwest::Url,
    path: &str,
    query: Option<&str>,
) -> reqwest::Url {
    let mut url = upstream.clone();
    let base = upstream.path().trim_end_matches('/');
    url.set_path(&format!("{base}{path}"));
    url.set_query(query);
    url
}

/// The headers the backend receives: the client's, less hop-by-hop ones, any header that
/// a backend could read as one the pre-inputs may inject (a client must not be able to
/// forge one, RFC 9700 §4.13: any case, `-` or `_`), and AWS's own `X-Amzn-*` but the trace
/// id (backends trust them: `x-amzn-oidc-identity` is ALB's authenticated user), less
/// `Authorization` when blocked; then the injected ones.
pub(super) fn backend_headers(
    injectable: &[String],
    incoming: &HeaderMap,
    injected: &[InjectedHeader],
    block_authorization: bool,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in incoming {
        let lower = name.as_str();
        let dropped = HOP_BY_HOP.contains(&lower)
            || lower == "host"
            || lower == "content-length"
            || injectable.iter().any(|h| same_variable(h, lower))
            || (lower.starts_with("x-amzn-") && lower != "x-amzn-trace-id")
            || (block_authorization && lower == "authorization");
        if !dropped {
            headers.append(name.clone(), value.clone());
        }
    }
    for header in injected {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(header.header.as_bytes()),
            HeaderValue::from_str(&header.value),
        ) {
            headers.insert(name, value);
        }
    }
    headers
}

pub(super) fn echo(
    parts: &axum::http::request::Parts,
    headers: &HeaderMap,
    body_bytes: usize,
) -> Response<Body> {
    let shown: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    json_answer(
        StatusCode::OK,
        &json!({
            "echo": "tokengate serve's built-in upstream",
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": parts.uri.query().unwrap_or(""),
            "headers": shown,
            "body_bytes": body_bytes,
        }),
    )
}

pub(super) async fn forward(
    client: &reqwest::Client,
    upstream: &reqwest::Url,
    parts: &axum::http::request::Parts,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let url = upstream_url(upstream, parts.uri.path(), parts.uri.query());
    let sent = client
        .request(parts.method.clone(), url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(e) => return upstream_failure(upstream, &e),
    };
    let status = response.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != "content-length" {
            out_headers.append(name.clone(), value.clone());
        }
    }
    let bytes = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(e) => return upstream_failure(upstream, &e),
    };
    let mut answer = Response::new(Body::from(bytes));
    *answer.status_mut() = status;
    *answer.headers_mut() = out_headers;
    answer
}

/// A 504 for an upstream that did not answer in time, a 502 for one that failed; the
/// cause goes to the log only.
fn upstream_failure(upstream: &reqwest::Url, err: &reqwest::Error) -> Response<Body> {
    let at = loggable(upstream);
    let (mut response, failure) = if err.is_timeout() {
        (
            json_answer(
                StatusCode::GATEWAY_TIMEOUT,
                &json!({"error": "upstream_timeout", "error_description": "The upstream did not answer in time."}),
            ),
            format!("{at}: no answer in time"),
        )
    } else {
        (
            json_answer(
                StatusCode::BAD_GATEWAY,
                &json!({"error": "bad_gateway", "error_description": "The upstream did not answer."}),
            ),
            format!("{at}: {}", innermost_cause(err)),
        )
    };
    response.extensions_mut().insert(UpstreamFailure(failure));
    response
}
