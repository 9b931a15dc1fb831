//! What the authorizer reads of a request: its credentials, each exactly once, before
//! any store or endpoint is asked.

use std::collections::BTreeMap;

use http::HeaderMap;
use tokengate_shared::KeyId;

use crate::error::{Denial, Reason};
use crate::pre_inputs::{ApiKeySource, KeyChecker};

/// What the authorizer sees of a request, whatever the event's type or payload version.
#[derive(Clone, Default)]
pub struct AuthRequest {
    /// Every value of every header; any spelling of a name is the same name.
    pub headers: HeaderMap,
    /// Every value of every query string parameter.
    pub query: BTreeMap<String, Vec<String>>,
    /// A TOKEN authorizer event: it carries only the token, no headers or query.
    pub token_event: bool,
    /// The id of the API key API Gateway itself checked, when the event says.
    pub gateway_api_key_id: Option<String>,
    /// What makes the event itself unusable (no `methodArn`): denied before anything else.
    pub malformed: Option<Reason>,
    /// Where the request is going, as the route table reads it.
    pub route: RouteAt,
}

/// Where a request is going, as the event says it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RouteAt {
    /// The event does not say.
    #[default]
    Unknown,
    /// A REST API's method ARN after the stage (`GET/orders/1`).
    MethodArn(String),
    /// An HTTP API's `routeKey` (`GET /orders/{id}`).
    RouteKey(String),
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: values carry credentials.
        f.debug_struct("AuthRequest")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("query", &self.query.keys().collect::<Vec<_>>())
            .field("token_event", &self.token_event)
            .finish_non_exhaustive()
    }
}

/// The one value of a credential, or why there is not exactly one.
pub(crate) enum Single<'a> {
    None,
    One(&'a str),
    Several,
}

impl AuthRequest {
    /// Every non-empty value of a header, each trimmed. A comma inside a value counts as
    /// two values: payload 2.0 joins repeated headers with commas, and no bearer token,
    /// Basic credential or API key holds one.
    fn credential_values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .get_all(name)
            .into_iter()
            .flat_map(|v| {
                std::str::from_utf8(v.as_bytes())
                    .unwrap_or("\u{fffd}")
                    .split(',')
            })
            .map(str::trim)
    }

    pub(crate) fn single_header(&self, name: &str) -> Single<'_> {
        let mut values = self.credential_values(name);
        match (values.next(), values.next()) {
            (None, _) => Single::None,
            (Some(""), None) => Single::None,
            (Some(one), None) => Single::One(one),
            (Some(_), Some(_)) => Single::Several,
        }
    }
}

/// The API key a request presents, before any store is asked.
pub(crate) enum PresentedKey {
    /// API Gateway checked it: its id is the principal.
    CheckedByGateway(String),
    /// A key id for `KEYS_TABLE`.
    Key(KeyId),
}

pub(crate) fn presented_key(
    request: &AuthRequest,
    source: &ApiKeySource,
) -> Result<PresentedKey, Denial> {
    if source.checked_by == KeyChecker::ApiGateway {
        return Ok(PresentedKey::CheckedByGateway(
            request
                .gateway_api_key_id
                .clone()
                .unwrap_or_else(|| "api-gateway-key".to_owned()),
        ));
    }
    if request.token_event {
        return Err(Reason::AuthorizerTypeUnsupported.into());
    }
    let presented = presented_api_key(request, source)?;
    KeyId::parse(presented)
        .map(PresentedKey::Key)
        .map_err(|_| Denial::of(Reason::ApiKeyUnknown))
}

/// The one API key of a request: from the header (any spelling, one value) or the query
/// parameter (one value); both may be sent only when they agree.
fn presented_api_key<'a>(
    request: &'a AuthRequest,
    source: &ApiKeySource,
) -> Result<&'a str, Denial> {
    let header = match request.single_header(&source.header) {
        Single::Several => return Err(Reason::ApiKeyMultiple.into()),
        Single::One(value) => Some(value),
        Single::None => None,
    };
    let query: Vec<&str> = request
        .query
        .get(&source.query)
        .into_iter()
        .flatten()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    match (header, query.as_slice()) {
        (None, []) => Err(Reason::ApiKeyMissing.into()),
        (_, [_, _, ..]) => Err(Reason::ApiKeyMultiple.into()),
        (Some(h), [q]) if h != *q => Err(Reason::ApiKeyMultiple.into()),
        (Some(h), _) => Ok(h),
        (None, [q]) => Ok(q),
    }
}

/// The token of a `Bearer` header (the scheme in any case, RFC 6750 §2.1), or `None` for
/// any other scheme or none.
pub(crate) fn bearer_token(authorization: &str) -> Option<&str> {
    match authorization.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Some(token.trim()).filter(|t| !t.is_empty())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_token_is_taken_from_its_scheme_in_any_case_and_nothing_else_is_one() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        assert_eq!(bearer_token("abc"), None);
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
