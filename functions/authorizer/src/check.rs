//! What a validation endpoint's answer means, per validation style: the step between the
//! call ([`crate::endpoint`]) and the injection ([`crate::injection`]). A new style adds a
//! branch here and nothing elsewhere.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::endpoint::{ContentKind, EndpointResponse};
use crate::error::{Denial, Reason};
use crate::injection::ResponseBody;
use crate::pre_inputs::ValidationStyle;

/// The claims re-checked on every request, cache hits included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Claims {
    /// RFC 7662 `active`.
    #[serde(default)]
    pub active: bool,
    /// Expiry, epoch seconds.
    #[serde(default, deserialize_with = "numeric_date")]
    pub exp: Option<u64>,
    /// Not before, epoch seconds.
    #[serde(default, deserialize_with = "numeric_date")]
    pub nbf: Option<u64>,
    /// Issued at, epoch seconds.
    #[serde(default, deserialize_with = "numeric_date")]
    pub iat: Option<u64>,
    /// The issuer.
    #[serde(default)]
    pub iss: Option<String>,
    /// Audiences: a string or a list of strings.
    #[serde(default, rename = "aud", deserialize_with = "one_or_many")]
    pub audiences: Vec<String>,
    /// Scopes, space-separated in `scope` (RFC 6749, RFC 9068).
    #[serde(default, rename = "scope", deserialize_with = "space_separated")]
    pub scopes: Vec<String>,
    /// Scopes in `scp`, as Okta and Entra ID write them: a list, or space-separated text.
    #[serde(default, rename = "scp", deserialize_with = "scope_list")]
    pub scp: Vec<String>,
    /// Scopes in `scopes`, as Keycloak and some others write them: a list, or
    /// space-separated text.
    #[serde(default, rename = "scopes", deserialize_with = "scope_list")]
    pub scopes_claim: Vec<String>,
    /// Who the token was issued for (`sub`), when the answer says.
    #[serde(default, deserialize_with = "lenient_string")]
    pub sub: Option<String>,
    /// The client the token was issued to (`client_id`, RFC 7662 and RFC 9068).
    #[serde(default, deserialize_with = "lenient_string")]
    pub client_id: Option<String>,
}

impl Claims {
    /// Whether the token carries `scope`, in any of `scope`, `scp` or `scopes`.
    pub fn holds(&self, scope: &str) -> bool {
        [&self.scopes, &self.scp, &self.scopes_claim]
            .iter()
            .any(|list| list.iter().any(|s| s == scope))
    }

    /// Who was authenticated, as the authorizer's `principalId`: `sub`, else `client_id`,
    /// when it is short printable text; `None` otherwise (the API key's id stands in).
    pub fn principal(&self) -> Option<&str> {
        let usable = |s: &&String| (1..=256).contains(&s.len()) && !s.chars().any(char::is_control);
        self.sub
            .as_ref()
            .filter(usable)
            .or(self.client_id.as_ref().filter(usable))
            .map(String::as_str)
    }
}

/// A string claim, or `None` for any other type: identity claims only name the principal,
/// and a strange one must not refuse an otherwise valid token.
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

#[derive(Deserialize)]
#[serde(untagged, expecting = "a string or a list of strings")]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(one)) => vec![one],
        Some(OneOrMany::Many(many)) => many,
    })
}

fn scope_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(text)) => text.split_whitespace().map(str::to_owned).collect(),
        Some(OneOrMany::Many(many)) => many,
    })
}

fn space_separated<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
    Ok(text.split_whitespace().map(str::to_owned).collect())
}

/// RFC 7519 NumericDate: seconds since the epoch, which may have a fraction.
fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match Option::<f64>::deserialize(deserializer)? {
        None => Ok(None),
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => Ok(Some(seconds as u64)),
        Some(_) => Err(serde::de::Error::custom(
            "a date must be a non-negative number of seconds",
        )),
    }
}

