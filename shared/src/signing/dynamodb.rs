//! JWT signing keys in `SIGNING_KEYS_TABLE`: public JWKs in the clear, private keys only as
//! KMS ciphertext or a KMS key id.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use tracing::instrument;

use super::record::{Rotation, StateChange};
use super::store::{SigningKeyStore, in_life_order};
use super::{KeyState, Protection, PublicJwk, SigningAlg, SigningKey};
use crate::store::StoreError;
use crate::store::dynamodb::call::{classify, timed};
use crate::store::dynamodb::item::{Attributes, Item, KID, n, s};

/// Signing keys in `SIGNING_KEYS_TABLE`.
#[derive(Debug, Clone)]
pub struct DynamoSigningKeyStore {
    client: Client,
    table: String,
}

impl DynamoSigningKeyStore {
    /// A store over `table`, sharing the given client.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            table: self.table.clone(),
            detail,
        }
    }

    fn put(&self, key: &SigningKey) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(key)?))
            .condition_expression("attribute_not_exists(kid)")
            .build()
            .map_err(|e| StoreError::Backend {
                detail: e.to_string(),
            })?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn update(&self, change: &StateChange, now: u64) -> Result<TransactWriteItem, StoreError> {
        let mut expression = "SET #state = :to, state_since = :now".to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(KID, s(&change.kid))
            .condition_expression("#state = :from")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":from", s(change.from.as_str()))
            .expression_attribute_values(":to", s(change.to.as_str()))
            .expression_attribute_values(":now", n(now));
        match change.retire_at {
            Some(at) => {
                expression.push_str(", retire_at = :retire");
                update = update.expression_attribute_values(":retire", n(at));
            }
            None => expression.push_str(" REMOVE retire_at"),
        }
        let update =
            update
                .update_expression(expression)
                .build()
                .map_err(|e| StoreError::Backend {
                    detail: e.to_string(),
                })?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

fn item(key: &SigningKey) -> Result<Item, StoreError> {
    let jwk = serde_json::to_string(&key.jwk).map_err(|e| StoreError::Backend {
        detail: e.to_string(),
    })?;
    let mut item = Item::from([
        (KID.to_owned(), s(&key.kid)),
        ("alg".to_owned(), s(key.alg.as_str())),
        ("state".to_owned(), s(key.state.as_str())),
        ("jwk".to_owned(), s(jwk)),
        ("mode".to_owned(), s(key.protection.mode())),
        ("created_at".to_owned(), n(key.created_at)),
        ("state_since".to_owned(), n(key.state_since)),
    ]);
    match &key.protection {
        Protection::Envelope {
            ciphertext,
            kms_key_id,
        } => {
            let blob = AttributeValue::B(Blob::new(ciphertext.clone()));
            item.insert("ciphertext".to_owned(), blob);
            item.insert("kms_key_id".to_owned(), s(kms_key_id));
        }
        Protection::Kms { key_id } => {
            item.insert("kms_key_id".to_owned(), s(key_id));
        }
        Protection::InMemory(_) => {
            return Err(StoreError::Backend {
                detail: "a key held in memory is never written to a table".into(),
            });
        }
    }
    if let Some(at) = key.retire_at {
        item.insert("retire_at".to_owned(), n(at));
    }
    Ok(item)
}

fn read(item: &Item) -> Result<SigningKey, String> {
    let a = Attributes(item);
    let kid = a.string(KID)?.to_owned();
    let named = |problem: &str| format!("signing key {kid}: {problem}");
    let alg = SigningAlg::parse(a.string("alg")?).ok_or_else(|| named("unknown 'alg'"))?;
    let state = KeyState::parse(a.string("state")?).ok_or_else(|| named("unknown 'state'"))?;
    let jwk: PublicJwk =
        serde_json::from_str(a.string("jwk")?).map_err(|e| named(&format!("'jwk': {e}")))?;
    let kms_key_id = a.string("kms_key_id")?.to_owned();
    let protection = match a.string("mode")? {
        "envelope" => match item.get("ciphertext") {
            Some(AttributeValue::B(blob)) => Protection::Envelope {
                ciphertext: blob.clone().into_inner(),
                kms_key_id,
            },
            _ => return Err(named("'ciphertext' is missing or not binary")),
        },
        "kms" => Protection::Kms { key_id: kms_key_id },
        _ => return Err(named("unknown 'mode'")),
    };
    if jwk.kid != kid || jwk.alg != alg.as_str() {
        return Err(named("its JWK names another key or algorithm"));
    }
    Ok(SigningKey {
        alg,
        state,
        jwk,
        protection,
        created_at: a.number("created_at")?,
        state_since: a.number("state_since")?,
        retire_at: item
            .contains_key("retire_at")
            .then(|| a.number("retire_at"))
            .transpose()?,
        kid,
    })
}

#[async_trait]
impl SigningKeyStore for DynamoSigningKeyStore {
    #[instrument(skip(self), fields(table = %self.table))]
    async fn list(&self) -> Result<Vec<SigningKey>, StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let page = timed(
                "Scan",
                self.client
                    .scan()
                    .table_name(&self.table)
                    .consistent_read(true)
                    .set_exclusive_start_key(start)
                    .send(),
            )
            .await
            .map_err(|e| classify(&self.table, e))?;
            for found in page.items() {
                keys.push(read(found).map_err(|detail| self.corrupt(detail))?);
            }
            match page.last_evaluated_key {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        Ok(in_life_order(keys))
    }

    #[instrument(skip(self, rotation), fields(table = %self.table))]
    async fn apply(&self, rotation: &Rotation, now: u64) -> Result<(), StoreError> {
        let mut writes = Vec::new();
        for key in &rotation.created {
            writes.push(self.put(key)?);
        }
        for change in &rotation.moved {
            writes.push(self.update(change, now)?);
        }
        let result = timed(
            "TransactWriteItems",
            self.client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send(),
        )
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("TransactionCanceledException") => {
                Err(StoreError::Conflict {
                    detail: "the signing keys changed while this rotation was being made".into(),
                })
            }
            Err(err) => Err(classify(&self.table, err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_key_survives_the_round_trip_and_a_key_in_memory_is_never_written() {
        let key = SigningKey {
            kid: "k1".into(),
            alg: SigningAlg::Es256,
            state: KeyState::Previous,
            jwk: PublicJwk::p256("k1", &[1; 32], &[2; 32]),
            protection: Protection::Envelope {
                ciphertext: vec![9, 9],
                kms_key_id: "alias/tokengate".into(),
            },
            created_at: 1,
            state_since: 2,
            retire_at: Some(3),
        };
        assert_eq!(read(&item(&key).unwrap()), Ok(key.clone()));
        let in_memory = SigningKey {
            protection: Protection::InMemory(std::sync::Arc::new(super::super::Pkcs8::new(vec![
                1,
            ]))),
            ..key
        };
        assert!(item(&in_memory).is_err());
    }
}
