//! DynamoDB items as the stores write them: attribute names, and typed reads that name the
//! attribute at fault.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::code::SystemCode;
use crate::grants::PlanName;
use crate::grants::{Audience, Grants, Scope, TokenFormat};
use crate::key::{ClientKey, FailedAttempts, KeyId, KeyStatus};
use crate::secret::SecretHash;
use crate::token::{TokenHash, TokenRecord};

/// An item as the SDK holds it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// Partition key of `KEYS_TABLE` (string).
pub const KEY_ID: &str = "key_id";
/// Partition key of `TOKENS_TABLE` (string, hex SHA-256 of the token).
pub const TOKEN_HASH: &str = "token_hash";
/// Partition key of `SIGNING_KEYS_TABLE` (string, the key's `kid`).
pub const KID: &str = "kid";
/// The TTL attribute of `TOKENS_TABLE` (number, epoch seconds).
pub const EXPIRES_AT: &str = "expires_at";

/// A key's failed authentications: how many, and since when (absent: none).
pub(crate) const FAILURES: &str = "failures";
pub(crate) const FAILURES_SINCE: &str = "failures_since";
/// A key's scopes and audiences (string sets, absent when empty), and its tokens' lifetime
/// (absent: `TOKEN_TTL_SECONDS`); a token's audiences.
pub(crate) const SCOPES: &str = "scopes";
pub(crate) const AUDIENCES: &str = "audiences";
pub(crate) const TOKEN_TTL: &str = "token_ttl";
/// A key's tokens' format (absent: `TOKEN_FORMAT`).
pub(crate) const TOKEN_FORMAT: &str = "token_format";
/// A key's plan (absent: none).
pub(crate) const PLAN_NAME: &str = "plan_name";
/// Until when a key's tokens are revoked (absent: never).
pub(crate) const TOKENS_REVOKED_AT: &str = "tokens_revoked_at";

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Reads typed attributes out of an item, naming the attribute that is wrong.
pub(crate) struct Attributes<'a>(pub(crate) &'a Item);

impl Attributes<'_> {
    pub(crate) fn string(&self, name: &str) -> Result<&str, String> {
        match self.0.get(name) {
            Some(AttributeValue::S(v)) => Ok(v),
            Some(_) => Err(format!("attribute '{name}' is not a string")),
            None => Err(format!("attribute '{name}' is missing")),
        }
    }

    pub(crate) fn optional_string(&self, name: &str) -> Result<Option<&str>, String> {
        match self.0.get(name) {
            None => Ok(None),
            Some(_) => self.string(name).map(Some),
        }
    }

    pub(crate) fn number(&self, name: &str) -> Result<u64, String> {
        match self.0.get(name) {
            Some(AttributeValue::N(v)) => v
                .parse()
                .map_err(|_| format!("attribute '{name}' is not a whole number")),
            Some(_) => Err(format!("attribute '{name}' is not a number")),
            None => Err(format!("attribute '{name}' is missing")),
        }
    }

    pub(crate) fn optional_number(&self, name: &str) -> Result<u64, String> {
        match self.0.get(name) {
            None => Ok(0),
            Some(_) => self.number(name),
        }
    }

    pub(crate) fn string_set(&self, name: &str) -> Result<&[String], String> {
        match self.0.get(name) {
            Some(AttributeValue::Ss(v)) => Ok(v),
            Some(_) => Err(format!("attribute '{name}' is not a string set")),
            None => Ok(&[]),
        }
    }

    /// A key's grants; a scope or an audience that no longer parses is reported by
    /// attribute name.
    pub(crate) fn grants(&self) -> Result<Grants, String> {
        let scopes = self
            .string_set(SCOPES)?
            .iter()
            .map(|v| Scope::parse(v).map_err(|e| format!("attribute '{SCOPES}': {e}")))
            .collect::<Result<_, _>>()?;
        let audiences = self
            .string_set(AUDIENCES)?
            .iter()
            .map(|v| Audience::from_stored(v).map_err(|e| format!("attribute '{AUDIENCES}': {e}")))
            .collect::<Result<_, _>>()?;
        let token_ttl = self
            .0
            .contains_key(TOKEN_TTL)
            .then(|| self.number(TOKEN_TTL))
            .transpose()?;
        let token_format = self
            .optional_string(TOKEN_FORMAT)?
            .map(|v| TokenFormat::parse(v).map_err(|e| format!("attribute '{TOKEN_FORMAT}': {e}")))
            .transpose()?;
        let plan = self
            .optional_string(PLAN_NAME)?
            .map(|v| PlanName::parse(v).map_err(|e| format!("attribute '{PLAN_NAME}': {e}")))
            .transpose()?;
        Ok(Grants {
            scopes,
            audiences,
            token_ttl,
            token_format,
            plan,
        })
    }

    pub(crate) fn optional_code(&self, name: &str) -> Result<Option<SystemCode>, String> {
        self.optional_string(name)?
            .map(|code| SystemCode::parse(code).map_err(|e| format!("attribute '{name}': {e}")))
            .transpose()
    }
}

