//! An API Gateway REQUEST authorizer: TIBCO Mashery's "Third Party OAuth 2.0 Token
//! Connector", rebuilt serverless.
//!
//! - [`pre_inputs`]: the configuration, parsed and checked once at cold start;
//! - [`decision`]: the domain, [`Authorizer::decide`], in Mashery's order, over
//!   [`endpoint`] (the validation call), [`check`] (what its answer means, per style) and
//!   [`injection`] (headers from the answer, and the rules for header names), or over
//!   [`jwt`] (JWT access tokens verified locally against the issuer's JWKS, with
//!   [`signature`]);
//! - [`apigw`]: API Gateway's events in and answers out;
//! - [`handler`]: the whole function, one log line per decision;
//! - [`metrics`]: what operators graph and alarm on, through the `metrics` facade.

pub mod apigw;
pub mod check;
pub mod decision;
pub mod endpoint;
pub mod error;
pub mod gateway_view;
pub mod handler;
pub mod header_rules;
pub mod injection;
pub mod jsonpath;
pub mod jwt;
pub mod keyset;
pub mod metering;
pub mod metrics;
pub mod moment;
pub mod pre_inputs;
pub mod request;
pub mod route_answer;
pub mod routes;
pub mod settings;
pub mod signature;
mod validations;
pub mod xpath;

pub use decision::{AuthRequest, Authorizer, Decision};
pub use error::{Denial, Deny, Reason};
pub use moment::Moment;
pub use pre_inputs::{ConfigError, PreInputs};