impl Claims {
    /// Whether a token with these claims is acceptable now, for a request from `region`.
    /// In `forward` style the HTTP 200 alone decides (Mashery's rule); `exp` there only
    /// bounds the cache.
    pub fn check(
        &self,
        style: &ValidationStyle,
        region: Option<&str>,
        now: u64,
    ) -> Result<(), Denial> {
        match style {
            ValidationStyle::Forward => Ok(()),
            ValidationStyle::Rfc7662 {
                audience,
                required_scopes,
                ..
            } => {
                if self.exp.is_some_and(|exp| exp <= now) {
                    return Err(Reason::TokenExpired.into());
                }
                self.check_audience_and_scopes(audience.as_deref(), required_scopes)
            }
            ValidationStyle::Jwt(jwt) => {
                let leeway = jwt.leeway_seconds;
                let issuer = jwt.issuer_for(region);
                if self.iss.as_deref() != Some(issuer) {
                    return Err(Reason::IssuerMismatch.into());
                }
                match self.exp {
                    None => return Err(Reason::TokenExpiryMissing.into()),
                    Some(exp) if exp.saturating_add(leeway) <= now => {
                        return Err(Reason::TokenExpired.into());
                    }
                    Some(_) => {}
                }
                let future = |at: Option<u64>| at.is_some_and(|at| at > now.saturating_add(leeway));
                if future(self.nbf) || future(self.iat) {
                    return Err(Reason::TokenNotYetValid.into());
                }
                self.check_audience_and_scopes(jwt.audience.as_deref(), &jwt.required_scopes)
            }
            ValidationStyle::Tokengate {
                audience,
                required_scopes,
                ..
            } => {
                if self.exp.is_none_or(|exp| exp <= now) {
                    return Err(Reason::TokenExpired.into());
                }
                self.check_audience_and_scopes(audience.as_deref(), required_scopes)
            }
        }
    }

    fn check_audience_and_scopes(
        &self,
        audience: Option<&str>,
        required_scopes: &[String],
    ) -> Result<(), Denial> {
        if audience.is_some_and(|a| !self.audiences.iter().any(|have| have == a)) {
            return Err(Reason::AudienceMismatch.into());
        }
        match required_scopes.iter().find(|s| !self.holds(s)) {
            Some(scope) => Err(Denial::with_detail(
                Reason::ScopeMissing,
                format!("scope {scope} missing"),
            )),
            None => Ok(()),
        }
    }
}

/// The endpoint's 200 answer, parsed and checked: the body to inject from, and the claims
/// to re-check on cache hits.
#[derive(Debug)]
pub struct Accepted<'a> {
    /// The parsed body.
    pub body: ResponseBody<'a>,
    /// The claims.
    pub claims: Claims,
}

/// Checks an endpoint's answer as the style says.
pub fn accept<'a>(
    style: &ValidationStyle,
    response: &'a EndpointResponse,
    now: u64,
) -> Result<Accepted<'a>, Denial> {
    let introspection = matches!(style, ValidationStyle::Rfc7662 { .. });
    // An introspection endpoint that is throttled or broken has not judged the token.
    if introspection && (response.status == 429 || response.status >= 500) {
        return Err(Denial::with_detail(
            Reason::EndpointFailed,
            format!("status {}", response.status),
        ));
    }
    if response.status != 200 {
        return Err(Denial::with_detail(
            Reason::TokenRejected,
            format!("status {}", response.status),
        ));
    }
    if introspection && response.content != ContentKind::Json {
        return Err(Denial::with_detail(
            Reason::ResponseMalformed,
            "introspection answered without JSON",
        ));
    }
    let body = ResponseBody::parse(response.content, &response.body)
        .map_err(|e| Denial::with_detail(Reason::ResponseMalformed, e.to_string()))?;
    let claims = match (&body, introspection) {
        (ResponseBody::Json(json), true) => Claims::deserialize(json).map_err(|e| {
            Denial::with_detail(
                Reason::ResponseMalformed,
                format!("not an introspection response: {e}"),
            )
        })?,
        // Mashery's style: the 200 decides; a numeric `exp`, if any, bounds the cache.
        (ResponseBody::Json(json), false) => Claims {
            exp: json.get("exp").and_then(Value::as_u64),
            sub: json.get("sub").and_then(Value::as_str).map(str::to_owned),
            client_id: json
                .get("client_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            ..Claims::default()
        },
        _ => Claims::default(),
    };
    if introspection && !claims.active {
        return Err(Denial::of(Reason::TokenInactive));
    }
    claims.check(style, None, now)?;
    Ok(Accepted { body, claims })
}

