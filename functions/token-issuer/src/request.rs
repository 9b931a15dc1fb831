//! Turning an HTTP request into a token or introspection request, or a 400 that names the
//! part at fault.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use lambda_http::Request;
use lambda_http::http::HeaderMap;
use lambda_http::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use tokengate_shared::{Audience, Scope, Secret, SystemCode};

use crate::error::TokenEndpointError;
use crate::routes::Contract;

/// The only grant type the endpoint serves.
pub const GRANT_TYPE: &str = "client_credentials";
/// The only scope INN-Reach asks for.
pub const SCOPE: &str = tokengate_shared::INN_REACH_SCOPE;

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// Standard base64, with or without padding: clients differ.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

type Result<T> = std::result::Result<T, TokenEndpointError>;

/// HTTP Basic client credentials, decoded as RFC 6749 §2.3.1 says: base64, split at the
/// first `:`, then each half form-urldecoded. The secret never shows in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The key id as sent; it may not be a valid one.
    pub key: String,
    /// The secret as sent.
    pub secret: Secret,
    /// The caller's address as API Gateway saw it (`requestContext.identity.sourceIp` on a
    /// REST API, `requestContext.http.sourceIp` on an HTTP API): failures are counted
    /// against it too. `None` where the event has none.
    pub source: Option<String>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("key", &self.key)
            .field("secret", &self.secret)
            .field("source", &self.source)
            .finish()
    }
}

/// A well-formed token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// Who asks.
    pub credentials: ClientCredentials,
    /// `X-From-Code`: the system the key must be valid for. Always there at INN-Reach's
    /// path; at `/oauth2/token` only when sent.
    pub from_code: Option<SystemCode>,
    /// `X-To-Code`, on the same terms.
    pub to_code: Option<SystemCode>,
    /// The contract the request was held to.
    pub contract: Contract,
    /// The `scope` asked for, as sent: scope tokens separated by single spaces, each
    /// checked; `None`: every scope the client holds.
    pub scope: Option<String>,
    /// The audiences asked for (`resource`, RFC 8707, or `audience`), as sent; none: every
    /// audience the client's tokens may be for. One that is not the client's is refused
    /// when granting, malformed or not.
    pub audiences: Vec<String>,
}

/// A well-formed RFC 7662 introspection or RFC 7009 revocation request: an authenticated
/// client and the token it names.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenOperation {
    /// The client asking.
    pub credentials: ClientCredentials,
    /// The token, as presented.
    pub token: String,
}

impl fmt::Debug for TokenOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenOperation")
            .field("credentials", &self.credentials)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl TokenRequest {
    /// Parses a token request under its route's contract. Every header and parameter is
    /// checked before the credentials are looked up, so a malformed request is a 400
    /// whatever its credentials.
    pub fn parse(request: &Request, contract: Contract) -> Result<Self> {
        let mut parsed = match contract {
            Contract::InnReach => Self::parse_inn_reach(request)?,
            Contract::Standard => Self::parse_standard(request)?,
        };
        parsed.credentials.source = source_ip(request);
        Ok(parsed)
    }

    fn parse_inn_reach(request: &Request) -> Result<Self> {
        let headers = request.headers();
        let credentials = basic_credentials(headers)?;
        let from_code = system_code(headers, "X-From-Code")?;
        let to_code = system_code(headers, "X-To-Code")?;
        // Required and checked, but not used: INN-Reach defines no freshness window.
        creation_time(headers, "X-Request-Creation-Time")?;
        accepts_json(headers)?;
        let content_type = media_type(headers)?;
        if content_type != JSON && content_type != FORM {
            return Err(TokenEndpointError::invalid(format!(
                "The Content-Type header must be {JSON} (or {FORM} with the parameters in the body)."
            )));
        }
        let mut params = query_parameters(request);
        if content_type == FORM {
            params.extend(body_parameters(request));
        }
        refuse_body_credentials(&params)?;
        expect_parameter(&params, "grant_type", GRANT_TYPE)?;
        expect_parameter(&params, "scope", SCOPE)?;
        Ok(Self {
            credentials,
            from_code: Some(from_code),
            to_code: Some(to_code),
            contract: Contract::InnReach,
            scope: Some(SCOPE.to_owned()),
            audiences: Vec::new(),
        })
    }

    fn parse_standard(request: &Request) -> Result<Self> {
        let headers = request.headers();
        refuse_credentials_in_query(request)?;
        let params = standard_parameters(request, true)?;
        if headers.contains_key(ACCEPT) {
            accepts_json(headers)?;
        }
        let from_code = optional(headers, "X-From-Code", system_code)?;
        let to_code = optional(headers, "X-To-Code", system_code)?;
        optional(headers, "X-Request-Creation-Time", creation_time)?;
        let credentials = client_credentials(headers, &params)?;
        match single_parameter(&params, "grant_type")? {
            GRANT_TYPE => {}
            _ => return Err(TokenEndpointError::UnsupportedGrantType),
        }
        Ok(Self {
            credentials,
            from_code,
            to_code,
            contract: Contract::Standard,
            scope: requested_scope(&params)?,
            audiences: requested_audiences(&params)?,
        })
    }
}