impl TryFrom<&Item> for ClientKey {
    type Error = String;

    fn try_from(item: &Item) -> Result<Self, Self::Error> {
        let a = Attributes(item);
        let id = KeyId::parse(a.string(KEY_ID)?).map_err(|e| e.to_string())?;
        let codes = a
            .string_set("codes")?
            .iter()
            .map(|c| SystemCode::parse(c).map_err(|e| format!("attribute 'codes': {e}")))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(Self {
            secret_hash: SecretHash::parse(a.string("secret_hash")?)
                .map_err(|e| format!("key {id}: {e}"))?,
            status: KeyStatus::parse(a.string("status")?)
                .ok_or_else(|| format!("key {id}: attribute 'status' is not active or disabled"))?,
            created_at: a.number("created_at")?,
            updated_at: a.number("updated_at")?,
            description: a.optional_string("description")?.map(str::to_owned),
            failures: FailedAttempts {
                count: a.optional_number(FAILURES)?,
                since: a.optional_number(FAILURES_SINCE)?,
            },
            tokens_revoked_at: a.optional_number(TOKENS_REVOKED_AT)?,
            grants: a.grants()?.into(),
            codes,
            id,
        })
    }
}

impl From<&ClientKey> for Item {
    fn from(key: &ClientKey) -> Self {
        let mut item = Item::from([
            (KEY_ID.to_owned(), s(key.id.as_str())),
            ("secret_hash".to_owned(), s(key.secret_hash.encode())),
            ("status".to_owned(), s(key.status.as_str())),
            ("created_at".to_owned(), n(key.created_at)),
            ("updated_at".to_owned(), n(key.updated_at)),
        ]);
        // DynamoDB has no empty sets: a key with no codes simply has no attribute.
        if !key.codes.is_empty() {
            let codes = key.codes.iter().map(|c| c.to_string()).collect();
            item.insert("codes".to_owned(), AttributeValue::Ss(codes));
        }
        if let Some(description) = &key.description {
            item.insert("description".to_owned(), s(description));
        }
        if key.failures != FailedAttempts::default() {
            item.insert(FAILURES.to_owned(), n(key.failures.count));
            item.insert(FAILURES_SINCE.to_owned(), n(key.failures.since));
        }
        if key.tokens_revoked_at != 0 {
            item.insert(TOKENS_REVOKED_AT.to_owned(), n(key.tokens_revoked_at));
        }
        item.extend(grant_attributes(&key.grants));
        item
    }
}

/// A key's grants as attributes; what is empty has none (DynamoDB has no empty sets).
pub(crate) fn grant_attributes(grants: &Grants) -> Vec<(String, AttributeValue)> {
    let mut attributes = Vec::new();
    let set = |values: Vec<String>| AttributeValue::Ss(values);
    if !grants.scopes.is_empty() {
        let scopes = grants.scopes.iter().map(ToString::to_string).collect();
        attributes.push((SCOPES.to_owned(), set(scopes)));
    }
    if !grants.audiences.is_empty() {
        let audiences = grants.audiences.iter().map(ToString::to_string).collect();
        attributes.push((AUDIENCES.to_owned(), set(audiences)));
    }
    if let Some(ttl) = grants.token_ttl {
        attributes.push((TOKEN_TTL.to_owned(), n(ttl)));
    }
    if let Some(format) = grants.token_format {
        attributes.push((TOKEN_FORMAT.to_owned(), s(format.as_str())));
    }
    if let Some(plan) = &grants.plan {
        attributes.push((PLAN_NAME.to_owned(), s(plan.as_str())));
    }
    attributes
}

impl TryFrom<&Item> for TokenRecord {
    type Error = String;

