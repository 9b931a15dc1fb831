//! The KMS calls signing keys need: `Encrypt` and `Decrypt` for envelope keys, `CreateKey`,
//! `GetPublicKey` and `Sign` for KMS-held ones.

use aws_sdk_kms::Client;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec, Tag};

use super::{SigningAlg, SigningError};
use crate::store::dynamodb::client::{endpoint_override, lambda_region};
use crate::store::dynamodb::{InvalidStoreLimit, StoreLimits, sdk_http_client};

/// The encryption context every envelope key is bound to, with its `kid`: a ciphertext
/// copied onto another key's record does not decrypt.
const CONTEXT_PURPOSE: (&str, &str) = ("tokengate", "jwt-signing-key");

/// The tag on every KMS key tokengate makes: the template lets token-issuer sign only with
/// keys that carry it.
pub const SIGNING_KEY_TAG: (&str, &str) = ("tokengate", "jwt-signing-key");

fn signing_key_tag() -> Result<Tag, SigningError> {
    Tag::builder()
        .tag_key(SIGNING_KEY_TAG.0)
        .tag_value(SIGNING_KEY_TAG.1)
        .build()
        .map_err(|e| SigningError::Kms(e.to_string()))
}

/// The largest message KMS signs as `RAW`; a longer one is sent as its SHA-256 digest.
const MAX_RAW_MESSAGE: usize = 4096;

/// A KMS client.
#[derive(Debug, Clone)]
pub struct Kms {
    client: Client,
}

fn failed<E>(err: aws_sdk_kms::error::SdkError<E>) -> SigningError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = match err.code() {
        Some(code) => format!("{code}: {}", err.message().unwrap_or_default()),
        None => DisplayErrorContext(&err).to_string(),
    };
    SigningError::Kms(detail)
}

impl Kms {
    /// Over an SDK client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A client from the SDK's full environment (profiles, SSO, `AWS_ENDPOINT_URL_KMS`), as
    /// the CLI's DynamoDB client is made ([`crate::store::dynamodb::client_from_env`]).
    pub async fn from_env() -> Result<Self, InvalidStoreLimit> {
        let limits = StoreLimits::from_env()?;
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(sdk_http_client(&limits)?)
            .timeout_config(limits.timeout_config())
            .retry_config(limits.retry_config())
            .load()
            .await;
        Ok(Self::new(Client::new(&config)))
    }

    /// The client the Lambda functions use, as the DynamoDB one is made
    /// ([`crate::store::dynamodb::lambda_client`]): the environment's credentials and
    /// region, `AWS_ENDPOINT_URL_KMS` or `AWS_ENDPOINT_URL`, within `limits`.
    pub fn lambda_client(
        limits: &StoreLimits,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, InvalidStoreLimit> {
        let region = lambda_region(&lookup)?;
        let mut config = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new(region))
            .credentials_provider(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            )
            .http_client(sdk_http_client(limits)?)
            .timeout_config(limits.timeout_config())
            .retry_config(limits.retry_config());
        if let Some(endpoint) = endpoint_override(&lookup, "AWS_ENDPOINT_URL_KMS") {
            config = config.endpoint_url(endpoint);
        }
        Ok(Self::new(Client::from_conf(config.build())))
    }

    /// Encrypts a private key for `kid` under `key_id`.
    pub async fn encrypt(
        &self,
        key_id: &str,
        kid: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SigningError> {
        let answer = self
            .client
            .encrypt()
            .key_id(key_id)
            .plaintext(Blob::new(plaintext))
            .encryption_context(CONTEXT_PURPOSE.0, CONTEXT_PURPOSE.1)
            .encryption_context("kid", kid)
            .send()
            .await
            .map_err(failed)?;
        let ciphertext = answer
            .ciphertext_blob
            .ok_or_else(|| SigningError::Kms("Encrypt answered without a ciphertext".into()))?;
        Ok(ciphertext.into_inner())
    }

    /// Decrypts the private key of `kid`.
    pub async fn decrypt(&self, kid: &str, ciphertext: &[u8]) -> Result<Vec<u8>, SigningError> {
        let answer = self
            .client
            .decrypt()
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context(CONTEXT_PURPOSE.0, CONTEXT_PURPOSE.1)
            .encryption_context("kid", kid)
            .send()
            .await
            .map_err(failed)?;
        let plaintext = answer
            .plaintext
            .ok_or_else(|| SigningError::Kms("Decrypt answered without a plaintext".into()))?;
        Ok(plaintext.into_inner())
    }

    /// Makes a KMS asymmetric signing key for `alg`; its key id.
    pub async fn create_signing_key(
        &self,
        alg: SigningAlg,
        description: &str,
    ) -> Result<String, SigningError> {
        let (spec, _) = alg.kms_names().ok_or_else(|| {
            SigningError::Unsupported(format!(
                "SIGNING_KEY_MODE=kms signs RS256 and ES256, not {alg}"
            ))
        })?;
        let answer = self
            .client
            .create_key()
            .key_spec(KeySpec::from(spec))
            .key_usage(KeyUsageType::SignVerify)
            .description(description)
            .tags(signing_key_tag()?)
            .send()
            .await
            .map_err(failed)?;
        answer
            .key_metadata
            .map(|metadata| metadata.key_id)
            .ok_or_else(|| SigningError::Kms("CreateKey answered without a key".into()))
    }

    /// The DER `SubjectPublicKeyInfo` of a KMS key.
    pub async fn public_key(&self, key_id: &str) -> Result<Vec<u8>, SigningError> {
        let answer = self
            .client
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(failed)?;
        answer
            .public_key
            .map(Blob::into_inner)
            .ok_or_else(|| SigningError::Kms("GetPublicKey answered without a key".into()))
    }

    /// The JWS signature of `message` by the KMS key `key_id`. A message KMS takes whole
    /// (`RAW`, up to 4,096 bytes) is sent as it is; a longer one as its SHA-256 digest.
    pub async fn sign(
        &self,
        key_id: &str,
        alg: SigningAlg,
        message: &[u8],
    ) -> Result<Vec<u8>, SigningError> {
        let (_, algorithm) = alg
            .kms_names()
            .ok_or_else(|| SigningError::Unsupported(format!("KMS does not sign {alg}")))?;
        let (message, kind) = if message.len() <= MAX_RAW_MESSAGE {
            (message.to_vec(), MessageType::Raw)
        } else {
            use sha2::Digest;
            (sha2::Sha256::digest(message).to_vec(), MessageType::Digest)
        };
        let answer = self
            .client
            .sign()
            .key_id(key_id)
            .message(Blob::new(message))
            .message_type(kind)
            .signing_algorithm(SigningAlgorithmSpec::from(algorithm))
            .send()
            .await
            .map_err(failed)?;
        let signature = answer
            .signature
            .map(Blob::into_inner)
            .ok_or_else(|| SigningError::Kms("Sign answered without a signature".into()))?;
        match alg {
            // KMS gives ECDSA signatures in DER; JWS wants r and s side by side.
            SigningAlg::Es256 => super::der::ecdsa_fixed(&signature, 32)
                .ok_or_else(|| SigningError::Kms("Sign answered a malformed signature".into())),
            _ => Ok(signature),
        }
    }
}
