//! The cost model (docs/cost.md): what a decision and a token cost, from the operations the
//! tests count, the durations the harnesses measure, and AWS's published prices. Pure
//! arithmetic; [`super`] reads the options and prints.

use serde::Serialize;

/// One published price: its value, what it is for, where it is published, and when it was
/// recorded here (prices are not fetched live: this machine reaches no AWS page).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Price {
    /// US dollars per unit.
    pub usd: f64,
    /// The unit.
    pub per: &'static str,
    /// Where AWS publishes it.
    pub source: &'static str,
    /// When recorded, or since when in force where that is known.
    pub noted: &'static str,
}

/// us-east-1, on demand, the first tier of each.
pub const REST_API: Price = Price {
    usd: 3.50e-6,
    per: "REST API request (first 333 million a month)",
    source: "https://aws.amazon.com/api-gateway/pricing/",
    noted: "recorded 2026-12-06",
};
/// An HTTP API request: API Gateway's JWT authorizer runs there, with no Lambda.
pub const HTTP_API: Price = Price {
    usd: 1.00e-6,
    per: "HTTP API request (first 300 million a month)",
    source: "https://aws.amazon.com/api-gateway/pricing/",
    noted: "recorded 2026-12-06",
};
/// A Lambda invocation.
pub const LAMBDA_REQUEST: Price = Price {
    usd: 0.20e-6,
    per: "Lambda request",
    source: "https://aws.amazon.com/lambda/pricing/",
    noted: "recorded 2026-12-06",
};
/// A GB-second on arm64 (x86_64: [`LAMBDA_GB_SECOND_X86`]); init is billed since 2025-08-01.
pub const LAMBDA_GB_SECOND_ARM: Price = Price {
    usd: 0.000_013_333_4,
    per: "Lambda GB-second, arm64, billed per 1 ms (init too)",
    source: "https://aws.amazon.com/lambda/pricing/",
    noted: "init billed since 2025-08-01",
};
/// A GB-second on x86_64.
pub const LAMBDA_GB_SECOND_X86: Price = Price {
    usd: 0.000_016_666_7,
    per: "Lambda GB-second, x86_64, billed per 1 ms (init too)",
    source: "https://aws.amazon.com/lambda/pricing/",
    noted: "init billed since 2025-08-01",
};
/// An on-demand read request unit.
pub const READ_UNIT: Price = Price {
    usd: 0.125e-6,
    per: "DynamoDB on-demand read request unit",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    noted: "in force since 2024-11-01",
};
/// An on-demand write request unit.
pub const WRITE_UNIT: Price = Price {
    usd: 0.625e-6,
    per: "DynamoDB on-demand write request unit",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    noted: "in force since 2024-11-01",
};
/// A KMS `Sign` with an asymmetric key.
pub const KMS_ASYMMETRIC: Price = Price {
    usd: 0.15 / 10_000.0,
    per: "KMS asymmetric request (Sign)",
    source: "https://aws.amazon.com/kms/pricing/",
    noted: "recorded 2026-12-06",
};
/// A Cognito machine-to-machine token request.
pub const COGNITO_M2M: Price = Price {
    usd: 2.25 / 1_000.0,
    per: "Cognito M2M token request (first tier; plus $6 per app client a month)",
    source: "https://aws.amazon.com/cognito/pricing/",
    noted: "in force since 2024-05-09",
};

/// Every price the model uses, for the report.
pub const PRICES: [Price; 10] = [
    REST_API,
    HTTP_API,
    LAMBDA_REQUEST,
    LAMBDA_GB_SECOND_ARM,
    LAMBDA_GB_SECOND_X86,
    READ_UNIT,
    WRITE_UNIT,
    KMS_ASYMMETRIC,
    COGNITO_M2M,
    Price {
        usd: 6.0,
        per: "Cognito M2M app client a month",
        source: "https://aws.amazon.com/cognito/pricing/",
        noted: "in force since 2024-05-09",
    },
];

/// What the functions do per decision and per token, measured here.
pub mod measured {
    /// The handler's own time per decision or token, an upper bound over the benches
    /// (docs/performance.md: 4–90 µs a decision, 30–50 µs an opaque or ES256 token).
    pub const HANDLER_MS: f64 = 0.1;
    /// RS256 signing, on top (docs/performance.md: 0.66 ms).
    pub const RS256_MS: f64 = 0.66;
    /// The authorizer's init, its DynamoDB warm-up on loopback included
    /// (infra/scripts/coldstart, median of ten, 2026-12-06).
    pub const AUTHORIZER_INIT_MS: f64 = 4.7;
    /// The token-issuer's init less its peers' time (2026-12-06).
    pub const TOKEN_ISSUER_INIT_MS: f64 = 3.2;
    /// The `jwt` style's key cache (`cache.key_ttl_seconds`, default 30 s): an API key is
    /// read once per this per environment.
    pub const KEY_CACHE_SECONDS: f64 = 30.0;
}

