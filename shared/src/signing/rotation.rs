//! Making signing keys and rotating them: `tokengate signing-keys rotate`, and `serve`'s
//! key in memory.

use std::sync::Arc;

use super::kms::Kms;
use super::local::{LocalKey, generate};
use super::record::{Rotation, plan};
use super::store::SigningKeyStore;
use super::{KeyState, Protection, PublicJwk, SigningAlg, SigningError, SigningKey};
use crate::random;

/// How new keys are made and kept.
#[derive(Debug, Clone)]
pub enum KeyMaker {
    /// Made here, encrypted under the KMS key `kms_key_id`.
    Envelope {
        /// The client.
        kms: Kms,
        /// `SIGNING_KMS_KEY_ID`.
        kms_key_id: String,
    },
    /// A new KMS asymmetric key each time.
    Kms(Kms),
    /// Made here and kept in memory: `serve`.
    InMemory,
}

/// A new key id: the day it was made, and 64 random bits.
pub fn new_kid(now: u64) -> String {
    format!("{}-{}", now / 86_400, hex::encode(random::bytes::<8>()))
}

impl KeyMaker {
    /// A new key for `alg`, in `state` from `now`.
    pub async fn make(
        &self,
        alg: SigningAlg,
        state: KeyState,
        now: u64,
    ) -> Result<SigningKey, SigningError> {
        let kid = new_kid(now);
        let (jwk, protection) = match self {
            Self::Kms(kms) => {
                let description = format!("tokengate JWT signing key {kid}");
                let key_id = kms.create_signing_key(alg, &description).await?;
                let der = kms.public_key(&key_id).await?;
                let jwk = PublicJwk::from_spki(&kid, alg, &der).ok_or_else(|| {
                    SigningError::invalid(&kid, "KMS gave an unreadable public key")
                })?;
                (jwk, Protection::Kms { key_id })
            }
            Self::Envelope { kms, kms_key_id } => {
                let pkcs8 = generate(alg)?;
                let jwk = LocalKey::from_pkcs8(&kid, alg, &pkcs8)?.public_jwk(&kid);
                let ciphertext = kms.encrypt(kms_key_id, &kid, pkcs8.expose()).await?;
                let kms_key_id = kms_key_id.clone();
                (
                    jwk,
                    Protection::Envelope {
                        ciphertext,
                        kms_key_id,
                    },
                )
            }
            Self::InMemory => {
                let pkcs8 = generate(alg)?;
                let jwk = LocalKey::from_pkcs8(&kid, alg, &pkcs8)?.public_jwk(&kid);
                (jwk, Protection::InMemory(Arc::new(pkcs8)))
            }
        };
        Ok(SigningKey {
            kid,
            alg,
            state,
            jwk,
            protection,
            created_at: now,
            state_since: now,
            retire_at: None,
        })
    }
}

