//! An API Gateway REQUEST authorizer: TIBCO Mashery's "Third Party OAuth 2.0 Token
//! Connector", rebuilt serverless.
//!
//! [`decision::Authorizer::decide`] is the domain; [`event`] turns API Gateway's events into
//! requests and decisions into answers; [`handler::handle`] is the whole function.

pub mod config;
pub mod decision;
pub mod endpoint;
pub mod error;
pub mod event;
pub mod handler;
pub mod injection;
pub mod settings;
pub mod xpath;

pub use config::{ConfigError, PreInputs};
pub use decision::{AuthRequest, Authorizer, Decision};
pub use error::Deny;