/// Seconds in a 30-day month.
pub const MONTH_SECONDS: f64 = 30.0 * 86_400.0;

/// A validation style as it costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    /// `tokengate`: the token and its key read on each decision (or once per lag).
    Tokengate,
    /// `jwt`, the API key checked by tokengate (cached 30 s per environment).
    Jwt,
    /// `jwt` with `api_key.checked_by: api_gateway`: no store at all.
    JwtGatewayKeys,
    /// `rfc7662`: introspection at the validation endpoint on every decision.
    Rfc7662,
    /// `forward`: Mashery's GET to the validation endpoint on every decision.
    Forward,
}

/// How tokens are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// Opaque, stored.
    Opaque,
    /// A JWT signed in the function with an RS256 key decrypted once per environment.
    JwtEnvelope,
    /// A JWT signed by KMS, one `Sign` per token.
    JwtKms,
}

/// The deployment and the assumptions the figures rest on.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Assumptions {
    /// Lambda memory, MB (the template's 256).
    pub memory_mb: f64,
    /// arm64 (the template's default) or x86_64.
    pub arm64: bool,
    /// One DynamoDB round trip from Lambda in the same region, ms.
    pub store_ms: f64,
    /// One validation endpoint round trip (`rfc7662`, `forward`), ms.
    pub upstream_ms: f64,
    /// One KMS `Sign` round trip, ms.
    pub kms_ms: f64,
    /// `revocation_lag_seconds` of the `tokengate` style.
    pub lag_seconds: f64,
    /// `eventually_consistent_reads`.
    pub eventual: bool,
    /// Hours an execution environment lives before Lambda replaces it (a cold start).
    pub environment_hours: f64,
}

/// What a million of something costs, by service, in US dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PerMillion {
    /// API Gateway's requests.
    pub api_gateway: f64,
    /// Lambda's requests.
    pub lambda_requests: f64,
    /// Lambda's billed duration, init included.
    pub lambda_duration: f64,
    /// DynamoDB's request units.
    pub dynamodb: f64,
    /// KMS's requests.
    pub kms: f64,
    /// Everything.
    pub total: f64,
}

impl PerMillion {
    fn summed(mut self) -> Self {
        self.total = self.api_gateway
            + self.lambda_requests
            + self.lambda_duration
            + self.dynamodb
            + self.kms;
        self
    }
}

impl Assumptions {
    fn gb_second(&self) -> f64 {
        if self.arm64 {
            LAMBDA_GB_SECOND_ARM.usd
        } else {
            LAMBDA_GB_SECOND_X86.usd
        }
    }

    /// Lambda's duration cost of one invocation of `own_ms`, billed per whole ms, with
    /// `init_ms` spread over the invocations an environment serves in its life at `rate`.
    fn duration_usd(&self, own_ms: f64, init_ms: f64, rate: f64, environments: f64) -> f64 {
        let billed_ms = own_ms.ceil().max(1.0);
        let per_environment = rate / environments * self.environment_hours * 3_600.0;
        let init_share = init_ms.ceil() / per_environment.max(1.0);
        (billed_ms + init_share) / 1_000.0 * self.memory_mb / 1_024.0 * self.gb_second()
    }

    /// Environments busy at `rate` a second, each invocation taking `own_ms` (Little's law,
    /// at the month's average; at least one).
    fn environments(rate: f64, own_ms: f64) -> f64 {
        (rate * own_ms / 1_000.0).ceil().max(1.0)
    }

    /// A million decisions in `style`, at `per_month` decisions a month.
    pub fn decisions(&self, style: Style, per_month: f64) -> PerMillion {
        let rate = per_month / MONTH_SECONDS;
        let upstream = match style {
            Style::Rfc7662 | Style::Forward => self.upstream_ms,
            _ => 0.0,
        };
        let strong_unit = |units: f64| if self.eventual { units / 2.0 } else { units };
        // Read units and store round trips per decision.
        let (units, trips) = match style {
            Style::Tokengate if self.lag_seconds > 0.0 => {
                let environments = Self::environments(rate, self.store_ms + measured::HANDLER_MS);
                let share =
                    (environments / (self.lag_seconds * rate.max(f64::MIN_POSITIVE))).min(1.0);
                (strong_unit(2.0) * share, share)
            }
            Style::Tokengate => (2.0, 1.0),
            Style::JwtGatewayKeys => (0.0, 0.0),
            Style::Jwt | Style::Rfc7662 | Style::Forward => {
                let own = measured::HANDLER_MS + upstream;
                let environments = Self::environments(rate, own);
                let share = (environments
                    / (measured::KEY_CACHE_SECONDS * rate.max(f64::MIN_POSITIVE)))
                .min(1.0);
                (share, share)
            }
        };
        let own_ms = measured::HANDLER_MS + upstream + trips * self.store_ms;
        let environments = Self::environments(rate, own_ms);
        let million = 1_000_000.0;
        PerMillion {
            api_gateway: REST_API.usd * million,
            lambda_requests: LAMBDA_REQUEST.usd * million,
            lambda_duration: self.duration_usd(
                own_ms,
                measured::AUTHORIZER_INIT_MS,
                rate,
                environments,
            ) * million,
            dynamodb: units * READ_UNIT.usd * million,
            ..PerMillion::default()
        }
        .summed()
    }

