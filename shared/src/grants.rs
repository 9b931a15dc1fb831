//! What a client key may be granted: its scopes, its audiences, its tokens' lifetime and
//! their format, and the plan it is held to.
//! They travel in the key's own record, which authentication reads anyway.

use std::collections::BTreeSet;
use std::fmt;

/// The scope INN-Reach asks for, and the one a key holds when its record names none (every
/// key written before keys had scopes).
pub const INN_REACH_SCOPE: &str = "innreach_tp";

/// The most scopes, or audiences, one key holds.
pub const MAX_PER_KEY: usize = 100;

/// An OAuth 2.0 scope token (RFC 6749 §3.3): visible ASCII but space, `"` and `\`. Cognito's
/// resource-server form (`https://api.example.com/orders.read`) is one like any other.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Scope(String);

/// Why a text is not a [`Scope`] or an [`Audience`]: the text, and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not {rule}")]
pub struct InvalidGrant {
    /// What was given, cut to 64 characters.
    pub text: String,
    /// What it must be.
    pub rule: &'static str,
}

impl InvalidGrant {
    pub(crate) fn new(text: &str, rule: &'static str) -> Self {
        Self {
            text: text.chars().take(64).collect(),
            rule,
        }
    }
}

impl Scope {
    /// The longest scope accepted, as Cognito's.
    pub const MAX_LEN: usize = 256;

    /// Whether `text` is one scope token, without making one.
    pub fn is_token(text: &str) -> bool {
        let allowed = |b: u8| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b);
        !text.is_empty() && text.len() <= Self::MAX_LEN && text.bytes().all(allowed)
    }

    /// Parses one scope token.
    pub fn parse(text: &str) -> Result<Self, InvalidGrant> {
        if Self::is_token(text) {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidGrant::new(
                text,
                "a scope: 1 to 256 visible ASCII characters, without space, '\"' or '\\' (RFC 6749 §3.3)",
            ))
        }
    }

    /// The scope as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Scope {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An audience: an absolute URI without a fragment (RFC 8707 §2), kept as written, since a
/// resource server compares it as text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Audience(String);

impl Audience {
    /// The longest audience accepted.
    pub const MAX_LEN: usize = 1024;

    /// Parses one audience.
    pub fn parse(text: &str) -> Result<Self, InvalidGrant> {
        let absolute = reqwest::Url::parse(text).is_ok_and(|url| url.fragment().is_none());
        let printable = text.bytes().all(|b| b.is_ascii_graphic());
        if absolute && printable && text.len() <= Self::MAX_LEN {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidGrant::new(
                text,
                "an audience: an absolute URI without a fragment, at most 1024 characters (RFC 8707 §2)",
            ))
        }
    }

    /// An audience as a store holds it: checked in full when it was written, so only its
    /// shape is checked again on the read path (no URI parse per request).
    pub fn from_stored(text: &str) -> Result<Self, InvalidGrant> {
        let printable = !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic());
        if printable && text.len() <= Self::MAX_LEN && text.contains(':') {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidGrant::new(
                text,
                "an audience as tokengate writes one",
            ))
        }
    }

    /// The audience as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Audience {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A plan's name: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, so that it is safe in a
/// metric dimension, a log line and an API Gateway usage plan's name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct PlanName(String);

impl PlanName {
    /// Parses a plan's name.
    pub fn parse(text: &str) -> Result<Self, InvalidGrant> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
        if !text.is_empty() && text.len() <= 64 && text.bytes().all(allowed) {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidGrant::new(
                text,
                "a plan name: 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'",
            ))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PlanName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a key may be granted.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Grants {
    /// The scopes it holds; none stored means [`INN_REACH_SCOPE`] alone.
    pub scopes: BTreeSet<Scope>,
    /// The audiences its tokens may be for; none: its tokens have no audience.
    pub audiences: BTreeSet<Audience>,
    /// Its tokens' lifetime in seconds, instead of `TOKEN_TTL_SECONDS`.
    pub token_ttl: Option<u64>,
    /// Its tokens' format, instead of `TOKEN_FORMAT`.
    pub token_format: Option<TokenFormat>,
    /// The plan its requests and tokens are counted against; none: unlimited.
    pub plan: Option<PlanName>,
}

/// What an access token is: 128 random bits that only tokengate can check, or an RFC 9068
/// JWT that anyone holding the published keys can.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub enum TokenFormat {
    /// 32 hex characters; checked by introspection or the `tokengate` style.
    #[default]
    Opaque,
    /// An RFC 9068 JWT access token, signed by the current signing key.
    Jwt,
}

impl TokenFormat {
    /// The configured and stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Jwt => "jwt",
        }
    }

    /// Parses a configured or stored name.
    pub fn parse(text: &str) -> Result<Self, InvalidGrant> {
        match text {
            "opaque" => Ok(Self::Opaque),
            "jwt" => Ok(Self::Jwt),
            _ => Err(InvalidGrant::new(text, "a token format: opaque or jwt")),
        }
    }
}

/// Why a request asks for more than the key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A scope the key does not hold.
    Scope(String),
    /// An audience the key's tokens may not be for.
    Audience(String),
}

impl Grants {
    /// The longest token lifetime a key may set, as `TOKEN_TTL_SECONDS`'s: a day.
    pub const MAX_TOKEN_TTL: u64 = 86_400;

    /// The scopes the key holds: those stored, or `innreach_tp` when none are.
    pub fn scopes_held(&self) -> BTreeSet<Scope> {
        if self.scopes.is_empty() {
            BTreeSet::from([Scope(INN_REACH_SCOPE.to_owned())])
        } else {
            self.scopes.clone()
        }
    }

