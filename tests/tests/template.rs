//! `template.yaml` declares exactly the tables `tokengate tables create` makes, and wires
//! the functions to the contract's binary names and environment variables.

#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::types::{BillingMode, KeyType, ScalarAttributeType};
use serde_yaml_ng::Value;
use tokengate_shared::plan::dynamodb::{PLAN, USAGE_KEY, create_plan_tables};
use tokengate_shared::store::dynamodb::{
    EXPIRES_AT, KEY_ID, KID, TOKEN_HASH, create_signing_keys_table, create_tables,
};
use tokengate_tests::{Moto, tool, workspace_root};

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
    create_signing_keys_table(&client, "signing-keys")
        .await
        .unwrap();
    create_plan_tables(&client, "plans", "usage").await.unwrap();
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

#[tokio::test]
async fn the_plans_and_usage_tables_in_the_template_are_the_ones_tables_create_makes() {
    let template = template();
    assert_table_matches(&template, "PlansTable", "plans", PLAN).await;
    assert_table_matches(&template, "UsageTable", "usage", USAGE_KEY).await;
    let ttl = &resource(&template, "UsageTable")["Properties"]["TimeToLiveSpecification"];
    assert_eq!(ttl["AttributeName"], EXPIRES_AT);
    assert_eq!(ttl["Enabled"], true);
}

fn definition(template: &Value) -> &Value {
    &resource(template, "TokengateApi")["Properties"]["DefinitionBody"]
}

/// A policy statement's actions, one or a list.
fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Sequence(list) => list
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect(),
        other => panic!("unexpected Action {other:?}"),
    }
}

