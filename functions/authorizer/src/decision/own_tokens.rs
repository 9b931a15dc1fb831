//! The `tokengate` style: the token, its key and the API key read together, in one round
//! trip, on every decision, so that a revoked token or a disabled key is denied on the very
//! next request; or, with `revocation_lag_seconds`, at most once per lag per environment
//! ([`super::recent`]). The cache keeps only what never changes: the key a token was
//! issued to (so that it joins the same read) and the headers injected from its claims.

use std::sync::Arc;

use tokengate_shared::plan::PlanName;
use tokengate_shared::{ClientKey, KeyId, KeyStatus, TokenAndKeys, TokenHash, TokenRecord};

use super::{Authorizer, Validation, api_key_rule};
use crate::check::Claims;
use crate::error::{Denial, Reason};
use crate::injection::ResponseBody;
use crate::moment::Moment;
use crate::pre_inputs::{PreInputs, ValidationStyle};
use crate::request::{PresentedKey, bearer_token};
use crate::validations::{TOKENGATE_CACHE, Validated, cache_key};

impl Authorizer {
    /// The token of a usable `Bearer` header, with the API key read beside it.
    pub(super) async fn own_token(
        &self,
        presented: PresentedKey,
        authorization: &str,
        pre_inputs: &PreInputs,
        now: Moment,
    ) -> Validation {
        let Some(lookup) = &self.tokens else {
            return Validation::denied(
                None,
                Denial::with_detail(Reason::ConfigInvalid, "TOKENS_TABLE is not set"),
            );
        };
        let token = bearer_token(authorization).unwrap_or(authorization);
        let cache_key = cache_key(authorization, TOKENGATE_CACHE, "\0default");
        let hit = self.validations.get(&cache_key, now);
        if hit.is_none()
            && let Err(denial) = self.signed_by_us(token, pre_inputs, now).await
        {
            return Validation::denied(None, denial);
        }
        let mut ids = Vec::with_capacity(2);
        if let PresentedKey::Key(id) = &presented {
            ids.push(id.clone());
        }
        if let Some(owner) = hit.as_ref().and_then(|h| h.owner.clone()) {
            ids.push(owner);
        }
        let hash = TokenHash::of(token);
        let read = self.recent.token_and_keys(&**lookup, &hash, &ids, now);
        let found = match read.await {
            Ok(found) => found,
            Err(e) => {
                let denial = Denial::with_detail(Reason::KeyStoreUnavailable, e.to_string());
                return Validation::denied(None, denial);
            }
        };
        let (principal_id, api_key) = match presented {
            PresentedKey::CheckedByGateway(principal_id) => (principal_id, None),
            PresentedKey::Key(id) => match api_key_rule(found.key(&id)) {
                Ok(principal_id) => (principal_id, Some(id)),
                Err(denial) => return Validation::denied(None, denial),
            },
        };
        let bound = match &pre_inputs.style {
            ValidationStyle::Tokengate {
                bound_to_api_key: true,
                ..
            } => api_key.as_ref(),
            _ => None,
        };
        let from_cache = hit.is_some();
        let checked = self
            .check_own_token(found, &ids, hit, pre_inputs, bound, now)
            .await;
        match &checked {
            Ok((validated, _)) if !from_cache => self.validations.insert(cache_key, validated),
            Ok(_) => {}
            // A denied token's cached headers go; a later Allow computes them again.
            Err(_) => self.validations.invalidate(&cache_key),
        }
        let (result, metered) = match checked {
            Ok((validated, metered)) => (Ok((validated, false)), metered),
            Err(denial) => (Err(denial), None),
        };
        Validation {
            principal_id: Some(principal_id),
            result,
            metered,
        }
    }

    /// A JWT's signature checked against token-issuer's JWKS (`defaultURI`), before any
    /// read: a forged one is denied at no cost to the table. Opaque tokens, and every token
    /// while the JWKS cannot be had, are the table's to judge: a token is only ever valid
    /// when the table holds its hash.
    async fn signed_by_us(
        &self,
        token: &str,
        pre_inputs: &PreInputs,
        now: Moment,
    ) -> Result<(), Denial> {
        let (Some(jwt), Some(uri)) = (&self.jwt, &pre_inputs.default_uri) else {
            return Ok(());
        };
        if token.bytes().filter(|b| *b == b'.').count() != 2 {
            return Ok(());
        }
        match jwt.verify(uri, token, now).await {
            Ok(_) => Ok(()),
            Err(denial) if denial.reason == Reason::JwksUnavailable => {
                tracing::warn!(reason = "jwks_unavailable", detail = ?denial.detail, "the table decides");
                Ok(())
            }
            Err(denial) => Err(denial),
        }
    }

    /// The token half, after the API key passed: what it came to, and the token's key's
    /// plan.
    async fn check_own_token(
        &self,
        found: TokenAndKeys,
        read: &[KeyId],
        hit: Option<Arc<Validated>>,
        pre_inputs: &PreInputs,
        bound: Option<&KeyId>,
        now: Moment,
    ) -> Result<(Arc<Validated>, Option<(KeyId, PlanName)>), Denial> {
        let Some(record) = found.token.as_ref() else {
            return Err(Reason::TokenUnknown.into());
        };
        if bound.is_some_and(|api_key| api_key != &record.key_id) {
            return Err(Reason::TokenNotForApiKey.into());
        }
        // Read above unless this is the token's first sighting and its key is not the API
        // key: then, and only then, a second read.
        let fetched;
        let owner = if read.contains(&record.key_id) {
            found.key(&record.key_id)
        } else {
            fetched = self
                .recent
                .key(&*self.keys, &record.key_id, now)
                .await
                .map_err(|e| Denial::with_detail(Reason::KeyStoreUnavailable, e.to_string()))?;
            fetched.as_ref()
        };
        let seconds = now.epoch_seconds();
        let claims = record
            .active_claims(owner, seconds)
            .ok_or_else(|| inactive_reason(record, owner, seconds))?;
        let checked = Claims {
            active: true,
            exp: Some(claims.exp),
            scopes: claims.scope.split(' ').map(str::to_owned).collect(),
            audiences: record.audiences.iter().cloned().collect(),
            ..Claims::default()
        };
        checked.check(&pre_inputs.style, None, seconds)?;
        let metered = super::metered(owner);
        if let Some(hit) = hit {
            return Ok((hit, metered));
        }
        let body = ResponseBody::Json(serde_json::to_value(&claims).unwrap_or_default());
        let injected = body.inject(pre_inputs.injections_for(None), &pre_inputs.xml_namespaces);
        let validated = Validated::new(
            injected.headers,
            injected.rejected,
            checked,
            Some(record.key_id.clone()),
            (pre_inputs.cache.ttl, Some(claims.exp)),
            now,
        );
        Ok((Arc::new(validated), metered))
    }
}

/// Why a token of ours is not active, given the key it was issued to as just read.
fn inactive_reason(record: &TokenRecord, owner: Option<&ClientKey>, now: u64) -> Denial {
    let detail = match owner {
        _ if !record.is_live_at(now) => return Reason::TokenExpired.into(),
        None => "its key was deleted",
        Some(key) if key.status != KeyStatus::Active => "its key is disabled",
        Some(_) => "its key's tokens were revoked",
    };
    Denial::with_detail(Reason::TokenKeyInactive, detail)
}