    /// What a token asked for gets: every scope held when none is asked for, else exactly
    /// those asked, each held; every audience when none is asked for, else exactly those
    /// asked, each the key's. Nothing is granted silently less than asked. `audiences` are
    /// as the client sent them: one that is not the key's, malformed or not, is refused.
    pub fn grant(&self, scope: Option<String>, audiences: Vec<String>) -> Result<Granted, Refused> {
        let scope = match scope {
            None if self.scopes.is_empty() => INN_REACH_SCOPE.to_owned(),
            None => scope_text(&self.scopes),
            Some(asked) => self.grant_scopes(asked)?,
        };
        let audiences = if audiences.is_empty() {
            self.audiences.iter().map(ToString::to_string).collect()
        } else {
            if let Some(missing) = audiences
                .iter()
                .find(|a| !self.audiences.contains(a.as_str()))
            {
                return Err(Refused::Audience(missing.clone()));
            }
            audiences.into_iter().collect()
        };
        Ok(Granted { scope, audiences })
    }

    /// The asked scope text (space-separated tokens), when the key holds each token: as
    /// asked, or once each, in the order asked, when a token was asked twice.
    fn grant_scopes(&self, asked: String) -> Result<String, Refused> {
        let held = |s: &str| {
            if self.scopes.is_empty() {
                s == INN_REACH_SCOPE
            } else {
                self.scopes.contains(s)
            }
        };
        if let Some(missing) = asked.split(' ').find(|s| !held(s)) {
            return Err(Refused::Scope(missing.to_owned()));
        }
        let seen_before = |i: usize, s: &str| asked.split(' ').take(i).any(|t| t == s);
        if !asked.split(' ').enumerate().any(|(i, s)| seen_before(i, s)) {
            return Ok(asked);
        }
        let once: Vec<&str> = asked
            .split(' ')
            .enumerate()
            .filter(|(i, s)| !seen_before(*i, s))
            .map(|(_, s)| s)
            .collect();
        Ok(once.join(" "))
    }
}

/// What a token is granted: its scopes as text, space-separated, and its audiences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    /// The granted scopes, space-separated, as the token records them.
    pub scope: String,
    /// The granted audiences.
    pub audiences: BTreeSet<String>,
}

/// Scopes as the token endpoint's answer and introspection write them: space-separated.
pub fn scope_text<'a>(scopes: impl IntoIterator<Item = &'a Scope>) -> String {
    scopes
        .into_iter()
        .map(Scope::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(names: &[&str]) -> Vec<Scope> {
        names.iter().map(|n| Scope::parse(n).unwrap()).collect()
    }

    #[test]
    fn a_scope_is_any_rfc_6749_scope_token_and_nothing_else() {
        for good in [
            "innreach_tp",
            "orders.read",
            "https://api.example.com/orders.read",
            "a:b/c!",
        ] {
            assert!(Scope::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "two words", "quo\"te", "back\\slash", "tab\there", "é"] {
            let err = Scope::parse(bad).unwrap_err();
            assert!(err.to_string().contains("RFC 6749"), "{bad}: {err}");
        }
        assert!(Scope::parse(&"s".repeat(257)).is_err());
    }

    #[test]
    fn an_audience_is_an_absolute_uri_without_a_fragment_kept_as_written() {
        let api = Audience::parse("https://api.example.com").unwrap();
        assert_eq!(api.as_str(), "https://api.example.com", "not normalised");
        assert!(Audience::parse("urn:example:orders").is_ok());
        for bad in [
            "orders",
            "/relative",
            "https://api.example.com/#frag",
            "https://a b",
        ] {
            assert!(Audience::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_with_no_scopes_stored_holds_innreach_tp_alone() {
        let legacy = Grants::default();
        assert_eq!(
            legacy.scopes_held(),
            scopes(&["innreach_tp"]).into_iter().collect()
        );
        let granted = legacy.grant(None, Vec::new()).unwrap();
        assert_eq!(granted.scope, "innreach_tp");
        assert!(granted.audiences.is_empty());
        let asked = legacy
            .grant(Some("innreach_tp".into()), Vec::new())
            .unwrap();
        assert_eq!(asked.scope, "innreach_tp");
    }

    #[test]
    fn a_grant_is_exactly_what_was_asked_when_the_key_holds_it_and_a_refusal_names_the_rest() {
        let api = Audience::parse("https://api.example.com").unwrap();
        let grants = Grants {
            scopes: scopes(&["orders.read", "orders.write"])
                .into_iter()
                .collect(),
            audiences: [api.clone()].into(),
            token_ttl: None,
            token_format: None,
            plan: None,
        };
        let all = grants.grant(None, Vec::new()).unwrap();
        assert_eq!(all.scope, "orders.read orders.write");
        assert_eq!(all.audiences, [api.to_string()].into());
        let some = grants
            .grant(
                Some("orders.write orders.read orders.write".into()),
                vec![api.to_string()],
            )
            .unwrap();
        assert_eq!(
            some.scope, "orders.write orders.read",
            "once each, in the order asked"
        );
        assert_eq!(
            grants.grant(Some("orders.read admin".into()), Vec::new()),
            Err(Refused::Scope("admin".into()))
        );
        for stranger in ["https://other.example.com", "not a uri"] {
            assert_eq!(
                grants.grant(None, vec![stranger.into()]),
                Err(Refused::Audience(stranger.into()))
            );
        }
        assert!(
            grants
                .grant(Some("innreach_tp".into()), Vec::new())
                .is_err(),
            "a key with scopes of its own does not hold innreach_tp"
        );
    }

    #[test]
    fn a_stored_audience_is_read_by_its_shape_alone() {
        assert!(Audience::from_stored("https://api.example.com").is_ok());
        assert!(Audience::from_stored("two words").is_err());
        assert!(Audience::from_stored("").is_err());
    }
}
