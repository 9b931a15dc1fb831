//! moto as KMS and as the signing keys table: what the JWT tests need beside DynamoDB.

use crate::{Moto, unique_name};

impl Moto {
    fn kms_client(&self) -> aws_sdk_kms::Client {
        let config = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_sdk_kms::config::Region::new("us-east-1"))
            .http_client(
                tokengate_shared::store::dynamodb::sdk_http_client(&Default::default())
                    .expect("the compiled-in roots make a TLS configuration"),
            )
            .credentials_provider(crate::test_credentials())
            .build();
        aws_sdk_kms::Client::from_conf(config)
    }

    /// tokengate's KMS client for this server.
    pub fn kms(&self) -> tokengate_shared::signing::kms::Kms {
        tokengate_shared::signing::kms::Kms::new(self.kms_client())
    }

    /// A new symmetric KMS key's id, for envelope keys.
    pub async fn kms_key(&self) -> String {
        let made = self
            .kms_client()
            .create_key()
            .description("tokengate tests: envelope keys")
            .send()
            .await
            .expect("moto makes a KMS key");
        made.key_metadata.expect("a key").key_id
    }

    /// A fresh signing keys table, made by tokengate's own code; its name.
    pub async fn fresh_signing_table(&self) -> String {
        let table = unique_name("signing-keys");
        tokengate_shared::store::dynamodb::create_signing_keys_table(&self.client(), &table)
            .await
            .expect("the signing keys table is created on moto");
        table
    }

    /// The tags of a KMS key, as `(key, value)` pairs.
    pub async fn kms_key_tags(&self, key_id: &str) -> Vec<(String, String)> {
        let listed = self
            .kms_client()
            .list_resource_tags()
            .key_id(key_id)
            .send()
            .await
            .expect("moto lists a key's tags");
        listed
            .tags()
            .iter()
            .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
            .collect()
    }
}
