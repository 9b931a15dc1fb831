//! The `jwt` validation style: JWT access tokens (RFC 9068) verified locally against the
//! issuer's JSON Web Key Set, with no call per request.
//!
//! - [`JwtVerifier`]: one key source per validation URI, fetched through the validation
//!   endpoint's client (its proxy, its timeouts), refreshed in the background once stale and
//!   at once for an unknown `kid`, never more often than `jwks_refresh_seconds`, and kept
//!   as it is while the endpoint is down.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::errors::ErrorKind;
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;
use tracing::{info, warn};

use crate::endpoint::{ValidationCall, ValidationEndpoint, loggable};
use crate::error::{Denial, Reason};
use crate::keyset::KeySet;
use crate::moment::Moment;
use crate::pre_inputs::{JwtStyle, PreInputs};

/// The longest a fetched key set is trusted before it is refreshed, whatever its
/// `Cache-Control` says: a key the issuer withdrew stops being trusted within this time.
pub const MAX_KEY_SET_LIFETIME: Duration = Duration::from_secs(3_600);

/// Where one validation URI's keys stand.
#[derive(Default)]
struct SourceState {
    keys: Option<Arc<KeySet>>,
    /// The JWKS URI: the validation URI itself, or what discovery found there.
    jwks_uri: Option<Url>,
    last_fetch: Option<Instant>,
    stale_at: Option<Instant>,
}

/// The keys behind one validation URI.
struct KeySource {
    uri: Url,
    discovery: bool,
    /// With discovery: the issuer the metadata must name, exactly (RFC 8414 §3.3).
    issuer: String,
    allowed: Vec<Algorithm>,
    refresh: Duration,
    state: RwLock<SourceState>,
    fetching: Arc<tokio::sync::Mutex<()>>,
}

/// What a look at a source found.
struct Snapshot {
    keys: Option<Arc<KeySet>>,
    stale: bool,
    may_fetch: bool,
    last_fetch: Option<Instant>,
}

impl KeySource {
    fn snapshot(&self, now: Instant) -> Snapshot {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        Snapshot {
            keys: state.keys.clone(),
            stale: state.stale_at.is_none_or(|at| now >= at),
            may_fetch: state
                .last_fetch
                .is_none_or(|at| now.duration_since(at) >= self.refresh),
            last_fetch: state.last_fetch,
        }
    }

    /// Fetches the key set once, unless another task fetched it since `seen`. A failure
    /// keeps the keys there were.
    async fn refresh(
        &self,
        endpoint: &dyn ValidationEndpoint,
        seen: Option<Instant>,
        now: Instant,
    ) {
        let _fetching = self.fetching.lock().await;
        self.refresh_locked(endpoint, seen, now).await;
    }

    /// The fetch is recorded at `now`, or when it ended if that is later.
    async fn refresh_locked(
        &self,
        endpoint: &dyn ValidationEndpoint,
        seen: Option<Instant>,
        now: Instant,
    ) {
        let jwks_uri = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            if state.last_fetch != seen {
                return;
            }
            state.jwks_uri.clone()
        };
        let fetched = self.fetch(endpoint, jwks_uri).await;
        crate::metrics::jwks_refresh(fetched.is_ok());
        let now = now.max(Instant::now());
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.last_fetch = Some(now);
        match fetched {
            Ok((jwks_uri, keys, max_age)) => {
                let lifetime = max_age
                    .unwrap_or(MAX_KEY_SET_LIFETIME)
                    .clamp(self.refresh, MAX_KEY_SET_LIFETIME.max(self.refresh));
                info!(
                    reason = "jwks_refreshed",
                    endpoint = %loggable(&jwks_uri),
                    keys = keys.len(),
                    lifetime_seconds = lifetime.as_secs(),
                );
                state.keys = Some(Arc::new(keys));
                state.stale_at = Some(now + lifetime);
                state.jwks_uri = Some(jwks_uri);
            }
            Err(detail) => warn!(
                reason = "jwks_refresh_failed",
                endpoint = %loggable(&self.uri),
                kept_keys = state.keys.as_ref().map_or(0, |k| k.len()),
                detail = %detail,
            ),
        }
    }

    async fn fetch(
        &self,
        endpoint: &dyn ValidationEndpoint,
        known_jwks_uri: Option<Url>,
    ) -> Result<(Url, KeySet, Option<Duration>), String> {
        let jwks_uri = match known_jwks_uri {
            Some(uri) => uri,
            None if self.discovery => discover(endpoint, &self.uri, &self.issuer).await?,
            None => self.uri.clone(),
        };
        let document = get_json(endpoint, &jwks_uri).await?;
        let keys = KeySet::parse(&document.body, &self.allowed)
            .map_err(|e| format!("{}: {e}", loggable(&jwks_uri)))?;
        Ok((jwks_uri, keys, document.max_age))
    }
}

