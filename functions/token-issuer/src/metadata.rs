//! The RFC 8414 authorization server metadata document, from which OAuth clients discover
//! the endpoints.

use serde_json::{Value, json};

use tokengate_shared::Scope;

use crate::request::GRANT_TYPE;
use crate::routes::{INTROSPECTION_PATH, JWKS_PATH, REVOCATION_PATH, TOKEN_PATH};

/// The client authentication methods every route accepts.
pub const AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

/// The metadata of the token service whose issuer URL is `issuer` (no trailing `/`),
/// announcing `scopes` when there are any (RFC 8414 makes the member optional), and the
/// JWKS when it signs tokens.
pub fn document(issuer: &str, scopes: &[Scope], signs: bool) -> Value {
    let mut document = json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECTION_PATH}"),
        "revocation_endpoint": format!("{issuer}{REVOCATION_PATH}"),
        "grant_types_supported": [GRANT_TYPE],
        // RFC 8414 requires the member; a client-credentials-only server has no
        // authorization endpoint, so no response type.
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
    });
    if signs {
        document["jwks_uri"] = format!("{issuer}{JWKS_PATH}").into();
    }
    if !scopes.is_empty() {
        document["scopes_supported"] = scopes.iter().map(Scope::as_str).collect();
    }
    document
}