fn statements(function: &Value) -> Vec<(Vec<String>, String)> {
    let statements = function["Properties"]["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap();
    statements
        .iter()
        .map(|s| (actions(s), format!("{:?}", s["Resource"])))
        .collect()
}

#[test]
fn every_function_is_built_by_cargo_lambda_from_its_binary_with_the_contract_environment() {
    let template = template();
    for (name, binary, variables) in [
        (
            "TokenIssuerFunction",
            "token-issuer",
            &[
                "KEYS_TABLE",
                "TOKENS_TABLE",
                "TOKEN_TTL_SECONDS",
                "TOKEN_MAX_FAILURES",
                "TOKEN_FAILURE_WINDOW_SECONDS",
                "ISSUER_URL",
                "TOKEN_FORMAT",
                "SIGNING_KEYS_TABLE",
                "PLANS_TABLE",
                "USAGE_TABLE",
            ][..],
        ),
        (
            "SigningKeysRotatorFunction",
            "signing-keys-rotator",
            &[
                "SIGNING_KEYS_TABLE",
                "SIGNING_KEY_MODE",
                "SIGNING_KMS_KEY_ID",
                "SIGNING_ALGORITHM",
            ][..],
        ),
        (
            "AuthorizerFunction",
            "authorizer",
            &[
                "KEYS_TABLE",
                "TOKENS_TABLE",
                "PLANS_TABLE",
                "USAGE_TABLE",
                "AUTHORIZER_CONFIG",
            ][..],
        ),
    ] {
        let function = resource(&template, name);
        assert_eq!(
            function["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{name}"
        );
        assert_eq!(
            function["Metadata"]["BuildProperties"]["Binary"], binary,
            "{name}"
        );
        let environment = &function["Properties"]["Environment"]["Variables"];
        for variable in variables {
            assert!(
                !environment[*variable].is_null(),
                "{name}: {variable} is not set"
            );
        }
    }
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
}

/// Statements `at` and `at + 1` of `function`: plans read, and only the counts written.
fn assert_plans_read_and_counted(function: &Value, at: usize) {
    let found = statements(function);
    assert_eq!(found[at].0, ["dynamodb:GetItem"]);
    assert!(found[at].1.contains("PlansTable"));
    assert_eq!(found[at + 1].0, ["dynamodb:UpdateItem"]);
    assert!(found[at + 1].1.contains("UsageTable"));
    let policy = &function["Properties"]["Policies"][0]["Statement"][at + 1];
    let attributes = &policy["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"];
    assert_eq!(
        serde_yaml_ng::to_string(attributes).unwrap().trim(),
        "- usage_key\n- count\n- expires_at"
    );
}

#[test]
fn each_function_may_do_only_what_it_needs_in_dynamodb() {
    let template = template();
    let authorizer = statements(resource(&template, "AuthorizerFunction"));
    assert_eq!(authorizer.len(), 3);
    assert_plans_read_and_counted(resource(&template, "AuthorizerFunction"), 1);
    // BatchGetItem: the tokengate style reads a token and its keys in one round trip.
    assert_eq!(
        authorizer[0].0,
        ["dynamodb:GetItem", "dynamodb:BatchGetItem"]
    );
    assert!(authorizer[0].1.contains("KeysTable") && authorizer[0].1.contains("TokensTable"));
    let function = resource(&template, "TokenIssuerFunction");
    let issuer = statements(function);
    assert_eq!(issuer.len(), 9);
    assert_plans_read_and_counted(function, 4);
    assert_eq!(issuer[0].0, ["dynamodb:GetItem"]);
    assert!(issuer[0].1.contains("KeysTable"));
    // UpdateItem on keys: the failure count, and nothing else of the record.
    let policy = &function["Properties"]["Policies"][0]["Statement"];
    assert_eq!(issuer[1].0, ["dynamodb:UpdateItem"]);
    assert!(issuer[1].1.contains("KeysTable"));
    let attributes = &policy[1]["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"];
    assert_eq!(
        serde_yaml_ng::to_string(attributes).unwrap().trim(),
        "- key_id\n- failures\n- failures_since"
    );
    // DeleteItem: revocation (RFC 7009).
    assert_eq!(
        issuer[2].0,
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem"
        ]
    );
    assert!(issuer[2].1.contains("TokensTable"));
    // UpdateItem on tokens: only the source# failure counters.
    assert_eq!(issuer[3].0, ["dynamodb:UpdateItem"]);
    let leading = &policy[3]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
    assert_eq!(
        serde_yaml_ng::to_string(leading).unwrap().trim(),
        "- source#*"
    );
    // JWTs: the signing keys read; envelope keys decrypted, KMS keys asked to sign, each
    // only for tokengate's own.
    assert_eq!(issuer[6].0, ["dynamodb:Scan"]);
    assert!(issuer[6].1.contains("SigningKeysTable"));
    assert_eq!(issuer[7].0, ["kms:Decrypt"]);
    let context = &policy[7]["Condition"]["StringEquals"]["kms:EncryptionContext:tokengate"];
    assert_eq!(context.as_str(), Some("jwt-signing-key"));
    assert_eq!(issuer[8].0, ["kms:Sign"]);
    let tag = &policy[8]["Condition"]["StringEquals"]["aws:ResourceTag/tokengate"];
    assert_eq!(
        tag.as_str(),
        Some("jwt-signing-key"),
        "only tokengate's own keys"
    );
    let rotator = statements(resource(&template, "SigningKeysRotatorFunction"));
    assert_eq!(
        rotator[0].0,
        ["dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    );
    assert!(rotator[0].1.contains("SigningKeysTable"));
    assert_eq!(rotator[1].0, ["kms:Encrypt"]);
}

#[tokio::test]
async fn the_signing_keys_table_in_the_template_is_the_one_tables_create_makes() {
    assert_table_matches(&template(), "SigningKeysTable", "signing-keys", KID).await;
}

#[test]
fn a_schedule_invokes_the_rotator_every_rotation_period_thirty_days_by_default() {
    let template = template();
    let schedule = &resource(&template, "SigningKeysRotationSchedule")["Properties"];
    let expression = serde_yaml_ng::to_string(&schedule["ScheduleExpression"]).unwrap();
    assert!(
        expression.contains("rate(${SigningKeyRotationDays} days)"),
        "{expression}"
    );
    assert_eq!(
        template["Parameters"]["SigningKeyRotationDays"]["Default"],
        30
    );
    let target = serde_yaml_ng::to_string(&schedule["Target"]["Arn"]).unwrap();
    assert!(target.contains("SigningKeysRotatorFunction"), "{target}");
    let outputs = &template["Outputs"];
    for output in ["JwksUrl", "JwtAuthorizerIssuer", "SigningKeysTableName"] {
        assert!(!outputs[output].is_null(), "{output}");
    }
}

#[test]
fn the_stage_is_throttled_and_access_logged_by_parameters() {
    let template = template();
    let api = &resource(&template, "TokengateApi")["Properties"];
    let settings = serde_yaml_ng::to_string(&api["MethodSettings"]).unwrap();
    for needle in [
        "ThrottlingRateLimit",
        "ThrottlingBurstLimit",
        "ResourcePath: /*",
    ] {
        assert!(settings.contains(needle), "{settings}");
    }
    let logs = serde_yaml_ng::to_string(&api["AccessLogSetting"]).unwrap();
    assert!(
        logs.contains("AccessLogGroup") && logs.contains("sourceIp"),
        "{logs}"
    );
    for parameter in ["ThrottlingRateLimit", "ThrottlingBurstLimit", "AccessLogs"] {
        assert!(!template["Parameters"][parameter].is_null(), "{parameter}");
    }
}

#[test]
fn the_token_routes_are_open_and_everything_else_goes_through_the_authorizer() {
    let template = template();
    let paths = &definition(&template)["paths"];
    for (path, method) in [
        ("/innreach/v2/oauth2/token", "post"),
        ("/oauth2/token", "post"),
        ("/oauth2/introspect", "post"),
        ("/oauth2/revoke", "post"),
        ("/.well-known/oauth-authorization-server", "get"),
    ] {
        let post = &paths[path][method];
        assert!(post.get("security").is_none(), "{path} is open");
        let uri = format!("{:?}", post["x-amazon-apigateway-integration"]["uri"]);
        assert!(uri.contains("TokenIssuerFunction.Arn"), "{path}: {uri}");
    }
    let proxy = &paths["/{proxy+}"]["x-amazon-apigateway-any-method"];
    assert_eq!(proxy["security"][0]["tokengate"], Value::Sequence(vec![]));
    let authorizer = &definition(&template)["components"]["securitySchemes"]["tokengate"]["x-amazon-apigateway-authorizer"];
    assert_eq!(authorizer["type"], "request");
    assert!(format!("{:?}", authorizer["authorizerUri"]).contains("AuthorizerFunction.Arn"));
}

#[test]
fn a_denial_is_rendered_as_a_401_json_body_naming_the_error() {
    let template = template();
    let responses = &definition(&template)["x-amazon-apigateway-gateway-responses"];
    let denied = &responses["ACCESS_DENIED"];
    assert_eq!(denied["statusCode"], 401);
    let body = denied["responseTemplates"]["application/json"]
        .as_str()
        .unwrap();
    assert_eq!(
        body,
        r#"{"error": "$context.authorizer.error", "error_description": "$context.authorizer.error_description"}"#
    );
    assert_eq!(responses["UNAUTHORIZED"]["statusCode"], 401);
}

#[test]
fn the_template_maps_exactly_the_headers_its_pre_inputs_inject() {
    let template = template();
    let config = resource(&template, "AuthorizerFunction")["Properties"]["Environment"]["Variables"]
        ["AUTHORIZER_CONFIG"]
        .as_str()
        .expect("AUTHORIZER_CONFIG is a JSON string");
    let pre_inputs =
        authorizer::PreInputs::parse(config).expect("the deployed pre-inputs are valid");
    let parameters = definition(&template)["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]
        ["x-amazon-apigateway-integration"]["requestParameters"]
        .as_mapping()
        .unwrap();
    let mut mapped = std::collections::BTreeMap::new();
    for (target, source) in parameters {
        let target = target.as_str().unwrap();
        let source = source.as_str().unwrap();
        if let Some(header) = target.strip_prefix("integration.request.header.") {
            mapped.insert(header.to_owned(), source.to_owned());
        }
    }
    // Underscore spellings of the injected headers are blanked, so that a backend that
    // folds `_` into `-` never reads a client's value.
    mapped.retain(|header, source| !(header.contains('_') && source == "''"));
    let blocked = mapped.remove("Authorization");
    assert_eq!(blocked.is_some(), pre_inputs.block_authorization_header);
    if let Some(value) = blocked {
        assert_eq!(value, "''", "Authorization is blanked");
    }
    let expected: std::collections::BTreeMap<String, String> = pre_inputs
        .all_injected_headers()
        .into_iter()
        .map(|(header, key)| (header, format!("context.authorizer.{key}")))
        .collect();
    assert_eq!(mapped, expected);
    assert!(!expected.is_empty());
}

#[test]
fn cfn_lint_accepts_the_template() {
    let out = std::process::Command::new(tool("cfn-lint"))
        .arg(workspace_root().join("template.yaml"))
        .output()
        .expect("cfn-lint runs");
    assert!(
        out.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sam_validate_lint_accepts_the_template() {
    let out = std::process::Command::new(tool("sam"))
        .args(["validate", "--lint", "--template"])
        .arg(workspace_root().join("template.yaml"))
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "tokengate-test")
        .env("AWS_SECRET_ACCESS_KEY", "tokengate-test")
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .expect("sam runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "sam validate --lint: {said}");
    assert!(said.contains("is a valid SAM Template"), "{said}");
}

#[test]
fn every_alarm_watches_its_metric_and_notifies_the_optional_topic() {
    let template = template();
    let emf = [
        ("DenialSpikeAlarm", "Denials", "AuthorizerFunction"),
        (
            "ValidationEndpointErrorsAlarm",
            "ValidationEndpointErrors",
            "AuthorizerFunction",
        ),
        (
            "TokenThrottlesAlarm",
            "ThrottledAttempts",
            "TokenIssuerFunction",
        ),
        (
            "AuthenticationFailuresAlarm",
            "AuthenticationFailures",
            "TokenIssuerFunction",
        ),
    ];
    for (alarm, metric, function) in emf {
        let properties = &resource(&template, alarm)["Properties"];
        assert_eq!(properties["Namespace"], "tokengate", "{alarm}");
        assert_eq!(properties["MetricName"], metric, "{alarm}");
        // The one dimension the functions' EMF carries: Lambda's name for the function.
        let dimensions = properties["Dimensions"].as_sequence().unwrap();
        assert_eq!(dimensions.len(), 1, "{alarm}");
        assert_eq!(dimensions[0]["Name"], "FunctionName", "{alarm}");
        assert_eq!(
            serde_yaml_ng::to_string(&dimensions[0]["Value"])
                .unwrap()
                .trim(),
            format!("!Ref {function}"),
            "{alarm}"
        );
    }
    let errors = &resource(&template, "AuthorizerErrorsAlarm")["Properties"];
    assert_eq!(errors["Namespace"], "AWS/Lambda");
    assert_eq!(errors["MetricName"], "Errors");
    let throttles =
        serde_yaml_ng::to_string(&resource(&template, "DynamoDbThrottlesAlarm")["Properties"])
            .unwrap();
    for metric in ["ReadThrottleEvents", "WriteThrottleEvents"] {
        assert!(throttles.contains(metric), "{throttles}");
    }
    for alarm in emf
        .iter()
        .map(|(alarm, _, _)| *alarm)
        .chain(["AuthorizerErrorsAlarm", "DynamoDbThrottlesAlarm"])
    {
        let actions =
            serde_yaml_ng::to_string(&resource(&template, alarm)["Properties"]["AlarmActions"])
                .unwrap();
        assert!(
            actions.contains("AlarmNotifies") && actions.contains("AlarmTopicArn"),
            "{alarm}: {actions}"
        );
    }
}

#[test]
fn with_the_authorizer_cache_on_both_tables_stream_to_the_cache_flusher_with_least_privilege() {
    let template = template();
    let yaml = |value: &Value| serde_yaml_ng::to_string(value).unwrap();
    for table in ["KeysTable", "TokensTable"] {
        let stream = yaml(&resource(&template, table)["Properties"]["StreamSpecification"]);
        assert!(
            stream.contains("CacheFlushing") && stream.contains("NEW_AND_OLD_IMAGES"),
            "{table}: {stream}"
        );
    }
    let flusher = resource(&template, "CacheFlusherFunction");
    assert_eq!(flusher["Condition"], "CacheFlushing");
    assert_eq!(
        flusher["Metadata"]["BuildProperties"]["Binary"],
        "cache-flusher"
    );
    let stages = yaml(&flusher["Properties"]["Environment"]["Variables"]["FLUSH_STAGES"]);
    assert!(stages.contains("${TokengateApi}/prod"), "{stages}");
    let events = &flusher["Properties"]["Events"];
    for (event, table, names) in [
        ("KeysChanged", "KeysTable", r#"["MODIFY", "REMOVE"]"#),
        ("TokensRevoked", "TokensTable", r#"["REMOVE"]"#),
    ] {
        let properties = &events[event]["Properties"];
        assert_eq!(events[event]["Type"], "DynamoDB");
        assert!(yaml(&properties["Stream"]).contains(&format!("{table}.StreamArn")));
        let filter = properties["FilterCriteria"]["Filters"][0]["Pattern"]
            .as_str()
            .unwrap();
        assert_eq!(filter, format!(r#"{{"eventName": {names}}}"#), "{event}");
        let dead_letters = yaml(&properties["DestinationConfig"]["OnFailure"]);
        assert!(
            dead_letters.contains("CacheFlusherDeadLetterQueue.Arn"),
            "{event}"
        );
    }
    // Its own role: no managed policy, each statement on named resources.
    assert!(yaml(&flusher["Properties"]["Role"]).contains("CacheFlusherRole.Arn"));
    let role = resource(&template, "CacheFlusherRole");
    assert!(role["Properties"]["ManagedPolicyArns"].is_null());
    let policy = &role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    let actions: Vec<String> = policy
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(actions)
        .collect();
    assert_eq!(
        actions,
        [
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "sqs:SendMessage",
            "apigateway:DELETE",
        ]
    );
    let flush = yaml(&policy[4]["Resource"]);
    assert!(
        flush.contains("/restapis/${TokengateApi}/stages/prod/cache/authorizers"),
        "{flush}"
    );
    for (alarm, namespace, metric) in [
        (
            "CacheFlushFailedAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
        ),
        ("CacheFlushDelayAlarm", "AWS/Lambda", "IteratorAge"),
    ] {
        let properties = &resource(&template, alarm)["Properties"];
        assert_eq!(properties["Namespace"], namespace);
        assert_eq!(properties["MetricName"], metric);
        assert_eq!(resource(&template, alarm)["Condition"], "CacheFlushing");
        assert!(yaml(&properties["AlarmActions"]).contains("AlarmTopicArn"));
    }
}