/// A 200 answer's body and lifetime.
struct Document {
    body: Vec<u8>,
    max_age: Option<Duration>,
}

async fn get_json(endpoint: &dyn ValidationEndpoint, uri: &Url) -> Result<Document, String> {
    let at = loggable(uri);
    let response = endpoint
        .call(uri, ValidationCall::Document)
        .await
        .map_err(|e| format!("{at}: {e}"))?;
    if response.status != 200 {
        return Err(format!("{at}: status {}", response.status));
    }
    Ok(Document {
        body: response.body,
        max_age: response.max_age,
    })
}

/// The JWKS URI in an issuer's metadata: OpenID Connect Discovery's
/// `/.well-known/openid-configuration` under the issuer, else RFC 8414's
/// `/.well-known/oauth-authorization-server` before its path, else under it (where an API
/// Gateway stage, which owns no path outside itself, serves token-issuer's). The metadata
/// must name
/// `expected_issuer` exactly (RFC 8414 §3.3, OpenID Connect Discovery §4.3), and its
/// `jwks_uri` must be https (loopback aside).
async fn discover(
    endpoint: &dyn ValidationEndpoint,
    issuer: &Url,
    expected_issuer: &str,
) -> Result<Url, String> {
    #[derive(Deserialize)]
    struct Metadata {
        issuer: Option<String>,
        jwks_uri: String,
    }
    let path = issuer.path().trim_end_matches('/');
    let mut failures = Vec::new();
    for metadata_path in [
        format!("{path}/.well-known/openid-configuration"),
        format!("/.well-known/oauth-authorization-server{path}"),
        format!("{path}/.well-known/oauth-authorization-server"),
    ] {
        let mut metadata_uri = issuer.clone();
        metadata_uri.set_path(&metadata_path);
        metadata_uri.set_query(None);
        let metadata = match get_json(endpoint, &metadata_uri).await {
            Ok(document) => document,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let at = loggable(&metadata_uri);
        let metadata: Metadata = serde_json::from_slice(&metadata.body)
            .map_err(|e| format!("{at}: no jwks_uri in the metadata ({e})"))?;
        if metadata.issuer.as_deref() != Some(expected_issuer) {
            return Err(format!(
                "{at}: the metadata's issuer is not the configured issuer {expected_issuer}"
            ));
        }
        return Url::parse(&metadata.jwks_uri)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .filter(|u| !crate::pre_inputs::is_plain_http_to_a_remote_host(u))
            .ok_or_else(|| format!("{at}: jwks_uri is not an https URL"));
    }
    Err(format!("discovery failed: {}", failures.join("; ")))
}

/// Verifies JWTs against the key sets of every validation URI of the pre-inputs.
pub struct JwtVerifier {
    endpoint: Arc<dyn ValidationEndpoint>,
    sources: HashMap<Url, Arc<KeySource>>,
    algorithms: Vec<Algorithm>,
    default_uri: Option<Url>,
    /// `profile: "rfc9068"`: `typ` must be `at+jwt`.
    rfc9068: bool,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field(
                "sources",
                &self.sources.keys().map(loggable).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// A verifier for every validation URI of these pre-inputs. The `jwks_file` keys, if
    /// any, are the default URI's until its first fetch, which happens in the background.
    pub fn new(
        pre_inputs: &PreInputs,
        style: &JwtStyle,
        endpoint: Arc<dyn ValidationEndpoint>,
    ) -> Self {
        let now = Instant::now();
        let sources = pre_inputs
            .region_uris
            .values()
            .chain(&pre_inputs.default_uri)
            .map(|uri| {
                let initial = (Some(uri) == pre_inputs.default_uri.as_ref())
                    .then(|| style.initial_keys.clone())
                    .flatten();
                let state = SourceState {
                    stale_at: initial.as_ref().map(|_| now),
                    keys: initial,
                    ..SourceState::default()
                };
                let region = pre_inputs
                    .region_uris
                    .iter()
                    .find(|(_, u)| *u == uri)
                    .map(|(region, _)| region.as_str());
                let source = KeySource {
                    uri: uri.clone(),
                    discovery: style.discovery,
                    issuer: style.issuer_for(region).to_owned(),
                    allowed: style.algorithms.clone(),
                    refresh: style.jwks_refresh,
                    state: RwLock::new(state),
                    fetching: Arc::default(),
                };
                (uri.clone(), Arc::new(source))
            })
            .collect();
        Self {
            endpoint,
            sources,
            algorithms: style.algorithms.clone(),
            default_uri: pre_inputs.default_uri.clone(),
            rfc9068: style.rfc9068,
        }
    }

    /// Fetches the default URI's key set at cold start, unless `jwks_file` gave one.
    pub async fn warm_up(&self) {
        let Some(source) = self.default_uri.as_ref().and_then(|u| self.sources.get(u)) else {
            return;
        };
        let now = Instant::now();
        let snapshot = source.snapshot(now);
        if snapshot.keys.is_none() {
            source
                .refresh(self.endpoint.as_ref(), snapshot.last_fetch, now)
                .await;
        }
    }

    /// Verifies a token's signature with the key set of `uri` as it stands at `now`; its
    /// claims, as JSON.
    pub async fn verify(&self, uri: &Url, token: &str, now: Moment) -> Result<Value, Denial> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| refused_header(token, &e))?;
        // The header was read once; the signature is checked over the token's own bytes.
        let Some((message, signature)) = token.rsplit_once('.') else {
            return Err(Denial::with_detail(
                Reason::TokenMalformed,
                "no signature part",
            ));
        };
        let Some((_, payload)) = message.split_once('.') else {
            return Err(Denial::with_detail(
                Reason::TokenMalformed,
                "no payload part",
            ));
        };
        if header.crit.as_ref().is_some_and(|crit| !crit.is_empty()) {
            return Err(Denial::with_detail(
                Reason::TokenMalformed,
                "crit names extensions tokengate does not understand",
            ));
        }
        let typ = header.typ.as_deref();
        if self.rfc9068 && !typ.is_some_and(is_rfc9068_type) {
            return Err(Denial::with_detail(
                Reason::TokenTypeRefused,
                "profile rfc9068: typ is not at+jwt",
            ));
        }
        if typ.is_some_and(|typ| !is_access_token_type(typ)) {
            return Err(Denial::with_detail(
                Reason::TokenTypeRefused,
                "typ is neither JWT nor at+jwt",
            ));
        }
        let alg = header.alg;
        if !self.algorithms.contains(&alg) {
            return Err(Denial::with_detail(
                Reason::AlgorithmRefused,
                format!("alg {alg:?} is not in the allowed algorithms"),
            ));
        }
        let kid = header.kid.as_deref();
        let keys = self.keys_for(uri, kid, alg, now.instant()).await?;
        let mut candidates = keys.candidates(kid, alg).peekable();
        if candidates.peek().is_none() {
            return Err(Denial::with_detail(
                Reason::SigningKeyUnknown,
                format!(
                    "no {alg:?} key {}in the key set",
                    if kid.is_some() { "with this kid " } else { "" }
                ),
            ));
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| {
            Denial::with_detail(Reason::TokenMalformed, "the signature is not base64url")
        })?;
        let mut verified = false;
        for key in candidates {
            match crate::signature::verify(alg, &key.key, message.as_bytes(), &signature) {
                Ok(true) => {
                    verified = true;
                    break;
                }
                Ok(false) => {}
                Err(misfit) => return Err(Denial::with_detail(Reason::TokenMalformed, misfit)),
            }
        }
        if !verified {
            return Err(Reason::SignatureInvalid.into());
        }
        let claims = URL_SAFE_NO_PAD.decode(payload).map_err(|_| {
            Denial::with_detail(Reason::TokenMalformed, "the payload is not base64url")
        })?;
        serde_json::from_slice::<Value>(&claims)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                Denial::with_detail(Reason::TokenMalformed, "the payload is not a JSON object")
            })
    }

    /// The key set to verify with: the current one, refreshed first when it does not know
    /// the token's key and the last fetch is older than `jwks_refresh_seconds`, and in the
    /// background when it is past its lifetime.
    async fn keys_for(
        &self,
        uri: &Url,
        kid: Option<&str>,
        alg: Algorithm,
        now: Instant,
    ) -> Result<Arc<KeySet>, Denial> {
        let source = self
            .sources
            .get(uri)
            .ok_or_else(|| Denial::with_detail(Reason::JwksUnavailable, "no key source"))?;
        let snapshot = source.snapshot(now);
        match snapshot.keys {
            Some(keys) if keys.knows(kid, alg) => {
                if snapshot.stale && snapshot.may_fetch {
                    self.refresh_in_background(source, snapshot.last_fetch, now);
                }
                Ok(keys)
            }
            Some(keys) if !snapshot.may_fetch => Ok(keys),
            None if !snapshot.may_fetch => Err(Denial::with_detail(
                Reason::JwksUnavailable,
                format!(
                    "{}: no key set yet, and the last fetch failed less than {} s ago",
                    loggable(uri),
                    source.refresh.as_secs()
                ),
            )),
            _ => {
                source
                    .refresh(self.endpoint.as_ref(), snapshot.last_fetch, now)
                    .await;
                source.snapshot(now).keys.ok_or_else(|| {
                    Denial::with_detail(
                        Reason::JwksUnavailable,
                        format!("{}: the key set could not be fetched", loggable(uri)),
                    )
                })
            }
        }
    }

    fn refresh_in_background(&self, source: &Arc<KeySource>, seen: Option<Instant>, now: Instant) {
        // One refresh at a time: while one runs, requests go on with the keys there are.
        let Ok(fetching) = source.fetching.clone().try_lock_owned() else {
            return;
        };
        let (source, endpoint) = (source.clone(), self.endpoint.clone());
        tokio::spawn(async move {
            source.refresh_locked(endpoint.as_ref(), seen, now).await;
            drop(fetching);
        });
    }
}

