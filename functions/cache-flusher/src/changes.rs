//! Which stream records change a decision API Gateway may have cached: the domain, free of
//! the SDK. A key is read from `KEYS_TABLE` by `key_id`, a token from `TOKENS_TABLE` by
//! `token_hash`; the two tables are told apart by their partition key.

use aws_lambda_events::event::dynamodb::EventRecord;
use serde_dynamo::Item;
use tokengate_shared::store::dynamodb::{KEY_ID, SOURCE_PREFIX, TOKEN_HASH};

/// The attributes of a key record that an authorizer's decision reads: its status, its
/// secret (a rotation), the moment its tokens were revoked, its scopes, audiences and plan.
/// A change to any other (failed attempts, `updated_at`, the description) flushes nothing.
pub const DECISION_ATTRIBUTES: [&str; 6] = [
    "status",
    "secret_hash",
    "tokens_revoked_at",
    "scopes",
    "audiences",
    "plan_name",
];

/// A change that a cached Allow could outlive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A key was deleted.
    KeyDeleted,
    /// One of a key's [`DECISION_ATTRIBUTES`] changed (the first found).
    KeyChanged(&'static str),
    /// A token was revoked (deleted other than by its TTL).
    TokenRevoked,
}

impl Change {
    /// The change's name in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::KeyDeleted => "key_deleted",
            Self::KeyChanged(_) => "key_changed",
            Self::TokenRevoked => "token_revoked",
        }
    }
}

/// What one record changed, if it matters to a cached decision.
pub fn change_of(record: &EventRecord) -> Option<Change> {
    let keys = &record.change.keys;
    let removed = record.event_name == "REMOVE";
    if keys.contains_key(KEY_ID) {
        if removed {
            return Some(Change::KeyDeleted);
        }
        if record.event_name != "MODIFY" {
            return None;
        }
        let (old, new) = (&record.change.old_image, &record.change.new_image);
        return DECISION_ATTRIBUTES
            .into_iter()
            .find(|name| differs(old, new, name))
            .map(Change::KeyChanged);
    }
    let is_token = match keys.get(TOKEN_HASH) {
        Some(serde_dynamo::AttributeValue::S(hash)) => !hash.starts_with(SOURCE_PREFIX),
        _ => false,
    };
    (is_token && removed && !expired_by_ttl(record)).then_some(Change::TokenRevoked)
}

fn differs(old: &Item, new: &Item, name: &str) -> bool {
    old.get(name) != new.get(name)
}

/// DynamoDB's TTL deletes as the service itself: an expired token is denied by its `exp`
/// already, and no flush is needed.
fn expired_by_ttl(record: &EventRecord) -> bool {
    record
        .user_identity
        .as_ref()
        .is_some_and(|who| who.type_ == "Service" && who.principal_id == "dynamodb.amazonaws.com")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn record(value: Value) -> EventRecord {
        let mut value = value;
        value["eventID"] = json!("1");
        value["awsRegion"] = json!("us-east-1");
        value["dynamodb"]["SizeBytes"] = json!(100);
        serde_json::from_value(value).unwrap()
    }

    fn key_modified(old: Value, new: Value) -> EventRecord {
        record(json!({"eventName": "MODIFY", "dynamodb": {
            "Keys": {"key_id": {"S": "k"}}, "OldImage": old, "NewImage": new}}))
    }

    #[test]
    fn a_disabled_rotated_or_revoked_key_is_a_change_and_its_failure_count_is_not() {
        let base = json!({"key_id": {"S": "k"}, "status": {"S": "active"}, "failures": {"N": "1"}});
        let mut disabled = base.clone();
        disabled["status"] = json!({"S": "disabled"});
        assert_eq!(
            change_of(&key_modified(base.clone(), disabled)),
            Some(Change::KeyChanged("status"))
        );
        let mut revoked = base.clone();
        revoked["tokens_revoked_at"] = json!({"N": "1700000000"});
        assert_eq!(
            change_of(&key_modified(base.clone(), revoked)),
            Some(Change::KeyChanged("tokens_revoked_at"))
        );
        let mut counted = base.clone();
        counted["failures"] = json!({"N": "2"});
        counted["updated_at"] = json!({"N": "1700000000"});
        assert_eq!(change_of(&key_modified(base, counted)), None);
    }

    #[test]
    fn a_deleted_key_and_a_deleted_token_are_changes_but_a_ttl_expiry_and_a_counter_are_not() {
        let deleted =
            record(json!({"eventName": "REMOVE", "dynamodb": {"Keys": {"key_id": {"S": "k"}}}}));
        assert_eq!(change_of(&deleted), Some(Change::KeyDeleted));
        let revoked = record(
            json!({"eventName": "REMOVE", "dynamodb": {"Keys": {"token_hash": {"S": "ab"}}}}),
        );
        assert_eq!(change_of(&revoked), Some(Change::TokenRevoked));
        let expired = record(json!({"eventName": "REMOVE",
            "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
            "dynamodb": {"Keys": {"token_hash": {"S": "ab"}}}}));
        assert_eq!(change_of(&expired), None);
        let counter = record(
            json!({"eventName": "REMOVE", "dynamodb": {"Keys": {"token_hash": {"S": "source#d2ir1"}}}}),
        );
        assert_eq!(change_of(&counter), None);
        let issued = record(
            json!({"eventName": "INSERT", "dynamodb": {"Keys": {"token_hash": {"S": "ab"}}}}),
        );
        assert_eq!(change_of(&issued), None);
    }
}
