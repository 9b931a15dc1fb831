//! The INN-Reach D2IR token endpoint (`POST /innreach/v2/oauth2/token`), the same service
//! for any RFC 6749 client at `/oauth2/token`, and RFC 7662 introspection, RFC 7009
//! revocation and RFC 8414 metadata for the tokens it issues.
//!
//! [`handler::handle`] is the whole function: the Lambda binary and the local server both
//! call it with an HTTP request and get an HTTP response back.

pub mod error;
pub mod handler;
pub mod metadata;
pub mod metrics;
pub mod request;
pub mod rotator;
pub mod routes;
pub mod service;
pub mod settings;

pub use error::TokenEndpointError;
pub use service::TokenService;
pub use settings::TokenIssuerSettings;