    /// A million tokens of `kind`, at `per_month` tokens a month: one `GetItem` and one
    /// `PutItem` each, as the tests count them, and a KMS `Sign` each in kms mode.
    pub fn tokens(&self, kind: TokenKind, per_month: f64) -> PerMillion {
        let rate = per_month / MONTH_SECONDS;
        let signing = match kind {
            TokenKind::Opaque => 0.0,
            TokenKind::JwtEnvelope => measured::RS256_MS,
            TokenKind::JwtKms => self.kms_ms,
        };
        let own_ms = measured::HANDLER_MS + 2.0 * self.store_ms + signing;
        let environments = Self::environments(rate, own_ms);
        let million = 1_000_000.0;
        PerMillion {
            api_gateway: REST_API.usd * million,
            lambda_requests: LAMBDA_REQUEST.usd * million,
            lambda_duration: self.duration_usd(
                own_ms,
                measured::TOKEN_ISSUER_INIT_MS,
                rate,
                environments,
            ) * million,
            dynamodb: (READ_UNIT.usd + WRITE_UNIT.usd) * million,
            kms: if kind == TokenKind::JwtKms {
                KMS_ASYMMETRIC.usd * million
            } else {
                0.0
            },
            total: 0.0,
        }
        .summed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assumed() -> Assumptions {
        Assumptions {
            memory_mb: 256.0,
            arm64: true,
            store_ms: 4.0,
            upstream_ms: 20.0,
            kms_ms: 10.0,
            lag_seconds: 0.0,
            eventual: false,
            environment_hours: 1.0,
        }
    }

    #[test]
    fn a_strict_tokengate_decision_costs_two_read_units_and_its_round_trip() {
        let cost = assumed().decisions(Style::Tokengate, 100e6);
        assert!((cost.dynamodb - 0.25).abs() < 1e-9, "{cost:?}");
        assert!((cost.api_gateway - 3.5).abs() < 1e-9);
        // 4.1 ms billed as 5 ms, at 256 MB on arm64, plus init's share.
        let billed = 5.0 / 1_000.0 * 0.25 * LAMBDA_GB_SECOND_ARM.usd * 1e6;
        assert!(
            cost.lambda_duration >= billed && cost.lambda_duration < billed * 1.01,
            "{cost:?}"
        );
    }

    #[test]
    fn a_lag_divides_a_hot_clients_reads_by_its_decisions_per_lag_per_environment() {
        let lagging = Assumptions {
            lag_seconds: 1.0,
            ..assumed()
        };
        // 1,000 decisions a second over 5 environments: 5 reads of 2 units a second.
        let per_month = 1_000.0 * MONTH_SECONDS;
        let cost = lagging.decisions(Style::Tokengate, per_month);
        let expected = 2.0 * 5.0 / 1_000.0 * READ_UNIT.usd * 1e6;
        assert!((cost.dynamodb - expected).abs() < 1e-9, "{cost:?}");
        let eventual = Assumptions {
            eventual: true,
            ..lagging
        };
        let halved = eventual.decisions(Style::Tokengate, per_month).dynamodb;
        assert!((halved - expected / 2.0).abs() < 1e-9);
        assert_eq!(
            assumed()
                .decisions(Style::JwtGatewayKeys, per_month)
                .dynamodb,
            0.0
        );
    }

    #[test]
    fn a_kms_signed_token_pays_the_asymmetric_request_and_cognito_costs_a_thousandfold() {
        let kms = assumed().tokens(TokenKind::JwtKms, 1e6);
        assert!((kms.kms - 15.0).abs() < 1e-9, "{kms:?}");
        let opaque = assumed().tokens(TokenKind::Opaque, 1e6);
        assert_eq!(opaque.kms, 0.0);
        assert!((opaque.dynamodb - 0.75).abs() < 1e-9);
        assert!(COGNITO_M2M.usd * 1e6 / opaque.total > 400.0);
    }
}
