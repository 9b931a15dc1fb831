//! Issuing and introspecting tokens, over the key and token stores.

use std::sync::Arc;

use serde::Serialize;
use tokengate_shared::grants::{Granted, Refused};
use tokengate_shared::plan::{
    FlushPolicy, Limiter, PLAN_REFRESH, PlanCache, PlanReader, UsageCounter,
};
use tokengate_shared::signing::Keyring;
use tokengate_shared::{
    AccessToken, ActiveToken, ClientKey, IssuerKeys, IssuerTokens, KeyId, KeyStatus, Reservation,
    Revocation, Scope, SecretHash, TokenFormat, TokenHash, TokenRecord,
};
use tracing::error;

use crate::settings::Throttle;

use crate::error::{AuthFailure, TokenEndpointError};
use crate::request::{ClientCredentials, TokenOperation, TokenRequest};
use crate::routes::Contract;

/// What a token request is granted, of what its key holds: exactly what it asked for, or
/// a refusal naming what the key does not hold. At INN-Reach's path a key without
/// `innreach_tp` is refused as a key not valid for the request.
fn granted(key: &ClientKey, request: &mut TokenRequest) -> Result<Granted, TokenEndpointError> {
    let asked = (request.scope.take(), std::mem::take(&mut request.audiences));
    key.grants
        .grant(asked.0, asked.1)
        .map_err(|refused| match (refused, request.contract) {
            (_, Contract::InnReach) => {
                TokenEndpointError::AuthenticationFailed(AuthFailure::ScopeNotHeld)
            }
            (Refused::Scope(scope), Contract::Standard) => TokenEndpointError::InvalidScope(
                format!("The client does not hold the scope '{}'.", named(&scope)),
            ),
            (Refused::Audience(audience), Contract::Standard) => {
                TokenEndpointError::InvalidTarget(format!(
                    "'{}' is not an audience this client's tokens may be for.",
                    named(&audience)
                ))
            }
        })
}

/// What a refusal names of the request: at most 64 characters of it.
fn named(text: &str) -> String {
    text.chars().take(64).collect()
}

/// The body of a successful token response.
#[derive(Debug, Serialize)]
pub struct IssuedToken {
    /// The bearer token: 32 hex characters, or a JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The granted scopes, when they are not exactly those asked for (RFC 6749 §5.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The body of an introspection response (RFC 7662 §2.2).
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Introspection {
    /// The token is live and its key is active.
    Active(ActiveToken),
    /// Anything else: unknown, expired, revoked, or issued to a key that is no longer
    /// active.
    Inactive {
        /// Always `false`.
        active: bool,
    },
}

impl Introspection {
    fn inactive() -> Self {
        Self::Inactive { active: false }
    }
}

/// The token endpoint's domain: authenticate a client key, mint and store a token, or
/// look one up.
pub struct TokenService {
    keys: Arc<dyn IssuerKeys>,
    tokens: Arc<dyn IssuerTokens>,
    ttl_seconds: u64,
    throttle: Throttle,
    issuer: Option<String>,
    scopes_supported: Vec<Scope>,
    format: TokenFormat,
    keyring: Option<Arc<Keyring>>,
    token_limits: Option<TokenLimits>,
}

/// Plans' token limits (`plans create --tokens`): each key's plan, and the tokens counted
/// in `USAGE_TABLE`, written at every token, so that environments overshoot by at most one
/// token each.
#[derive(Debug)]
pub struct TokenLimits {
    plans: PlanCache,
    limiter: Limiter,
}

impl TokenLimits {
    /// Limits from the plans in `plans`, counted in `usage`.
    pub fn new(plans: Arc<dyn PlanReader>, usage: Arc<dyn UsageCounter>) -> Self {
        let every_token = FlushPolicy {
            requests: 1,
            interval: std::time::Duration::ZERO,
        };
        Self {
            plans: PlanCache::new(plans, PLAN_REFRESH),
            limiter: Limiter::new(usage, every_token),
        }
    }

    /// Counts one token for `key`, or says which limit it is past.
    async fn admit(&self, key: &ClientKey, now: u64) -> Result<(), TokenEndpointError> {
        let Some(name) = &key.grants.plan else {
            return Ok(());
        };
        let Some(window) = self
            .plans
            .get(name)
            .await
            .and_then(|p| p.token_window(now * 1000))
        else {
            return Ok(());
        };
        self.limiter
            .admit(&key.id, std::slice::from_ref(&window), now * 1000)
            .await
            .map_err(|refused| TokenEndpointError::TokenLimitExceeded {
                retry_after: refused.retry_after,
                description: format!(
                    "The client's plan issues at most {} tokens; retry after {} s.",
                    refused.policy, refused.retry_after
                ),
                policy: refused.policy,
            })
    }
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("ttl_seconds", &self.ttl_seconds)
            .field("throttle", &self.throttle)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    /// A service over the given stores, issuing tokens that live `ttl_seconds`, throttling
    /// by the default [`Throttle`].
    pub fn new(keys: Arc<dyn IssuerKeys>, tokens: Arc<dyn IssuerTokens>, ttl_seconds: u64) -> Self {
        Self {
            keys,
            tokens,
            ttl_seconds,
            throttle: Throttle::default(),
            issuer: None,
            scopes_supported: Vec::new(),
            format: TokenFormat::Opaque,
            keyring: None,
            token_limits: None,
        }
    }

