//! An answer as API Gateway reads it: whether it allows a method ARN, evaluated as IAM
//! evaluates a policy (an explicit Deny wins, then an Allow; `*` and `?` wildcards), and
//! the context it passes on. `tokengate serve` answers by it, cached answers included.

use aws_lambda_events::iam::IamPolicyEffect;
use serde_json::{Map, Value};

use crate::apigw::AuthorizerAnswer;
use crate::route_answer::RouteAnswer;
use crate::routes::glob_match;

impl AuthorizerAnswer {
    /// Whether API Gateway lets a request for `method_arn` through on this answer.
    pub fn allows(&self, method_arn: &str) -> bool {
        match self {
            Self::Simple(simple) => simple.is_authorized,
            Self::Policy(answer) => {
                let covers = |effect: IamPolicyEffect| {
                    answer.policy_document.statement.iter().any(|s| {
                        s.effect == effect && s.resource.iter().any(|r| glob_match(r, method_arn))
                    })
                };
                !covers(IamPolicyEffect::Deny) && covers(IamPolicyEffect::Allow)
            }
            Self::Routes(answer) => answer.allows(method_arn),
        }
    }

    /// The context API Gateway passes on to mappings and gateway responses.
    pub fn context(&self) -> &Map<String, Value> {
        match self {
            Self::Simple(simple) => &simple.context,
            Self::Policy(answer) => &answer.context,
            Self::Routes(answer) => &answer.context,
        }
    }
}

impl RouteAnswer {
    fn allows(&self, method_arn: &str) -> bool {
        let Some(rest) = method_arn.strip_prefix(self.base.as_str()) else {
            return false;
        };
        let (allow, deny) = self.grants.patterns();
        !deny.iter().any(|p| glob_match(p, rest)) && allow.iter().any(|p| glob_match(p, rest))
    }
}
