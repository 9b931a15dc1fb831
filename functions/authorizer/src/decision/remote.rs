//! The styles that validate a token elsewhere: `forward` and `rfc7662` at the validation
//! endpoint the region chose, `jwt` against that endpoint's JWKS. The cache keeps the
//! injected headers and the claims, and a hit is re-checked at the decision's moment.

use std::sync::Arc;

use reqwest::Url;

use super::{Authorizer, Validation};
use crate::check;
use crate::endpoint::{ValidationCall, loggable};
use crate::error::{Denial, Reason};
use crate::moment::Moment;
use crate::pre_inputs::{PreInputs, ValidationStyle};
use crate::request::{AuthRequest, PresentedKey, Single, bearer_token};
use crate::validations::{Validated, cache_key};

impl Authorizer {
    /// The API key, then every step after it.
    pub(super) async fn remote(
        &self,
        request: &AuthRequest,
        presented: &PresentedKey,
        authorization: &str,
        now: Moment,
    ) -> Validation {
        let (principal_id, metered) = match self.api_key_and_plan(presented).await {
            Ok(found) => found,
            Err(denial) => return Validation::denied(None, denial),
        };
        Validation {
            result: self.validate_request(request, authorization, now).await,
            principal_id: Some(principal_id),
            metered,
        }
    }

    /// The configuration, the endpoint by region, then the validation.
    async fn validate_request(
        &self,
        request: &AuthRequest,
        authorization: &str,
        now: Moment,
    ) -> Result<(Arc<Validated>, bool), Denial> {
        let pre_inputs = self.pre_inputs.as_ref().map_err(|e| {
            if e.is_about_validation_uri() {
                Denial::of(Reason::ConfigInvalidValidationUri)
            } else {
                Denial::of(Reason::ConfigInvalid)
            }
        })?;
        let region = match pre_inputs.region_header.as_deref() {
            Some(header) => match request.single_header(header) {
                Single::Several => return Err(Reason::RegionMultiple.into()),
                Single::One(region) => Some(region),
                Single::None => None,
            },
            None => None,
        };
        let endpoint = pre_inputs
            .endpoint_for(region)
            .ok_or(Denial::of(Reason::DefaultUriMissing))?;
        // Regions that share an endpoint may inject different headers: the cache entry
        // belongs to the injection set too.
        let injection_set = region
            .filter(|r| pre_inputs.region_injections.contains_key(*r))
            .unwrap_or("\0default");
        let cache_key = cache_key(authorization, endpoint.as_str(), injection_set);
        if let Some(hit) = self.validations.get(&cache_key, now) {
            return match hit
                .claims
                .check(&pre_inputs.style, region, now.epoch_seconds())
            {
                Ok(()) => Ok((hit, true)),
                Err(mut denial) => {
                    self.validations.invalidate(&cache_key);
                    denial.cached = true;
                    Err(denial)
                }
            };
        }
        let validated = self
            .validate(pre_inputs, endpoint, region, authorization, now)
            .await?;
        self.validations.insert(cache_key, &validated);
        Ok((validated, false))
    }

    /// A validation the cache could not answer: the call or the signature, the check and
    /// the injection.
    async fn validate(
        &self,
        pre_inputs: &PreInputs,
        endpoint: &Url,
        region: Option<&str>,
        authorization: &str,
        now: Moment,
    ) -> Result<Arc<Validated>, Denial> {
        let at = loggable(endpoint);
        let with_endpoint = |mut denial: Denial| {
            denial.detail = Some(match denial.detail {
                Some(detail) => format!("{at}: {detail}"),
                None => at.clone(),
            });
            denial
        };
        let seconds = now.epoch_seconds();
        let call = match &pre_inputs.style {
            ValidationStyle::Forward => Some(ValidationCall::Forward { authorization }),
            ValidationStyle::Rfc7662 {
                client_id,
                client_secret,
                ..
            } => Some(ValidationCall::Introspect {
                token: bearer_token(authorization).unwrap_or(authorization),
                client_id,
                client_secret,
            }),
            ValidationStyle::Jwt(_) | ValidationStyle::Tokengate { .. } => None,
        };
        let response;
        let accepted = match (call, &self.jwt) {
            (Some(call), _) => {
                let started = std::time::Instant::now();
                let answer = self.endpoint.call(endpoint, call).await;
                crate::metrics::validation_call(started.elapsed(), answer.is_ok());
                response = answer.map_err(|e| {
                    Denial::with_detail(Reason::EndpointUnreachable, format!("{at}: {e}"))
                })?;
                check::accept(&pre_inputs.style, &response, seconds).map_err(with_endpoint)?
            }
            (None, Some(jwt)) => {
                let token = bearer_token(authorization).unwrap_or(authorization);
                let claims = jwt
                    .verify(endpoint, token, now)
                    .await
                    .map_err(with_endpoint)?;
                check::accept_jwt(&pre_inputs.style, claims, region, seconds)?
            }
            // Built together with the pre-inputs: never, but never a fallback either.
            (None, None) => {
                return Err(Denial::with_detail(
                    Reason::ConfigInvalid,
                    "the jwt verifier is missing",
                ));
            }
        };
        let injected = accepted.body.inject(
            pre_inputs.injections_for(region),
            &pre_inputs.xml_namespaces,
        );
        let exp = accepted.claims.exp;
        Ok(Arc::new(Validated::new(
            injected.headers,
            injected.rejected,
            accepted.claims,
            None,
            (pre_inputs.cache.ttl, exp),
            now,
        )))
    }
}
