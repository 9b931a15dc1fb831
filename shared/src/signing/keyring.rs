//! The keys token-issuer signs with and publishes: read from the signing keys table, the
//! current one unsealed once (one KMS `Decrypt` per execution environment in envelope
//! mode), and read again every `refresh_seconds` so that a warm function picks up a rotation.

use std::sync::Arc;

use tokio::sync::Mutex;

use super::kms::Kms;
use super::store::SigningKeyStore;
use super::{Jwks, KeyState, LocalKey, Pkcs8, Protection, SigningAlg, SigningError, SigningKey};

/// The key that signs new tokens.
#[derive(Debug)]
pub enum Signer {
    /// In process memory: a decrypted envelope key, or `serve`'s.
    Local {
        /// Its id.
        kid: String,
        /// The key pair.
        key: Box<LocalKey>,
    },
    /// A KMS key: one `Sign` a token.
    Kms {
        /// Its id.
        kid: String,
        /// Its algorithm.
        alg: SigningAlg,
        /// The KMS key id.
        key_id: String,
        /// The client.
        kms: Kms,
    },
}

impl Signer {
    /// The `kid` of the tokens it signs.
    pub fn kid(&self) -> &str {
        match self {
            Self::Local { kid, .. } | Self::Kms { kid, .. } => kid,
        }
    }

    /// The algorithm it signs with.
    pub fn alg(&self) -> SigningAlg {
        match self {
            Self::Local { key, .. } => key.alg(),
            Self::Kms { alg, .. } => *alg,
        }
    }

    /// The JWS signature of `input`.
    pub async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SigningError> {
        match self {
            Self::Local { key, .. } => key.sign(input),
            Self::Kms {
                alg, key_id, kms, ..
            } => kms.sign(key_id, *alg, input).await,
        }
    }
}

struct Loaded {
    read_at: u64,
    signer: Option<Arc<Signer>>,
    keys: Vec<SigningKey>,
    jwks: Arc<str>,
    /// When a published key retires next: the JWKS is written again then, whether or not
    /// the table could be read.
    jwks_until: u64,
}

impl Loaded {
    fn publish(&mut self, now: u64) -> Result<(), SigningError> {
        let published = Jwks {
            keys: (self.keys.iter())
                .filter(|k| k.is_published_at(now))
                .map(|k| k.jwk.clone())
                .collect(),
        };
        self.jwks = serde_json::to_string(&published)
            .map_err(|e| SigningError::Unsupported(e.to_string()))?
            .into();
        self.jwks_until = (self.keys.iter())
            .filter(|k| k.is_published_at(now))
            .filter_map(|k| k.retire_at)
            .min()
            .unwrap_or(u64::MAX);
        Ok(())
    }
}

/// The signing keys as last read.
pub struct Keyring {
    store: Arc<dyn SigningKeyStore>,
    kms: Option<Kms>,
    refresh_seconds: u64,
    loaded: Mutex<Option<Loaded>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("refresh_seconds", &self.refresh_seconds)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// Keys from `store`, read again every `refresh_seconds`; `kms` unseals envelope keys
    /// and signs with KMS keys.
    pub fn new(store: Arc<dyn SigningKeyStore>, kms: Option<Kms>, refresh_seconds: u64) -> Self {
        Self {
            store,
            kms,
            refresh_seconds,
            loaded: Mutex::new(None),
        }
    }

    /// How long a rotation takes to reach a warm function, at most.
    pub fn refresh_seconds(&self) -> u64 {
        self.refresh_seconds
    }

    /// The current key.
    pub async fn signer(&self, now: u64) -> Result<Arc<Signer>, SigningError> {
        let mut loaded = self.loaded.lock().await;
        self.refresh(&mut loaded, now).await?;
        loaded
            .as_ref()
            .and_then(|l| l.signer.clone())
            .ok_or(SigningError::NoCurrentKey)
    }

    /// The published keys as a JWKS document.
    pub async fn jwks(&self, now: u64) -> Result<Arc<str>, SigningError> {
        let mut loaded = self.loaded.lock().await;
        self.refresh(&mut loaded, now).await?;
        match loaded.as_mut() {
            Some(kept) => {
                if now >= kept.jwks_until {
                    kept.publish(now)?;
                }
                Ok(kept.jwks.clone())
            }
            None => Ok(Arc::from(r#"{"keys":[]}"#)),
        }
    }

    async fn refresh(&self, loaded: &mut Option<Loaded>, now: u64) -> Result<(), SigningError> {
        let fresh = |l: &Loaded| now < l.read_at.saturating_add(self.refresh_seconds);
        if loaded.as_ref().is_some_and(fresh) {
            return Ok(());
        }
        let keys = match self.store.list().await {
            Ok(keys) => keys,
            Err(err) => {
                let Some(kept) = loaded.as_mut() else {
                    return Err(err.into());
                };
                // Serving what was read last beats refusing every token; try again later.
                tracing::warn!(reason = "signing_keys_not_refreshed", error = %err);
                kept.read_at = now;
                return Ok(());
            }
        };
        let current = keys.iter().find(|k| k.state_at(now) == KeyState::Current);
        let kept = loaded.take().and_then(|l| l.signer);
        let signer = match (current, kept) {
            (Some(current), Some(kept)) if kept.kid() == current.kid => Some(kept),
            (Some(current), _) => Some(Arc::new(self.unseal(current).await?)),
            (None, _) => None,
        };
        let mut fresh = Loaded {
            read_at: now,
            signer,
            keys,
            jwks: Arc::from(""),
            jwks_until: 0,
        };
        fresh.publish(now)?;
        *loaded = Some(fresh);
        Ok(())
    }

    async fn unseal(&self, key: &SigningKey) -> Result<Signer, SigningError> {
        let kms = || {
            self.kms.clone().ok_or_else(|| {
                SigningError::Unsupported(format!("signing key {} is held by KMS", key.kid))
            })
        };
        let local = |pkcs8: &Pkcs8| {
            LocalKey::from_pkcs8(&key.kid, key.alg, pkcs8).map(|local| Signer::Local {
                kid: key.kid.clone(),
                key: Box::new(local),
            })
        };
        match &key.protection {
            Protection::InMemory(pkcs8) => local(pkcs8),
            Protection::Envelope { ciphertext, .. } => {
                let plaintext = kms()?.decrypt(&key.kid, ciphertext).await?;
                tracing::info!(reason = "signing_key_decrypted", kid = %key.kid);
                local(&Pkcs8::new(plaintext))
            }
            Protection::Kms { key_id } => Ok(Signer::Kms {
                kid: key.kid.clone(),
                alg: key.alg,
                key_id: key_id.clone(),
                kms: kms()?,
            }),
        }
    }
}