/// Checks a JWT's verified claims (the `jwt` style's counterpart of [`accept`]): they are
/// the body to inject from.
pub fn accept_jwt(
    style: &ValidationStyle,
    payload: Value,
    region: Option<&str>,
    now: u64,
) -> Result<Accepted<'static>, Denial> {
    // serde's message would quote the claim's value: the log names the claims instead.
    let claims = Claims::deserialize(&payload).map_err(|_| {
        Denial::with_detail(
            Reason::TokenMalformed,
            "a claim of iss, exp, nbf, iat, aud, scope or scp has the wrong type",
        )
    })?;
    claims.check(style, region, now)?;
    Ok(Accepted {
        body: ResponseBody::Json(payload),
        claims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rfc7662() -> ValidationStyle {
        ValidationStyle::Rfc7662 {
            client_id: "c".into(),
            client_secret: "s".into(),
            secret_source: crate::pre_inputs::SecretSource::Inline,
            audience: Some("api".into()),
            required_scopes: vec!["read".into()],
        }
    }

    fn claims(value: Value) -> Claims {
        Claims::deserialize(&value).unwrap()
    }

    fn reason(result: Result<(), Denial>) -> Option<Reason> {
        result.err().map(|d| d.reason)
    }

    #[test]
    fn claims_are_checked_for_expiry_audience_and_scopes() {
        let style = rfc7662();
        let good =
            claims(json!({"active": true, "exp": 100, "aud": ["x", "api"], "scope": "read write"}));
        assert_eq!(reason(good.check(&style, None, 99)), None);
        assert_eq!(
            reason(good.check(&style, None, 100)),
            Some(Reason::TokenExpired)
        );
        let wrong_audience = claims(json!({"aud": "other", "scope": "read"}));
        assert_eq!(
            reason(wrong_audience.check(&style, None, 0)),
            Some(Reason::AudienceMismatch)
        );
        let missing_scope = claims(json!({"aud": "api", "scope": "write"}));
        assert_eq!(
            reason(missing_scope.check(&style, None, 0)),
            Some(Reason::ScopeMissing)
        );
        assert_eq!(
            reason(missing_scope.check(&ValidationStyle::Forward, None, 0)),
            None
        );
    }

    #[test]
    fn scopes_are_read_from_scope_scp_and_scopes_as_providers_spell_them() {
        let okta = claims(json!({"scp": ["orders:read", "orders:write"]}));
        let entra = claims(json!({"scp": "orders:read orders:write"}));
        let keycloak = claims(json!({"scopes": ["orders:read", "orders:write"]}));
        let rfc = claims(json!({"scope": "orders:read orders:write"}));
        for token in [okta, entra, keycloak, rfc] {
            assert!(token.holds("orders:write"), "{token:?}");
            assert!(!token.holds("orders:admin"), "{token:?}");
        }
    }

    #[test]
    fn an_inactive_introspection_is_its_own_reason_and_a_malformed_one_another() {
        let response = |body: Value| EndpointResponse {
            status: 200,
            content: ContentKind::Json,
            body: body.to_string().into_bytes(),
            max_age: None,
        };
        let inactive = response(json!({"active": false}));
        assert_eq!(
            accept(&rfc7662(), &inactive, 0).unwrap_err().reason,
            Reason::TokenInactive
        );
        let malformed = response(json!({"active": true, "exp": "soon"}));
        assert_eq!(
            accept(&rfc7662(), &malformed, 0).unwrap_err().reason,
            Reason::ResponseMalformed
        );
        let stale = response(json!({"exp": 5}));
        assert!(
            accept(&ValidationStyle::Forward, &stale, 10).is_ok(),
            "forward: the 200 decides"
        );
    }
}