/// RFC 9068's `at+jwt` (also as a media type), or plain `JWT`.
fn is_access_token_type(typ: &str) -> bool {
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    typ.eq_ignore_ascii_case("jwt") || is_rfc9068_type(typ)
}

/// RFC 9068 §2.1's `at+jwt`, also as the media type `application/at+jwt`.
fn is_rfc9068_type(typ: &str) -> bool {
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    typ.eq_ignore_ascii_case("at+jwt")
}

/// Why a header was refused: an algorithm never accepted (`none`, or one jsonwebtoken does
/// not know), or a malformed token. Nothing of the token is echoed.
fn refused_header(token: &str, err: &jsonwebtoken::errors::Error) -> Denial {
    #[derive(Deserialize)]
    struct Alg {
        alg: String,
    }
    let declared = token
        .split('.')
        .next()
        .and_then(|header| URL_SAFE_NO_PAD.decode(header).ok())
        .and_then(|json| serde_json::from_slice::<Alg>(&json).ok());
    match declared {
        Some(Alg { alg }) if alg.eq_ignore_ascii_case("none") => {
            Denial::with_detail(Reason::AlgorithmRefused, "alg none")
        }
        Some(_) if matches!(err.kind(), ErrorKind::Json(_)) => {
            Denial::with_detail(Reason::AlgorithmRefused, "an unknown alg")
        }
        _ => Denial::with_detail(Reason::TokenMalformed, words(err)),
    }
}