    /// The same service holding keys to their plans' token limits.
    pub fn with_token_limits(self, token_limits: Option<TokenLimits>) -> Self {
        Self {
            token_limits,
            ..self
        }
    }

    /// The same service issuing tokens in `format` (`TOKEN_FORMAT`) unless a key says
    /// otherwise, signing JWTs with the keys of `keyring`.
    pub fn with_tokens(self, format: TokenFormat, keyring: Option<Arc<Keyring>>) -> Self {
        Self {
            format,
            keyring,
            ..self
        }
    }

    /// The signing keys, when there are any.
    pub fn keyring(&self) -> Option<&Keyring> {
        self.keyring.as_deref()
    }

    /// The same service with other throttling settings.
    pub fn with_throttle(self, throttle: Throttle) -> Self {
        Self { throttle, ..self }
    }

    /// The same service announcing this issuer URL (`ISSUER_URL`) in its metadata, instead
    /// of one built from each request's host and stage.
    pub fn with_issuer(self, issuer: Option<String>) -> Self {
        Self { issuer, ..self }
    }

    /// The configured issuer URL, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The same service announcing these scopes in its metadata (`SCOPES_SUPPORTED`).
    pub fn with_scopes_supported(self, scopes_supported: Vec<Scope>) -> Self {
        Self {
            scopes_supported,
            ..self
        }
    }

    /// The scopes the metadata announces; none: the member is left out.
    pub fn scopes_supported(&self) -> &[Scope] {
        &self.scopes_supported
    }

    /// Issues a token: one key read, one token write. The request's scope and audiences
    /// are taken into the token. A JWT's `iss` is `issuer()`, asked only for a JWT.
    pub async fn issue(
        &self,
        request: &mut TokenRequest,
        now: u64,
        issuer: &(dyn Fn() -> Option<String> + Sync),
    ) -> Result<(IssuedToken, KeyId), TokenEndpointError> {
        let key = self.authenticate(&request.credentials, now).await?;
        if let Some(code) = &request.from_code
            && !key.is_valid_for(code)
        {
            return Err(TokenEndpointError::AuthenticationFailed(
                AuthFailure::CodeNotAllowed,
            ));
        }
        let asked_none = request.scope.is_none();
        let Granted { scope, audiences } = granted(&key, request)?;
        if let Some(limits) = &self.token_limits {
            limits.admit(&key, now).await?;
        }
        let ttl = key.grants.token_ttl.unwrap_or(self.ttl_seconds);
        // RFC 6749 §5.1: the scope is said when it is not the set asked for, which a
        // granted request always is.
        let said = asked_none.then(|| scope.clone());
        let mut record = TokenRecord {
            hash: TokenHash::UNSET,
            key_id: key.id.clone(),
            from_code: request.from_code.clone(),
            to_code: request.to_code.clone(),
            scope,
            audiences,
            issued_at: now,
            expires_at: now + ttl,
        };
        let access_token = match key.grants.token_format.unwrap_or(self.format) {
            TokenFormat::Opaque => AccessToken::mint().expose().to_owned(),
            TokenFormat::Jwt => self.sign(&record, issuer).await?,
        };
        record.hash = TokenHash::of(&access_token);
        self.tokens.put(&record).await?;
        let issued = IssuedToken {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
            scope: said,
        };
        Ok((issued, key.id))
    }

    /// The RFC 9068 JWT of `record`, signed by the current key.
    async fn sign(
        &self,
        record: &TokenRecord,
        issuer: &(dyn Fn() -> Option<String> + Sync),
    ) -> Result<String, TokenEndpointError> {
        use tokengate_shared::signing::jwt::{self, Aud, Claims, Header};
        let keyring = self.keyring.as_ref().ok_or(TokenEndpointError::Signing(
            tokengate_shared::signing::SigningError::NoCurrentKey,
        ))?;
        let signer = keyring.signer(record.issued_at).await?;
        let iss = self
            .issuer
            .clone()
            .or_else(issuer)
            .ok_or(TokenEndpointError::IssuerUnknown)?;
        let aud = match record.audiences.len() {
            0 => Aud::One(&iss),
            1 => Aud::One(record.audiences.first().map_or("", String::as_str)),
            _ => Aud::Many(record.audiences.iter().map(String::as_str).collect()),
        };
        let claims = Claims {
            iss: &iss,
            sub: record.key_id.as_str(),
            client_id: record.key_id.as_str(),
            aud,
            exp: record.expires_at,
            iat: record.issued_at,
            jti: jwt::new_jti(),
            scope: &record.scope,
            from_code: record.from_code.as_ref().map(|c| c.as_str()),
            to_code: record.to_code.as_ref().map(|c| c.as_str()),
        };
        let input = jwt::signing_input(&Header::new(signer.alg(), signer.kid()), &claims);
        let signature = signer.sign(input.as_bytes()).await?;
        Ok(jwt::compact(input, &signature))
    }