    fn try_from(item: &Item) -> Result<Self, Self::Error> {
        let a = Attributes(item);
        Ok(Self {
            hash: TokenHash::from_hex(a.string(TOKEN_HASH)?)
                .ok_or_else(|| format!("attribute '{TOKEN_HASH}' is not a SHA-256 in hex"))?,
            key_id: KeyId::parse(a.string(KEY_ID)?).map_err(|e| e.to_string())?,
            from_code: a.optional_code("from_code")?,
            to_code: a.optional_code("to_code")?,
            scope: a.string("scope")?.to_owned(),
            audiences: a.string_set(AUDIENCES)?.iter().cloned().collect(),
            issued_at: a.number("issued_at")?,
            expires_at: a.number(EXPIRES_AT)?,
        })
    }
}

impl From<&TokenRecord> for Item {
    fn from(token: &TokenRecord) -> Self {
        let codes = [("from_code", &token.from_code), ("to_code", &token.to_code)]
            .into_iter()
            .filter_map(|(name, code)| code.as_ref().map(|c| (name.to_owned(), s(c.as_str()))));
        let audiences = (!token.audiences.is_empty()).then(|| {
            let audiences = token.audiences.iter().cloned().collect();
            (AUDIENCES.to_owned(), AttributeValue::Ss(audiences))
        });
        Item::from([
            (TOKEN_HASH.to_owned(), s(token.hash.to_hex())),
            (KEY_ID.to_owned(), s(token.key_id.as_str())),
            ("scope".to_owned(), s(&token.scope)),
            ("issued_at".to_owned(), n(token.issued_at)),
            (EXPIRES_AT.to_owned(), n(token.expires_at)),
        ])
        .into_iter()
        .chain(codes)
        .chain(audiences)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_and_audiences_survive_the_round_trip_and_absent_ones_read_as_none() {
        let (mut key, _) = ClientKey::generate(BTreeSet::new(), None, 1);
        key.grants = std::sync::Arc::new(Grants {
            scopes: [Scope::parse("orders.read").unwrap()].into(),
            audiences: [Audience::parse("https://api.example.com").unwrap()].into(),
            token_ttl: Some(60),
            token_format: Some(TokenFormat::Jwt),
            plan: Some(PlanName::parse("gold").unwrap()),
        });
        let item = Item::from(&key);
        assert!(matches!(item.get(SCOPES), Some(AttributeValue::Ss(_))));
        assert_eq!(item[PLAN_NAME], s("gold"));
        assert_eq!(ClientKey::try_from(&item), Ok(key.clone()));
        key.grants = Default::default();
        let item = Item::from(&key);
        assert!(!item.contains_key(SCOPES) && !item.contains_key(AUDIENCES));
        assert_eq!(ClientKey::try_from(&item), Ok(key));
        let mut bad = Item::from(&ClientKey::generate(BTreeSet::new(), None, 1).0);
        bad.insert(SCOPES.into(), AttributeValue::Ss(vec!["two words".into()]));
        let err = ClientKey::try_from(&bad).unwrap_err();
        assert!(err.starts_with("attribute 'scopes'"), "{err}");
    }

    #[test]
    fn a_key_survives_the_round_trip_through_an_item() {
        let codes = ["d2ir1", "abcde"]
            .iter()
            .map(|c| SystemCode::parse(c).unwrap())
            .collect();
        let (key, _) = ClientKey::generate(codes, Some("ILS of Example U".into()), 1_700_000_000);
        let item = Item::from(&key);
        assert_eq!(ClientKey::try_from(&item), Ok(key));
    }

    #[test]
    fn a_key_item_missing_its_hash_is_reported_by_attribute_name() {
        let (key, _) = ClientKey::generate(BTreeSet::new(), None, 1);
        let mut item = Item::from(&key);
        item.remove("secret_hash");
        assert_eq!(
            ClientKey::try_from(&item),
            Err("attribute 'secret_hash' is missing".to_owned())
        );
    }

    #[test]
    fn a_token_record_survives_the_round_trip_through_an_item() {
        let record = TokenRecord {
            hash: TokenHash::of("t"),
            key_id: KeyId::generate(),
            from_code: SystemCode::parse("d2ir1").ok(),
            to_code: SystemCode::parse("abcde").ok(),
            scope: "innreach_tp".into(),
            audiences: Default::default(),
            issued_at: 10,
            expires_at: 609,
        };
        assert_eq!(
            TokenRecord::try_from(&Item::from(&record)),
            Ok(record.clone())
        );
        let generic = TokenRecord {
            from_code: None,
            to_code: None,
            ..record
        };
        let item = Item::from(&generic);
        assert!(!item.contains_key("from_code") && !item.contains_key("to_code"));
        assert_eq!(TokenRecord::try_from(&item), Ok(generic));
    }
}