/// A jsonwebtoken error in words that never echo the token.
fn words(err: &jsonwebtoken::errors::Error) -> String {
    match err.kind() {
        ErrorKind::InvalidToken => "not three dot-separated parts",
        ErrorKind::Base64(_) => "a part is not base64url",
        ErrorKind::Json(_) => "a part is not the JSON it must be",
        ErrorKind::Utf8(_) => "a part is not UTF-8",
        _ => "refused by the JWT decoder",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typ_may_be_jwt_or_at_jwt_in_either_spelling() {
        for typ in ["JWT", "jwt", "at+jwt", "application/at+jwt", "AT+JWT"] {
            assert!(is_access_token_type(typ), "{typ}");
        }
        for typ in ["JOSE", "id_token+jwt", "secevent+jwt", ""] {
            assert!(!is_access_token_type(typ), "{typ}");
        }
    }

    #[test]
    fn an_unsigned_or_unknown_algorithm_header_is_algorithm_refused() {
        let encode = |header: Value| URL_SAFE_NO_PAD.encode(header.to_string());
        let none = format!("{}.e30.", encode(json!({"alg": "none"})));
        let err = jsonwebtoken::decode_header(&none).unwrap_err();
        assert_eq!(refused_header(&none, &err).reason, Reason::AlgorithmRefused);
        let unknown = format!("{}.e30.c2ln", encode(json!({"alg": "XS999"})));
        let err = jsonwebtoken::decode_header(&unknown).unwrap_err();
        assert_eq!(
            refused_header(&unknown, &err).reason,
            Reason::AlgorithmRefused
        );
        let garbage = "not-a-jwt";
        let err = jsonwebtoken::decode_header(garbage).unwrap_err();
        assert_eq!(refused_header(garbage, &err).reason, Reason::TokenMalformed);
    }
}