/// Rotates the keys in `store` at `now` ([`plan`]): new keys are made with `alg`, and the
/// demoted current key stays published for `retire_after` seconds. Everything is written at
/// once, or nothing. What was done.
pub async fn rotate(
    store: &dyn SigningKeyStore,
    maker: &KeyMaker,
    alg: SigningAlg,
    retire_after: u64,
    now: u64,
) -> Result<Rotation, SigningError> {
    let keys = store.list().await?;
    let (moved, needed) = plan(&keys, now, retire_after);
    let mut created = Vec::with_capacity(needed.len());
    for state in needed {
        created.push(maker.make(alg, state, now).await?);
    }
    let rotation = Rotation { created, moved };
    store.apply(&rotation, now).await?;
    Ok(rotation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::Keyring;
    use crate::signing::MemorySigningKeyStore;

    #[tokio::test]
    async fn a_key_is_published_a_rotation_before_it_signs_and_stays_published_until_retired() {
        let store = Arc::new(MemorySigningKeyStore::default());
        let maker = KeyMaker::InMemory;
        let keyring = Keyring::new(store.clone(), None, 0);
        assert!(matches!(
            keyring.signer(0).await,
            Err(SigningError::NoCurrentKey)
        ));
        let first = rotate(&*store, &maker, SigningAlg::Es256, 100, 10)
            .await
            .unwrap();
        let (current, next) = (&first.created[0], &first.created[1]);
        assert_eq!(keyring.signer(10).await.unwrap().kid(), current.kid);
        let kids = |jwks: &str| {
            let jwks: crate::signing::Jwks = serde_json::from_str(jwks).unwrap();
            jwks.keys.into_iter().map(|k| k.kid).collect::<Vec<_>>()
        };
        assert!(kids(&keyring.jwks(10).await.unwrap()).contains(&next.kid));

        rotate(&*store, &maker, SigningAlg::Es256, 100, 20)
            .await
            .unwrap();
        assert_eq!(keyring.signer(20).await.unwrap().kid(), next.kid);
        assert!(kids(&keyring.jwks(119).await.unwrap()).contains(&current.kid));
        assert!(!kids(&keyring.jwks(120).await.unwrap()).contains(&current.kid));
        assert_eq!(kids(&keyring.jwks(120).await.unwrap()).len(), 2);
    }

    #[tokio::test]
    async fn a_warm_keyring_reads_the_table_again_only_after_its_refresh_interval() {
        let store = Arc::new(MemorySigningKeyStore::default());
        let keyring = Keyring::new(store.clone(), None, 60);
        let first = rotate(&*store, &KeyMaker::InMemory, SigningAlg::EdDsa, 100, 0)
            .await
            .unwrap();
        assert_eq!(keyring.signer(0).await.unwrap().kid(), first.created[0].kid);
        rotate(&*store, &KeyMaker::InMemory, SigningAlg::EdDsa, 100, 1)
            .await
            .unwrap();
        assert_eq!(
            keyring.signer(59).await.unwrap().kid(),
            first.created[0].kid
        );
        assert_eq!(
            keyring.signer(60).await.unwrap().kid(),
            first.created[1].kid
        );
    }

    #[tokio::test]
    async fn two_rotations_racing_write_one_and_the_other_is_refused_whole() {
        let store = MemorySigningKeyStore::default();
        rotate(&store, &KeyMaker::InMemory, SigningAlg::Es256, 100, 0)
            .await
            .unwrap();
        let keys = store.list().await.unwrap();
        let (moved, _) = plan(&keys, 5, 100);
        let stale = Rotation {
            created: vec![],
            moved,
        };
        rotate(&store, &KeyMaker::InMemory, SigningAlg::Es256, 100, 5)
            .await
            .unwrap();
        let refused = store.apply(&stale, 6).await.unwrap_err();
        assert!(
            matches!(refused, crate::StoreError::Conflict { .. }),
            "{refused}"
        );
        assert_eq!(store.list().await.unwrap().len(), 3);
    }

    /// The keys of another store, until it is told to fail.
    struct Unreachable {
        keys: MemorySigningKeyStore,
        down: std::sync::atomic::AtomicBool,
    }

    #[async_trait::async_trait]
    impl SigningKeyStore for Unreachable {
        async fn list(&self) -> Result<Vec<crate::signing::SigningKey>, crate::StoreError> {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(crate::StoreError::Unreachable {
                    detail: "down".into(),
                });
            }
            self.keys.list().await
        }

        async fn apply(&self, rotation: &Rotation, now: u64) -> Result<(), crate::StoreError> {
            self.keys.apply(rotation, now).await
        }
    }

    #[tokio::test]
    async fn a_key_retires_on_time_even_while_the_table_cannot_be_read_and_signing_goes_on() {
        let store = Arc::new(Unreachable {
            keys: MemorySigningKeyStore::default(),
            down: false.into(),
        });
        let maker = KeyMaker::InMemory;
        let first = rotate(&*store, &maker, SigningAlg::Es256, 100, 0)
            .await
            .unwrap();
        rotate(&*store, &maker, SigningAlg::Es256, 100, 10)
            .await
            .unwrap();
        let keyring = Keyring::new(store.clone(), None, 1);
        let published = |jwks: &str| jwks.contains(&first.created[0].kid);
        assert!(published(&keyring.jwks(20).await.unwrap()));
        store.down.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(published(&keyring.jwks(109).await.unwrap()));
        assert!(
            !published(&keyring.jwks(110).await.unwrap()),
            "retired at 110"
        );
        assert_eq!(
            keyring.signer(111).await.unwrap().kid(),
            first.created[1].kid
        );
    }
}
