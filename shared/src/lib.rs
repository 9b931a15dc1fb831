//! tokengate's domain, shared by both Lambda functions and the `tokengate` CLI.
//!
//! Nothing here knows about Lambda events: client keys and their secrets, access tokens,
//! and the stores that keep them (DynamoDB for deployments, in-memory for the local server);
//! the one TLS configuration and the SDK's transport ([`tls`], [`transport`]); and what both
//! functions do first ([`startup`]: their metrics collector, and a one-line init error).

pub mod clock;
pub mod code;
pub mod grants;
pub mod key;
pub mod plan;
pub mod random;
pub mod secret;
pub mod signing;
pub mod startup;
pub mod store;
pub mod tls;
pub mod token;
pub mod transport;

pub use code::SystemCode;
pub use grants::{Audience, Grants, INN_REACH_SCOPE, Scope, TokenFormat};
pub use key::{ClientKey, FailedAttempts, FailureLimit, KeyId, KeyStatus, Reservation};
pub use secret::{Secret, SecretHash};
pub use signing::SigningKeyStore;
pub use store::{
    FailureLog, IssuerKeys, IssuerTokens, KeyAdmin, KeyReader, NoKeyStore, ReadEach, Revocation,
    SourceFailureLog, StoreError, TokenAndKeys, TokenLookup, TokenStore,
};
pub use token::{AccessToken, ActiveToken, AudienceClaim, TokenHash, TokenRecord};
