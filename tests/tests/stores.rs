//! The store contract, held by both implementations: DynamoDB (against moto's server)
//! and in-memory.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::TimeToLiveStatus;
use std::sync::Arc;

use tokengate_shared::store::dynamodb::{
    DynamoKeyStore, DynamoTokenLookup, DynamoTokenStore, EXPIRES_AT, TableOutcome, create_tables,
};
use tokengate_shared::store::memory::{MemoryKeyStore, MemoryTokenStore};
use tokengate_shared::{
    ClientKey, FailedAttempts, FailureLimit, Grants, IssuerTokens, KeyAdmin, KeyId, KeyReader,
    KeyStatus, ReadEach, Reservation, Revocation, Scope, Secret, SecretHash, StoreError,
    SystemCode, TokenAndKeys, TokenHash, TokenLookup, TokenRecord, TokenStore,
};
use tokengate_tests::{ClosedPort, Moto, dynamodb_client};

fn new_key(created_at: u64) -> (ClientKey, Secret) {
    let codes: BTreeSet<SystemCode> = ["d2ir1", "abcde"]
        .iter()
        .map(|c| SystemCode::parse(c).unwrap())
        .collect();
    ClientKey::generate(codes, Some("Example University ILS".into()), created_at)
}

async fn key_store_contract(store: &dyn KeyAdmin) {
    let (first, first_secret) = new_key(100);
    let (second, _) = new_key(200);
    store.create(&second).await.unwrap();
    store.create(&first).await.unwrap();

    assert_eq!(store.get(&first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.get(&KeyId::generate()).await.unwrap(), None);
    assert!(matches!(
        store.create(&first).await,
        Err(StoreError::AlreadyExists { what: "key", .. })
    ));
    assert_eq!(
        store.list().await.unwrap(),
        vec![first.clone(), second.clone()]
    );

    let disabled = store
        .set_status(&first.id, KeyStatus::Disabled, 300)
        .await
        .unwrap();
    assert_eq!(disabled.status, KeyStatus::Disabled);
    assert_eq!(disabled.updated_at, 300);
    assert_eq!(store.get(&first.id).await.unwrap(), Some(disabled));

    let new_secret = Secret::generate();
    let rotated = store
        .set_secret(&first.id, &SecretHash::of(&new_secret), 400)
        .await
        .unwrap();
    assert!(rotated.secret_hash.verify(new_secret.expose().as_bytes()));
    assert!(!rotated.secret_hash.verify(first_secret.expose().as_bytes()));
    assert_eq!(rotated.created_at, 100);

    store.delete(&first.id).await.unwrap();
    assert_eq!(store.get(&first.id).await.unwrap(), None);
    for missing in [
        store.delete(&first.id).await.err(),
        store
            .set_status(&first.id, KeyStatus::Active, 1)
            .await
            .err(),
        store
            .set_secret(&first.id, &SecretHash::of(&new_secret), 1)
            .await
            .err(),
    ] {
        assert!(
            matches!(missing, Some(StoreError::NotFound { what: "key", .. })),
            "{missing:?}"
        );
    }
    assert_eq!(store.list().await.unwrap(), vec![second.clone()]);

    // Failed authentications: counted in the open window, a new one after it, written to
    // the key's own record and nowhere else; a full window reserves nothing more.
    let limit = FailureLimit {
        max: 3,
        window: 300,
    };
    for at in [1_000, 1_001, 1_299] {
        let reserved = store.reserve_failure(&second.id, at, limit).await.unwrap();
        assert_eq!(reserved, Reservation::Counted);
    }
    assert_eq!(
        store
            .reserve_failure(&second.id, 1_299, limit)
            .await
            .unwrap(),
        Reservation::Throttled { retry_after: 1 }
    );
    let counted = store.get(&second.id).await.unwrap().unwrap();
    assert_eq!(
        counted.failures,
        FailedAttempts {
            count: 3,
            since: 1_000
        }
    );
    assert_eq!(
        ClientKey {
            failures: FailedAttempts::default(),
            tokens_revoked_at: 0,
            grants: Default::default(),
            ..counted
        },
        second,
        "nothing else of the key changed"
    );
    let reserved = store
        .reserve_failure(&second.id, 1_300, limit)
        .await
        .unwrap();
    assert_eq!(reserved, Reservation::Counted);
    assert_eq!(
        store.get(&second.id).await.unwrap().unwrap().failures,
        FailedAttempts {
            count: 1,
            since: 1_300
        }
    );
    let gone = KeyId::generate();
    let reserved = store.reserve_failure(&gone, 1_300, limit).await.unwrap();
    assert_eq!(reserved, Reservation::Counted, "nothing to count");
    assert_eq!(store.get(&gone).await.unwrap(), None, "no key is made up");
    assert_eq!(store.list().await.unwrap().len(), 1);

    // Revoking a key's tokens is one mark on the key itself.
    let marked = store.revoke_tokens(&second.id, 1_400).await.unwrap();
    assert_eq!(
        (marked.tokens_revoked_at, marked.updated_at),
        (1_400, 1_400)
    );
    assert_eq!(store.get(&second.id).await.unwrap(), Some(marked));
    assert!(matches!(
        store.revoke_tokens(&gone, 1).await,
        Err(StoreError::NotFound { what: "key", .. })
    ));
    grants_contract(store, &second.id, &gone).await;
}

/// A key's grants are replaced whole, and what is empty is gone from the record.
async fn grants_contract(store: &dyn KeyAdmin, id: &KeyId, gone: &KeyId) {
    let grants = Grants {
        token_ttl: Some(60),
        token_format: None,
        ..tokengate_tests::fixtures::grants(
            &["orders.read", "https://api.example.com/orders.write"],
            &["https://api.example.com", "urn:example:reports"],
        )
    };
    let granted = store.set_grants(id, &grants, 1_500).await.unwrap();
    assert_eq!(
        (granted.grants.as_ref(), granted.updated_at),
        (&grants, 1_500)
    );
    assert_eq!(store.get(id).await.unwrap(), Some(granted));
    let narrower = Grants {
        scopes: grants.scopes.iter().take(1).cloned().collect(),
        ..Grants::default()
    };
    let narrowed = store.set_grants(id, &narrower, 1_600).await.unwrap();
    assert_eq!(*narrowed.grants, narrower, "audiences and lifetime cleared");
    assert_eq!(store.get(id).await.unwrap(), Some(narrowed));
    let legacy = store
        .set_grants(id, &Grants::default(), 1_700)
        .await
        .unwrap();
    assert_eq!(
        legacy
            .grants
            .scopes_held()
            .iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>(),
        ["innreach_tp"]
    );
    assert!(matches!(
        store.set_grants(gone, &grants, 1).await,
        Err(StoreError::NotFound { what: "key", .. })
    ));
}

async fn token_store_contract(store: &dyn TokenStore) {
    let record = TokenRecord {
        hash: TokenHash::of("0123456789abcdef0123456789abcdef"),
        key_id: KeyId::generate(),
        from_code: SystemCode::parse("d2ir1").ok(),
        to_code: SystemCode::parse("abcde").ok(),
        scope: "innreach_tp".into(),
        audiences: Default::default(),
        issued_at: 1_700_000_000,
        expires_at: 1_700_000_599,
    };
    store.put(&record).await.unwrap();
    assert_eq!(store.get(&record.hash).await.unwrap(), Some(record.clone()));
    assert_eq!(store.get(&TokenHash::of("other")).await.unwrap(), None);

    // Revocation deletes only the owner's token, and says what it found.
    let generic = TokenRecord {
        hash: TokenHash::of("generic"),
        from_code: None,
        to_code: None,
        ..record.clone()
    };
    store.put(&generic).await.unwrap();
    assert_eq!(store.get(&generic.hash).await.unwrap(), Some(generic));
    let stranger = KeyId::generate();
    assert_eq!(
        store.revoke(&record.hash, &stranger).await.unwrap(),
        Revocation::NotOwner
    );
    assert!(store.get(&record.hash).await.unwrap().is_some());
    assert_eq!(
        store.revoke(&record.hash, &record.key_id).await.unwrap(),
        Revocation::Revoked
    );
    assert_eq!(store.get(&record.hash).await.unwrap(), None);
    assert_eq!(
        store.revoke(&record.hash, &record.key_id).await.unwrap(),
        Revocation::NotFound
    );
}

/// Failures by source: each address its own counter, created by its first failure, and
/// never more reservations counted than the limit. `concurrent` sends the twenty together:
/// only where the store's conditional writes are atomic, as DynamoDB's are and moto's
/// server's are not (it checks and writes without a lock, so two racing creations can both
/// pass), so the DynamoDB store is held to it one request at a time here.
async fn source_failures_contract(store: &dyn IssuerTokens, concurrent: bool) {
    let limit = FailureLimit {
        max: 5,
        window: 300,
    };
    let attempts = (0..20).map(|_| store.reserve_source_failure("203.0.113.7", 1_000, limit));
    let reserved = if concurrent {
        futures_util::future::join_all(attempts).await
    } else {
        let mut reserved = Vec::new();
        for attempt in attempts {
            reserved.push(attempt.await);
        }
        reserved
    };
    let counted = reserved
        .iter()
        .filter(|r| matches!(r, Ok(Reservation::Counted)))
        .count();
    let throttled = reserved
        .iter()
        .filter(|r| matches!(r, Ok(Reservation::Throttled { retry_after: 300 })))
        .count();
    assert_eq!((counted, throttled), (5, 15), "{reserved:?}");
    assert_eq!(
        store
            .reserve_source_failure("203.0.113.8", 1_000, limit)
            .await
            .unwrap(),
        Reservation::Counted,
        "another address has its own counter"
    );
    assert_eq!(
        store
            .reserve_source_failure("203.0.113.7", 1_300, limit)
            .await
            .unwrap(),
        Reservation::Counted,
        "a closed window opens a new one"
    );
}

#[tokio::test]
async fn the_dynamodb_token_store_counts_failures_by_source_exactly_with_a_ttl() {
    let moto = Moto::start();
    let (_, tokens) = moto.fresh_tables().await;
    let store = DynamoTokenStore::new(moto.client(), &tokens);
    source_failures_contract(&store, false).await;
    let item = moto
        .client()
        .get_item()
        .table_name(&tokens)
        .key(
            "token_hash",
            aws_sdk_dynamodb::types::AttributeValue::S("source#203.0.113.8".into()),
        )
        .send()
        .await
        .unwrap();
    let expires = item.item().and_then(|i| i.get(EXPIRES_AT)).cloned();
    assert_eq!(
        expires,
        Some(aws_sdk_dynamodb::types::AttributeValue::N("1300".into())),
        "the counter expires with its window"
    );
}

#[tokio::test]
async fn the_memory_token_store_counts_concurrent_failures_by_source_exactly() {
    source_failures_contract(&MemoryTokenStore::new(), true).await;
}

/// A token and keys in one call: what exists comes back, what does not is left out.
async fn token_lookup_contract(
    keys: &dyn KeyAdmin,
    tokens: &dyn TokenStore,
    lookup: &dyn TokenLookup,
) {
    let (owner, _) = new_key(100);
    let (other, _) = new_key(100);
    keys.create(&owner).await.unwrap();
    keys.create(&other).await.unwrap();
    let record = TokenRecord {
        hash: TokenHash::of("looked-up"),
        key_id: owner.id.clone(),
        from_code: None,
        to_code: SystemCode::parse("abcde").ok(),
        scope: "innreach_tp".into(),
        audiences: Default::default(),
        issued_at: 1_700_000_000,
        expires_at: 1_700_000_599,
    };
    tokens.put(&record).await.unwrap();
    let missing = KeyId::generate();
    let found = lookup
        .token_and_keys(
            &record.hash,
            &[
                owner.id.clone(),
                missing.clone(),
                owner.id.clone(),
                other.id.clone(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(found.token, Some(record));
    assert_eq!(found.keys.len(), 2, "each existing key once");
    assert_eq!(found.key(&owner.id), Some(&owner));
    assert_eq!(found.key(&other.id), Some(&other));
    assert_eq!(found.key(&missing), None);
    let nothing = lookup
        .token_and_keys(&TokenHash::of("unknown"), &[])
        .await
        .unwrap();
    assert_eq!(nothing, TokenAndKeys::default());
}

#[tokio::test]
async fn the_dynamodb_key_store_keeps_the_contract() {
    let moto = Moto::start();
    let (keys, _) = moto.fresh_tables().await;
    key_store_contract(&DynamoKeyStore::new(moto.client(), keys)).await;
}

#[tokio::test]
async fn the_memory_key_store_keeps_the_contract() {
    key_store_contract(&MemoryKeyStore::new()).await;
}

#[tokio::test]
async fn the_dynamodb_token_store_keeps_the_contract() {
    let moto = Moto::start();
    let (_, tokens) = moto.fresh_tables().await;
    token_store_contract(&DynamoTokenStore::new(moto.client(), tokens)).await;
}

#[tokio::test]
async fn the_memory_token_store_keeps_the_contract() {
    token_store_contract(&MemoryTokenStore::new()).await;
}

#[tokio::test]
async fn the_dynamodb_token_lookup_keeps_the_contract_in_one_batch() {
    let moto = Moto::start();
    let (keys, tokens) = moto.fresh_tables().await;
    token_lookup_contract(
        &DynamoKeyStore::new(moto.client(), &keys),
        &DynamoTokenStore::new(moto.client(), &tokens),
        &DynamoTokenLookup::new(moto.client(), keys, tokens),
    )
    .await;
}

#[tokio::test]
async fn reading_each_memory_store_keeps_the_token_lookup_contract() {
    let keys = Arc::new(MemoryKeyStore::new());
    let tokens = Arc::new(MemoryTokenStore::new());
    let lookup = ReadEach {
        keys: keys.clone(),
        tokens: tokens.clone(),
    };
    token_lookup_contract(keys.as_ref(), tokens.as_ref(), &lookup).await;
}

#[tokio::test]
async fn creating_tables_twice_is_harmless_and_turns_on_ttl_for_tokens() {
    let moto = Moto::start();
    let client = moto.client();
    let first = create_tables(&client, "k", "t").await.unwrap();
    assert_eq!(first, [TableOutcome::Created, TableOutcome::Created]);
    let second = create_tables(&client, "k", "t").await.unwrap();
    assert_eq!(
        second,
        [TableOutcome::AlreadyExisted, TableOutcome::AlreadyExisted]
    );
    let ttl = client
        .describe_time_to_live()
        .table_name("t")
        .send()
        .await
        .unwrap();
    let description = ttl.time_to_live_description().unwrap();
    assert_eq!(
        description.time_to_live_status(),
        Some(&TimeToLiveStatus::Enabled)
    );
    assert_eq!(description.attribute_name(), Some(EXPIRES_AT));
}

#[tokio::test]
async fn a_missing_table_is_reported_by_name() {
    let moto = Moto::start();
    let store = DynamoKeyStore::new(moto.client(), "no-such-table");
    match store.get(&KeyId::generate()).await {
        Err(StoreError::TableMissing { table }) => assert_eq!(table, "no-such-table"),
        other => panic!("expected TableMissing, got {other:?}"),
    }
}

#[tokio::test]
async fn an_endpoint_that_is_down_is_reported_unreachable() {
    let closed = ClosedPort::new();
    let endpoint = closed.url();
    let store = DynamoKeyStore::new(dynamodb_client(&endpoint), "keys");
    let err = store.get(&KeyId::generate()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
}

#[tokio::test]
async fn a_malformed_item_is_reported_as_corrupt_naming_the_attribute() {
    let moto = Moto::start();
    let (keys, _) = moto.fresh_tables().await;
    moto.client()
        .put_item()
        .table_name(&keys)
        .item(
            "key_id",
            aws_sdk_dynamodb::types::AttributeValue::S("hand-made".into()),
        )
        .item(
            "status",
            aws_sdk_dynamodb::types::AttributeValue::S("active".into()),
        )
        .send()
        .await
        .unwrap();
    let store = DynamoKeyStore::new(moto.client(), keys);
    match store.get(&KeyId::parse("hand-made").unwrap()).await {
        Err(StoreError::Corrupt { detail, .. }) => {
            assert_eq!(detail, "attribute 'secret_hash' is missing")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
