//! DynamoDB items as the stores write them: attribute names, and typed reads that name the
//! attribute at fault.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::code::SystemCode;

/// An item as the SDK holds it.
pub(super) type Item = HashMap<String, AttributeValue>;

/// Partition key of `KEYS_TABLE` (string).
pub const KEY_ID: &str = "key_id";
/// Partition key of `TOKENS_TABLE` (string, hex SHA-256 of the token).
pub const TOKEN_HASH: &str = "token_hash";
/// The TTL attribute of `TOKENS_TABLE` (number, epoch seconds).
pub const EXPIRES_AT: &str = "expires_at";

/// A key's failed authentications: how many, and since when (absent: none).
pub(super) const FAILURES: &str = "failures";
pub(super) const FAILURES_SINCE: &str = "failures_since";
/// Until when a key's tokens are revoked (absent: never).
pub(super) const TOKENS_REVOKED_AT: &str = "tokens_revoked_at";

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Reads typed attributes out of an item, naming the attribute that is wrong.
pub(super) struct Attributes<'a>(pub(super) &'a Item);

impl Attributes<'_> {
    pub(super) fn string(&self, name: &str) -> Result<&str, String> {
        match self.0.get(name) {
            Some(AttributeValue::S(v)) => Ok(v),
            Some(_) => Err(format!("attribute '{name}' is not a string")),
            None => Err(format!("attribute '{name}' is missing")),
        }
    }

    pub(super) fn optional_string(&self, name: &str) -> Result<Option<&str>, String> {
        match self.0.get(name) {
            None => Ok(None),
            Some(_) => self.string(name).map(Some),
        }
    }

    pub(super) fn number(&self, name: &str) -> Result<u64, String> {
        match self.0.get(name) {
            Some(AttributeValue::N(v)) => v
                .parse()
                .map_err(|_| format!("attribute '{name}' is not a whole number")),
            Some(_) => Err(format!("attribute '{name}' is not a number")),
            None => Err(format!("attribute '{name}' is missing")),
        }
    }

    pub(super) fn optional_number(&self, name: &str) -> Result<u64, String> {
        match self.0.get(name) {
            None => Ok(0),
            Some(_) => self.number(name),
        }
    }

    pub(super) fn string_set(&self, name: &str) -> Result<&[String], String> {
        match self.0.get(name) {
            Some(AttributeValue::Ss(v)) => Ok(v),
            Some(_) => Err(format!("attribute '{name}' is not a string set")),
            None => Ok(&[]),
        }
    }

    pub(super) fn optional_code(&self, name: &str) -> Result<Option<SystemCode>, String> {
        self.optional_string(name)?
            .map(|code| SystemCode::parse(code).map_err(|e| format!("attribute '{name}': {e}")))
            .transpose()
    }
}