impl TokenOperation {
    /// Parses an introspection or revocation request: a form body with `token`, and the
    /// client's credentials by either method. A request with no credentials at all is
    /// asked for them (401, RFC 7662 §2.1, RFC 7009 §2.1).
    pub fn parse(request: &Request) -> Result<Self> {
        refuse_credentials_in_query(request)?;
        let params = standard_parameters(request, false)?;
        let mut credentials = client_credentials(request.headers(), &params)?;
        credentials.source = source_ip(request);
        let token = single_parameter(&params, "token")?.to_owned();
        Ok(Self { credentials, token })
    }
}

/// The parameters of a request at a standard route: a form body (RFC 6749 §3.2), or for
/// the token route also the query string when there is no body.
fn standard_parameters(request: &Request, query_allowed: bool) -> Result<Params<'_>> {
    let body_empty = request.body().is_empty();
    let form_required =
        || TokenEndpointError::invalid(format!("The Content-Type header must be {FORM}."));
    let content_type = if request.headers().contains_key(CONTENT_TYPE) || !body_empty {
        Some(media_type(request.headers()).map_err(|_| form_required())?)
    } else {
        None
    };
    match content_type.as_deref() {
        Some(FORM) => {
            let mut params = body_parameters(request);
            if query_allowed {
                params.extend(query_parameters(request));
            }
            Ok(params)
        }
        None | Some(JSON) if query_allowed && body_empty => Ok(query_parameters(request)),
        _ => Err(form_required()),
    }
}

/// Client authentication by exactly one method (RFC 6749 §2.3): HTTP Basic
/// (`client_secret_basic`) or `client_id` and `client_secret` in the form body
/// (`client_secret_post`).
fn client_credentials(headers: &HeaderMap, params: &Params<'_>) -> Result<ClientCredentials> {
    let in_body = ["client_id", "client_secret"]
        .iter()
        .any(|name| params.iter().any(|(k, _)| k == name));
    if headers.contains_key(AUTHORIZATION) {
        refuse_body_credentials(params)?;
        return basic_credentials(headers);
    }
    if !in_body || optional_parameter(params, "client_secret")?.is_none() {
        return Err(TokenEndpointError::ClientAuthenticationRequired);
    }
    Ok(ClientCredentials {
        key: single_parameter(params, "client_id")?.to_owned(),
        secret: Secret::from(single_parameter(params, "client_secret")?.to_owned()),
        source: None,
    })
}

/// RFC 6749 §2.3.1: client credentials never travel in the request URI, where access logs
/// and shell history keep them.
fn refuse_credentials_in_query(request: &Request) -> Result<()> {
    if query_parameters(request)
        .iter()
        .any(|(k, _)| k == "client_id" || k == "client_secret")
    {
        return Err(TokenEndpointError::invalid(
            "client_id and client_secret belong in the form body (or use HTTP Basic), never in the URL's query string.",
        ));
    }
    Ok(())
}

/// The caller's address as API Gateway saw it, when the event says: a REST API's
/// `requestContext.identity.sourceIp`, an HTTP API's `requestContext.http.sourceIp`.
fn source_ip(request: &Request) -> Option<String> {
    use lambda_http::RequestExt as _;
    use lambda_http::request::RequestContext;
    let ip = match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(c) => c.identity.source_ip.as_deref(),
        RequestContext::ApiGatewayV2(c) => c.http.source_ip.as_deref(),
        _ => None,
    }?;
    // Only an address is a counter's key: nothing else the event might carry.
    ip.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
}

/// RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request.
fn refuse_body_credentials(params: &Params<'_>) -> Result<()> {
    if params
        .iter()
        .any(|(k, _)| k == "client_id" || k == "client_secret")
    {
        return Err(TokenEndpointError::invalid(
            "Use one client authentication method: HTTP Basic, or client_id and client_secret in the body, not both.",
        ));
    }
    Ok(())
}

