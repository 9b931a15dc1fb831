//! `template.yaml` declares exactly the tables `tokengate tables create` makes, and wires
//! the functions to the contract's binary names and environment variables.

use aws_sdk_dynamodb::types::{BillingMode, KeyType, ScalarAttributeType};
use serde_yaml_ng::Value;
use tokengate_shared::store::dynamodb::{EXPIRES_AT, KEY_ID, TOKEN_HASH, create_tables};
use tokengate_tests::{Moto, workspace_root};

fn template() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    &template["Resources"][name]
}

async fn assert_table_matches(template: &Value, resource_name: &str, made: &str, key: &str) {
    let properties = &resource(template, resource_name)["Properties"];
    assert_eq!(
        properties["BillingMode"], "PAY_PER_REQUEST",
        "{resource_name}"
    );
    assert_eq!(
        properties["KeySchema"][0]["AttributeName"], key,
        "{resource_name}"
    );
    assert_eq!(properties["KeySchema"][0]["KeyType"], "HASH");
    assert_eq!(properties["KeySchema"].as_sequence().unwrap().len(), 1);
    assert_eq!(properties["AttributeDefinitions"][0]["AttributeName"], key);
    assert_eq!(properties["AttributeDefinitions"][0]["AttributeType"], "S");
    assert_eq!(
        properties["AttributeDefinitions"]
            .as_sequence()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(properties["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(
        properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );

    let moto = Moto::start();
    let client = moto.client();
    create_tables(&client, "keys", "tokens").await.unwrap();
    let described = client
        .describe_table()
        .table_name(made)
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();
    let schema = table.key_schema();
    assert_eq!(schema.len(), 1);
    assert_eq!(schema[0].attribute_name(), key);
    assert_eq!(schema[0].key_type(), &KeyType::Hash);
    let attribute = &table.attribute_definitions()[0];
    assert_eq!(attribute.attribute_type(), &ScalarAttributeType::S);
    let billing = table.billing_mode_summary().and_then(|b| b.billing_mode());
    assert_eq!(billing, Some(&BillingMode::PayPerRequest));
}

#[tokio::test]
async fn the_keys_table_in_the_template_is_the_one_tables_create_makes() {
    assert_table_matches(&template(), "KeysTable", "keys", KEY_ID).await;
}

#[tokio::test]
async fn the_tokens_table_in_the_template_is_the_one_tables_create_makes_with_its_ttl() {
    let template = template();
    assert_table_matches(&template, "TokensTable", "tokens", TOKEN_HASH).await;
    let ttl = &resource(&template, "TokensTable")["Properties"]["TimeToLiveSpecification"];
    assert_eq!(ttl["AttributeName"], EXPIRES_AT);
    assert_eq!(ttl["Enabled"], true);
}

#[test]
fn the_token_issuer_is_built_by_cargo_lambda_from_its_binary_with_the_contract_environment() {
    let template = template();
    let function = resource(&template, "TokenIssuerFunction");
    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"],
        "token-issuer"
    );
    let variables = &function["Properties"]["Environment"]["Variables"];
    for name in ["KEYS_TABLE", "TOKENS_TABLE", "TOKEN_TTL_SECONDS"] {
        assert!(!variables[name].is_null(), "{name} is not set");
    }
    let events = function["Properties"]["Events"].as_mapping().unwrap();
    let paths: Vec<&str> = events
        .values()
        .map(|e| e["Properties"]["Path"].as_str().unwrap())
        .collect();
    for path in [
        "/innreach/v2/oauth2/token",
        "/oauth2/token",
        "/oauth2/introspect",
    ] {
        assert!(paths.contains(&path), "{path} is not routed");
    }
}