    /// Introspects a token for an authenticated client. A token is active while it is
    /// within its lifetime (whether or not the TTL has deleted it yet), has not been
    /// revoked, and the key it was issued to still exists and is active. Any client key may
    /// introspect any token: introspection is for the protected resources.
    pub async fn introspect(
        &self,
        request: &TokenOperation,
        now: u64,
    ) -> Result<Introspection, TokenEndpointError> {
        self.authenticate(&request.credentials, now).await?;
        let Some(record) = self.tokens.get(&TokenHash::of(&request.token)).await? else {
            return Ok(Introspection::inactive());
        };
        if !record.is_live_at(now) {
            return Ok(Introspection::inactive());
        }
        let owner = self.keys.get(&record.key_id).await?;
        Ok(record
            .active_claims(owner.as_ref(), now)
            .map_or_else(Introspection::inactive, Introspection::Active))
    }

    /// Revokes a token for the client it was issued to (RFC 7009 §2.1): one key read and
    /// one conditional delete. An unknown token is not an error (§2.2); another client's
    /// token is refused and left alone.
    pub async fn revoke(
        &self,
        request: &TokenOperation,
        now: u64,
    ) -> Result<Revocation, TokenEndpointError> {
        let key = self.authenticate(&request.credentials, now).await?;
        let revocation = self
            .tokens
            .revoke(&TokenHash::of(&request.token), &key.id)
            .await?;
        if revocation == Revocation::NotOwner {
            return Err(TokenEndpointError::UnauthorizedClient(
                "The token was not issued to this client.",
            ));
        }
        Ok(revocation)
    }

    /// The key these credentials name, when the secret is its own and the key is active.
    /// A right secret is never refused for failures: secrets are 256 bits, and throttling
    /// must not let a stranger lock a client out. A failure is reserved against the key
    /// and the source address before it is answered (the writes run together, and a key
    /// id that names no key costs the same write as one that does); once either holds
    /// `TOKEN_MAX_FAILURES` in its window, failures are answered 429.
    async fn authenticate(
        &self,
        credentials: &ClientCredentials,
        now: u64,
    ) -> Result<ClientKey, TokenEndpointError> {
        let secret = credentials.secret.expose().as_bytes();
        // An id no store could hold is unknown without asking the store.
        let id = KeyId::parse(&credentials.key).ok();
        let key = match &id {
            Some(id) => self.keys.get(id).await?,
            None => None,
        };
        let failure = match &key {
            Some(key) if key.secret_hash.verify(secret) => {
                return match key.status {
                    KeyStatus::Active => Ok(key.clone()),
                    KeyStatus::Disabled => Err(TokenEndpointError::AuthenticationFailed(
                        AuthFailure::DisabledKey,
                    )),
                };
            }
            Some(_) => AuthFailure::WrongSecret,
            None => {
                SecretHash::verify_decoy(secret);
                AuthFailure::UnknownKey
            }
        };
        match self
            .reserve_failure(credentials, id.as_ref(), key.as_ref(), now)
            .await
        {
            Some(retry_after) => Err(TokenEndpointError::Throttled {
                retry_after,
                key: id.map_or_else(|| "(not a key id)".to_owned(), |id| id.to_string()),
            }),
            None => Err(TokenEndpointError::AuthenticationFailed(failure)),
        }
    }

    /// Reserves one failure against the key (when it exists) and the source: the seconds
    /// to wait when either is full. A store that fails to count is logged, and the caller
    /// still gets its 401: the count is protection, not the answer.
    async fn reserve_failure(
        &self,
        credentials: &ClientCredentials,
        id: Option<&KeyId>,
        key: Option<&ClientKey>,
        now: u64,
    ) -> Option<u64> {
        let limit = self.throttle.limit();
        let by_key = async {
            match (id, key) {
                (Some(_), Some(key))
                    if let Some(retry_after) =
                        key.failures.throttled_for(now, limit.max, limit.window) =>
                {
                    Ok(Reservation::Throttled { retry_after })
                }
                (Some(id), _) => self.keys.reserve_failure(id, now, limit).await,
                (None, _) => Ok(Reservation::Counted),
            }
        };
        let by_source = async {
            match &credentials.source {
                Some(source) => self.tokens.reserve_source_failure(source, now, limit).await,
                None => Ok(Reservation::Counted),
            }
        };
        let (by_key, by_source) = tokio::join!(by_key, by_source);
        // A key id that names no key reserved nothing, whatever the write found.
        let by_key = by_key.map(|r| {
            if key.is_some() {
                r
            } else {
                Reservation::Counted
            }
        });
        [by_key, by_source]
            .into_iter()
            .filter_map(|reserved| match reserved {
                Ok(Reservation::Throttled { retry_after }) => Some(retry_after),
                Ok(Reservation::Counted) => None,
                Err(err) => {
                    error!(reason = "failure_not_recorded", key_id = ?id.map(KeyId::as_str), error = %err);
                    None
                }
            })
            .max()
    }
}