/// A header checked by `parse` when it is sent; absent is fine.
fn optional<T>(
    headers: &HeaderMap,
    name: &str,
    parse: impl Fn(&HeaderMap, &str) -> Result<T>,
) -> Result<Option<T>> {
    if headers.contains_key(name) {
        parse(headers, name).map(Some)
    } else {
        Ok(None)
    }
}

fn creation_time(headers: &HeaderMap, name: &str) -> Result<u64> {
    epoch_seconds(single_header(headers, name)?).ok_or_else(|| {
        TokenEndpointError::invalid(format!(
            "The {name} header must be epoch seconds, a whole number."
        ))
    })
}

fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str> {
    let mut values = headers.get_all(name).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => {
            return Err(TokenEndpointError::invalid(format!(
                "The {name} header must appear once."
            )));
        }
        (Some(value), None) => Some(value),
    };
    let text = value
        .map(|v| {
            v.to_str().map_err(|_| {
                TokenEndpointError::invalid(format!("The {name} header must be printable ASCII."))
            })
        })
        .transpose()?
        .map(str::trim)
        .unwrap_or_default();
    if text.is_empty() {
        return Err(TokenEndpointError::invalid(format!(
            "The {name} header is required."
        )));
    }
    Ok(text)
}

/// Digits only: `str::parse` would also take a leading `+`.
fn epoch_seconds(text: &str) -> Option<u64> {
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse().ok())
        .flatten()
}

fn system_code(headers: &HeaderMap, name: &str) -> Result<SystemCode> {
    SystemCode::parse(single_header(headers, name)?).map_err(|_| {
        TokenEndpointError::invalid(format!(
            "The {name} header must be a five-character code of letters and digits."
        ))
    })
}

fn media_type(headers: &HeaderMap) -> Result<String> {
    let value = single_header(headers, "Content-Type")?;
    Ok(value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase())
}

fn accepts_json(headers: &HeaderMap) -> Result<()> {
    let value = single_header(headers, "Accept")?;
    let admits_json = value.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or_default().trim();
        ["application/json", "application/*", "*/*"]
            .iter()
            .any(|ok| media.eq_ignore_ascii_case(ok))
    });
    if admits_json {
        Ok(())
    } else {
        Err(TokenEndpointError::invalid(format!(
            "The Accept header must allow {JSON}."
        )))
    }
}

fn basic_credentials(headers: &HeaderMap) -> Result<ClientCredentials> {
    let value = single_header(headers, "Authorization")?;
    let not_basic =
        || TokenEndpointError::invalid("The Authorization header must use the Basic scheme.");
    let (scheme, encoded) = value.split_once(' ').ok_or_else(not_basic)?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Err(not_basic());
    }
    let decoded = BASE64.decode(encoded.trim()).map_err(|_| {
        TokenEndpointError::invalid("The Authorization header's Basic credentials must be base64.")
    })?;
    let colon = decoded.iter().position(|&b| b == b':').ok_or_else(|| {
        TokenEndpointError::invalid(
            "The Authorization header's Basic credentials must be key:secret.",
        )
    })?;
    let utf8 = |bytes: &[u8]| {
        String::from_utf8(form_decode(bytes).into_owned()).map_err(|_| {
            TokenEndpointError::invalid(
                "The Authorization header's Basic credentials must be UTF-8.",
            )
        })
    };
    Ok(ClientCredentials {
        key: utf8(&decoded[..colon])?,
        secret: Secret::from(utf8(&decoded[colon + 1..])?),
        source: None,
    })
}

/// A request's parameters, decoded; borrowed from the request where nothing needed
/// decoding, so that a parameter costs an allocation only when it was encoded.
type Params<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

fn query_parameters(request: &Request) -> Params<'_> {
    form_pairs(request.uri().query().unwrap_or_default().as_bytes())
}

fn body_parameters(request: &Request) -> Params<'_> {
    form_pairs(request.body().as_ref())
}

/// `application/x-www-form-urlencoded` parsing as the WHATWG URL standard has it, and as
/// `form_urlencoded::parse` does (a test holds the two together): pairs split at `&` and
/// the first `=`, empty ones skipped, each side decoded and read as UTF-8, lossily.
fn form_pairs(input: &[u8]) -> Params<'_> {
    if input.is_empty() {
        return Vec::new();
    }
    let mut pairs = Vec::with_capacity(1 + input.iter().filter(|&&b| b == b'&').count());
    let split = input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            (
                utf8_lossy(form_decode(name)),
                utf8_lossy(form_decode(value)),
            )
        });
    pairs.extend(split);
    pairs
}

