//! Issuing and introspecting tokens, over the key and token stores.

use std::sync::Arc;

use serde::Serialize;
use tokengate_shared::{
    AccessToken, ActiveToken, ClientKey, IssuerKeys, KeyId, KeyStatus, Revocation, SecretHash,
    TokenHash, TokenRecord, TokenStore,
};
use tracing::error;

use crate::config::Throttle;

use crate::error::{AuthFailure, TokenEndpointError};
use crate::request::{ClientCredentials, SCOPE, TokenOperation, TokenRequest};

/// The body of a successful token response.
#[derive(Debug, Serialize)]
pub struct IssuedToken {
    /// The bearer token, 32 hex characters.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
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
    tokens: Arc<dyn TokenStore>,
    ttl_seconds: u64,
    throttle: Throttle,
    issuer: Option<String>,
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
    pub fn new(keys: Arc<dyn IssuerKeys>, tokens: Arc<dyn TokenStore>, ttl_seconds: u64) -> Self {
        Self {
            keys,
            tokens,
            ttl_seconds,
            throttle: Throttle::default(),
            issuer: None,
        }
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

    /// Issues a token: one key read, one token write.
    pub async fn issue(
        &self,
        request: &TokenRequest,
        now: u64,
    ) -> Result<(IssuedToken, KeyId), TokenEndpointError> {
        let key = self.authenticate(&request.credentials, now).await?;
        if let Some(code) = &request.from_code
            && !key.is_valid_for(code)
        {
            return Err(TokenEndpointError::AuthenticationFailed(
                AuthFailure::CodeNotAllowed,
            ));
        }
        let token = AccessToken::mint();
        let record = TokenRecord {
            hash: token.hash(),
            key_id: key.id.clone(),
            from_code: request.from_code.clone(),
            to_code: request.to_code.clone(),
            scope: SCOPE.to_owned(),
            issued_at: now,
            expires_at: now + self.ttl_seconds,
        };
        self.tokens.put(&record).await?;
        let issued = IssuedToken {
            access_token: token.expose().to_owned(),
            token_type: "Bearer",
            expires_in: self.ttl_seconds,
        };
        Ok((issued, key.id))
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

    /// The key these credentials name, when the secret is its own and the key is active
    /// and not throttled. A wrong secret is counted against the key (one conditional write);
    /// a throttled key is refused before its secret is looked at.
    async fn authenticate(
        &self,
        credentials: &ClientCredentials,
        now: u64,
    ) -> Result<ClientKey, TokenEndpointError> {
        let secret = credentials.secret.expose().as_bytes();
        let unknown = || {
            SecretHash::verify_decoy(secret);
            TokenEndpointError::AuthenticationFailed(AuthFailure::UnknownKey)
        };
        // An id no store could hold is unknown without asking the store.
        let Ok(id) = KeyId::parse(&credentials.key) else {
            return Err(unknown());
        };
        let Some(key) = self.keys.get(&id).await? else {
            return Err(unknown());
        };
        let Throttle {
            max_failures,
            window_seconds,
        } = self.throttle;
        if let Some(retry_after) = key
            .failures
            .throttled_for(now, max_failures, window_seconds)
        {
            return Err(TokenEndpointError::Throttled { retry_after });
        }
        if !key.secret_hash.verify(secret) {
            // The count is protection, not the answer: a store that fails to take it is
            // logged, and the caller still gets its 401.
            if let Err(err) = self.keys.record_failure(&id, now, window_seconds).await {
                error!(reason = "failure_not_recorded", key_id = %id, error = %err);
            }
            return Err(TokenEndpointError::AuthenticationFailed(
                AuthFailure::WrongSecret,
            ));
        }
        if key.status != KeyStatus::Active {
            return Err(TokenEndpointError::AuthenticationFailed(
                AuthFailure::DisabledKey,
            ));
        }
        Ok(key)
    }
}
