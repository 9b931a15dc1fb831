//! The routes the token service answers, and the contract each holds a request to. A
//! leaf: the request, the errors, the metadata and the handler all name them.

/// INN-Reach's token route, held to its contract.
pub const INN_REACH_TOKEN_PATH: &str = "/innreach/v2/oauth2/token";
/// The generic RFC 6749 token route.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// The RFC 7662 introspection route.
pub const INTROSPECTION_PATH: &str = "/oauth2/introspect";
/// The RFC 7009 revocation route.
pub const REVOCATION_PATH: &str = "/oauth2/revoke";
/// The RFC 8414 metadata route.
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// The published signing keys (RFC 7517 JWK Set).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Every route the token service answers.
pub const ROUTES: [&str; 6] = [
    INN_REACH_TOKEN_PATH,
    TOKEN_PATH,
    INTROSPECTION_PATH,
    REVOCATION_PATH,
    METADATA_PATH,
    JWKS_PATH,
];

/// Which contract a token request is held to, by its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// `/innreach/v2/oauth2/token`: every INN-Reach header required, HTTP Basic only, and
    /// INN-Reach's `invalid_token` answer to refused credentials.
    InnReach,
    /// `/oauth2/token`, introspection and revocation: RFC 6749 as any OAuth client speaks
    /// it, both client authentication methods, `invalid_client` on refused credentials.
    Standard,
}