fn utf8_lossy(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(bytes) => String::from_utf8_lossy(bytes),
        Cow::Owned(bytes) => Cow::Owned(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
    }
}

/// One form-encoded name or value: `+` is a space, then percent-decoding. Borrowed when
/// there is nothing to decode, else decoded into one allocation of the input's length
/// (`form_urlencoded`'s decoder grows its output as it goes: seven allocations for a
/// request with a scope list and a resource URI).
fn form_decode(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.iter().any(|&b| b == b'+' || b == b'%') {
        return Cow::Borrowed(raw);
    }
    let mut decoded = Vec::with_capacity(raw.len());
    for (i, part) in raw.split(|&b| b == b'+').enumerate() {
        if i > 0 {
            decoded.push(b' ');
        }
        decoded.extend(percent_encoding::percent_decode(part));
    }
    Cow::Owned(decoded)
}

fn single_parameter<'a>(params: &'a Params<'_>, name: &str) -> Result<&'a str> {
    let mut values = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    match (values.next(), values.next()) {
        (Some(_), Some(_)) => Err(TokenEndpointError::invalid(format!(
            "The {name} parameter must appear once."
        ))),
        (Some(value), None) if !value.is_empty() => Ok(value.as_ref()),
        _ => Err(TokenEndpointError::invalid(format!(
            "The {name} parameter is required."
        ))),
    }
}

fn optional_parameter<'a>(params: &'a Params<'_>, name: &str) -> Result<Option<&'a str>> {
    if params.iter().any(|(k, _)| k == name) {
        single_parameter(params, name).map(Some)
    } else {
        Ok(None)
    }
}

/// RFC 6749 §3.3: scope tokens separated by single spaces; absent means every scope the
/// client holds. Checked here, kept as sent.
fn requested_scope(params: &Params<'_>) -> Result<Option<String>> {
    let Some(scope) = optional_parameter(params, "scope")? else {
        return Ok(None);
    };
    if let Some(bad) = scope.split(' ').find(|s| !Scope::is_token(s)) {
        let problem = Scope::parse(bad).map_or_else(|e| e.to_string(), |_| String::new());
        return Err(TokenEndpointError::InvalidScope(problem));
    }
    Ok(Some(scope.to_owned()))
}

/// RFC 8707's `resource`, and the `audience` Auth0 and Cognito clients send, each
/// repeatable. Each must be one of the client's audiences, which were checked as absolute
/// URIs when the key was made: anything else is refused then, so no URI is parsed here.
fn requested_audiences(params: &Params<'_>) -> Result<Vec<String>> {
    params
        .iter()
        .filter(|(k, _)| k == "resource" || k == "audience")
        .map(|(_, v)| match v.len() {
            0 => Err(TokenEndpointError::InvalidTarget(
                "A resource or audience parameter is empty.".into(),
            )),
            n if n > Audience::MAX_LEN => Err(TokenEndpointError::InvalidTarget(format!(
                "A resource or audience is longer than {} characters.",
                Audience::MAX_LEN
            ))),
            _ => Ok(v.clone().into_owned()),
        })
        .collect()
}

fn expect_parameter(params: &Params<'_>, name: &str, expected: &str) -> Result<()> {
    if single_parameter(params, name)? == expected {
        Ok(())
    } else {
        Err(TokenEndpointError::invalid(format!(
            "The {name} parameter must be {expected}."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_pairs_decode_as_form_urlencoded_does() {
        let inputs: [&[u8]; 12] = [
            b"",
            b"a=1&b=2",
            b"&&a&=b&c=&=",
            b"scope=orders.read%20orders.write+reports.read",
            b"resource=https%3A%2F%2Fapi.example.com&resource=urn:x",
            b"a=%2B+%2b+",
            b"a=%&b=%4&c=%zz&d=%%41",
            b"k%3Dv=x%26y=z",
            b"bad=%ff%fe&worse=\xc3",
            b"utf8=%C3%A9t%C3%A9",
            b"a==b=c",
            b"+=+",
        ];
        for input in inputs {
            let ours = form_pairs(input);
            let theirs: Vec<_> = form_urlencoded::parse(input).collect();
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn an_unencoded_parameter_is_borrowed_from_the_request() {
        let pairs = form_pairs(b"grant_type=client_credentials&scope=a%20b");
        assert!(matches!(pairs[0], (Cow::Borrowed(_), Cow::Borrowed(_))));
        assert!(matches!(pairs[1].1, Cow::Owned(ref scope) if scope == "a b"));
    }
}
