//! `tokengate api render`: the REST API definition and the authorizer's configuration in
//! `template.yaml`, generated from one pre-inputs file.
//!
//! API Gateway maps each injected header statically (`integration.request.header.X-User-Id:
//! context.authorizer.inject_x_user_id`), while `inject_headers` is configuration. Rendering
//! both from the same file keeps them equal: the template deploys exactly the pre-inputs
//! whose headers it maps.

use std::path::PathBuf;

use authorizer::PreInputs;
use authorizer::pre_inputs::{KeyChecker, RateLimits, SecretSource, ValidationStyle};
use clap::Subcommand;
use serde_json::{Map, Value, json};

use crate::CliError;

mod routes;

/// API definition commands.
#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Write the pre-inputs and the API definition (routes, authorizer, header mappings,
    /// gateway responses) into template.yaml's generated blocks.
    Render {
        /// The pre-inputs to deploy.
        #[arg(long, default_value = "infra/api/pre-inputs.json")]
        config: PathBuf,
        /// The SAM template to update.
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
        /// Change nothing; exit 1 if the template is not what rendering would write.
        #[arg(long)]
        check: bool,
    },
}

const PRE_INPUTS_BLOCK: &str = "pre-inputs";
const PARAMETERS_BLOCK: &str = "parameters";

/// The template parameter naming the Secrets Manager secret that holds the `rfc7662` client
/// secret, when the pre-inputs name it by reference.
pub const CLIENT_SECRET_PARAMETER: &str = "AuthorizerClientSecret";
const DEFINITION_BLOCK: &str = "definition";
const RULES_BLOCK: &str = "rules";
const RESOURCES_BLOCK: &str = "resources";

/// Runs an API command.
pub fn run(command: ApiCommand) -> Result<(), CliError> {
    let ApiCommand::Render {
        config,
        template,
        check,
    } = command;
    let read = |path: &PathBuf| std::fs::read_to_string(path).map_err(CliError::io("read", path));
    let config_text = read(&config)?;
    let template_text = read(&template)?;
    let rendered = render(&template_text, &config_text)
        .map_err(|e| CliError::Config(format!("{}: {e}", config.display())))?;
    if check {
        if rendered != template_text {
            return Err(CliError::Config(format!(
                "{} is not rendered from {}; run `tokengate api render`",
                template.display(),
                config.display()
            )));
        }
        println!(
            "{} is rendered from {}",
            template.display(),
            config.display()
        );
        return Ok(());
    }
    std::fs::write(&template, &rendered).map_err(CliError::io("write", &template))?;
    println!("rendered {} from {}", template.display(), config.display());
    Ok(())
}

/// The template with both generated blocks replaced, or why the pre-inputs or the
/// template cannot be used.
pub fn render(template: &str, config_text: &str) -> Result<String, String> {
    let pre_inputs = PreInputs::parse_unresolved(config_text).map_err(|e| e.to_string())?;
    // Compact, so the environment variable stays small (Lambda allows 4 KB in all).
    let compact: Value = serde_json::from_str(config_text).map_err(|e| e.to_string())?;
    let mut pre_inputs_lines = format!(
        "AUTHORIZER_CONFIG: {}",
        serde_json::to_string(&compact.to_string()).map_err(|e| e.to_string())?
    );
    let mut parameters = String::new();
    match &pre_inputs.style {
        ValidationStyle::Rfc7662 {
            secret_source: SecretSource::Inline,
            ..
        } => {
            return Err(format!(
                "validation.client_secret holds the secret itself, and `api render` would write it \
                 into template.yaml, which is committed. Write {{\"env\": \"AUTHORIZER_CLIENT_SECRET\"}} \
                 instead, keep the secret in AWS Secrets Manager, and deploy with \
                 --parameter-overrides {CLIENT_SECRET_PARAMETER}=<its name or ARN>"
            ));
        }
        ValidationStyle::Rfc7662 {
            secret_source: SecretSource::Environment(variable),
            ..
        } => {
            // CloudFormation resolves the reference at deploy time: the function reads a
            // plain variable and needs no permission on the secret.
            pre_inputs_lines.push_str(&format!(
                "\n{variable}: !Sub \"{{{{resolve:secretsmanager:${{{CLIENT_SECRET_PARAMETER}}}:SecretString}}}}\""
            ));
            parameters = format!(
                "{CLIENT_SECRET_PARAMETER}:\n  Type: String\n  MinLength: 1\n  Description: >-\n    \
                 Name or ARN of the AWS Secrets Manager secret holding the authorizer's rfc7662\n    \
                 client secret as plain text; resolved at deploy time into {variable}."
            );
        }
        // A jwt style holds no secret: the JWKS is public; tokengate reads DynamoDB with the
        // function's own role.
        ValidationStyle::Forward | ValidationStyle::Jwt(_) | ValidationStyle::Tokengate { .. } => {}
    }
    if pre_inputs.api_key.checked_by == KeyChecker::ApiGateway
        && pre_inputs.api_key.header != "x-api-key"
    {
        return Err(format!(
            "api_key.checked_by is api_gateway, which reads the key from the x-api-key header only; \
             api_key.header is {}",
            pre_inputs.api_key.header
        ));
    }
    if pre_inputs.rate_limits == Some(RateLimits::ApiGateway)
        && pre_inputs.api_key.checked_by == KeyChecker::ApiGateway
    {
        return Err(
            "rate_limits api_gateway names each key's usage plan API key from the authorizer              (API key source AUTHORIZER), and api_key.checked_by api_gateway reads the key from              the x-api-key header (source HEADER): a REST API has one source, choose one"
                .to_owned(),
        );
    }
    if let Some(route) = pre_inputs
        .routes
        .iter()
        .flat_map(|table| &table.routes)
        .find(|route| token_issuer::routes::ROUTES.contains(&route.path.as_str()))
    {
        return Err(format!(
            "routes: {route} is the token service's own path, which the API serves without the authorizer"
        ));
    }
    let definition =
        serde_json::to_string_pretty(&definition(&pre_inputs)).map_err(|e| e.to_string())?;
    let with_rules = replace_block(template, RULES_BLOCK, &rules(&pre_inputs.style))?;
    let with_resources = replace_block(&with_rules, RESOURCES_BLOCK, &resources(&pre_inputs))?;
    let with_parameters = replace_block(&with_resources, PARAMETERS_BLOCK, &parameters)?;
    let with_config = replace_block(&with_parameters, PRE_INPUTS_BLOCK, &pre_inputs_lines)?;
    replace_block(
        &with_config,
        DEFINITION_BLOCK,
        &format!("DefinitionBody:\n  {}", definition.replace('\n', "\n  ")),
    )
}

/// A CloudFormation rule holding API Gateway's authorizer cache to what the `tokengate`
/// style accepts: flushed by the cache-flusher on every revocation
/// (`AuthorizerCacheFlushing`, the default), or else off, or at most the
/// `revocation_lag_seconds` the pre-inputs accept.
fn rules(style: &ValidationStyle) -> String {
    let ValidationStyle::Tokengate {
        revocation_lag_seconds,
        ..
    } = style
    else {
        return String::new();
    };
    let within_lag = match revocation_lag_seconds {
        None | Some(0) => "!Equals [!Ref AuthorizerCacheTtl, 0]".to_owned(),
        Some(lag) => {
            let allowed: Vec<String> = (0..=*lag).map(|n| format!("\"{n}\"")).collect();
            format!(
                "!Contains [[{}], !Ref AuthorizerCacheTtl]",
                allowed.join(", ")
            )
        }
    };
    let bound = revocation_lag_seconds.unwrap_or(0);
    let assertion = format!("!Or [{within_lag}, !Equals [!Ref AuthorizerCacheFlushing, \"true\"]]");
    format!(
        "Rules:\n  AuthorizerCacheWithinRevocationLag:\n    Assertions:\n      - Assert: {assertion}\n        \
         AssertDescription: >-\n          The tokengate style denies a revoked token or a disabled key on the next\n          \
         request, and API Gateway's authorizer cache would keep allowing it: with\n          \
         AuthorizerCacheFlushing false, AuthorizerCacheTtl must be at most\n          \
         validation.revocation_lag_seconds ({bound} s) of the pre-inputs."
    )
}

/// The resources that `api_key.checked_by: api_gateway` needs: a usage plan on the stage,
/// to which API keys are attached (`aws apigateway create-usage-plan-key`).
fn resources(pre_inputs: &PreInputs) -> String {
    if pre_inputs.api_key.checked_by != KeyChecker::ApiGateway {
        return String::new();
    }
    "ApiKeyUsagePlan:\n  Type: AWS::ApiGateway::UsagePlan\n  DependsOn: TokengateApiprodStage\n  Properties:\n    \
     Description: API keys that API Gateway checks (api_key.checked_by api_gateway); attach each key with create-usage-plan-key.\n    \
     ApiStages:\n      - ApiId: !Ref TokengateApi\n        Stage: prod"
        .to_owned()
}

/// Replaces the lines between `# >>> tokengate api render: NAME` and its `# <<<` marker
/// with `content`, indented like the marker.
fn replace_block(template: &str, name: &str, content: &str) -> Result<String, String> {
    let begin = format!("# >>> tokengate api render: {name}");
    let end = format!("# <<< tokengate api render: {name}");
    let lines: Vec<&str> = template.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == begin)
        .ok_or_else(|| format!("the template has no `{begin}` marker"))?;
    let stop = lines[start..]
        .iter()
        .position(|l| l.trim() == end)
        .map(|i| start + i)
        .ok_or_else(|| format!("the template has no `{end}` marker"))?;
    let indent = &lines[start][..lines[start].len() - lines[start].trim_start().len()];
    let mut out: Vec<String> = lines[..=start].iter().map(|l| (*l).to_owned()).collect();
    out.extend(content.lines().map(|l| format!("{indent}{l}")));
    out.extend(lines[stop..].iter().map(|l| (*l).to_owned()));
    Ok(out.join("\n") + "\n")
}

/// Every spelling of `header` with `_` for one or more of its `-` (all of them past six
/// dashes: one spelling instead of too many).
fn underscore_spellings(header: &str) -> Vec<String> {
    let dashes: Vec<usize> = header.match_indices('-').map(|(i, _)| i).collect();
    if dashes.len() > 6 {
        return vec![header.replace('-', "_")];
    }
    (1..1u32 << dashes.len())
        .map(|mask| {
            let mut spelling = header.as_bytes().to_vec();
            for (bit, &at) in dashes.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    spelling[at] = b'_';
                }
            }
            String::from_utf8_lossy(&spelling).into_owned()
        })
        .collect()
}

fn lambda_uri(function: &str) -> Value {
    json!({"Fn::Sub": format!(
        "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{function}.Arn}}/invocations"
    )})
}

/// The OpenAPI definition of the REST API for these pre-inputs.
pub fn definition(pre_inputs: &PreInputs) -> Value {
    let mut definition = routes_and_authorizer(pre_inputs);
    if pre_inputs.api_key.checked_by == KeyChecker::ApiGateway {
        // API Gateway checks the key itself: required on every authorized route, read from
        // the x-api-key header, in a usage plan ([`resources`]).
        definition["components"]["securitySchemes"]["api_key"] =
            json!({"type": "apiKey", "name": "x-api-key", "in": "header"});
        definition["x-amazon-apigateway-api-key-source"] = json!("HEADER");
    }
    if pre_inputs.rate_limits == Some(RateLimits::ApiGateway) {
        // Usage plans count a method's API key, which the authorizer names
        // (usageIdentifierKey): every authorized route requires one, from the authorizer.
        definition["components"]["securitySchemes"]["api_key"] =
            json!({"type": "apiKey", "name": "x-api-key", "in": "header"});
        definition["x-amazon-apigateway-api-key-source"] = json!("AUTHORIZER");
    }
    definition
}

/// Every header the decision reads, as API Gateway's cache key: `Authorization`, the API
/// key header and the region header.
pub fn identity_headers(pre_inputs: &PreInputs) -> Vec<String> {
    let mut identity = vec![
        "Authorization".to_owned(),
        pre_inputs.api_key.header.clone(),
    ];
    identity.extend(pre_inputs.region_header.clone());
    identity
}

fn identity_sources(pre_inputs: &PreInputs) -> Vec<String> {
    identity_headers(pre_inputs)
        .iter()
        .map(|header| format!("method.request.header.{header}"))
        .collect()
}

/// The integration's header mappings: each injected header from the authorizer's context,
/// its underscore spellings blanked, and `Authorization` blanked when blocked.
fn header_mappings(pre_inputs: &PreInputs) -> Map<String, Value> {
    let mut request_parameters = Map::new();
    for (header, context_key) in pre_inputs.all_injected_headers() {
        // API Gateway passes a client's `X_User_Id` on as it is, and CGI, WSGI, Rack and
        // PHP read it as `X-User-Id`: blank every such spelling.
        for spelling in underscore_spellings(&header) {
            request_parameters.insert(
                format!("integration.request.header.{spelling}"),
                "''".into(),
            );
        }
        request_parameters.insert(
            format!("integration.request.header.{header}"),
            format!("context.authorizer.{context_key}").into(),
        );
    }
    if pre_inputs.block_authorization_header {
        request_parameters.insert(
            "integration.request.header.Authorization".into(),
            "''".into(),
        );
    }
    request_parameters
}

fn routes_and_authorizer(pre_inputs: &PreInputs) -> Value {
    // Lambda proxy integrations are always invoked with POST, whatever the route's method.
    let integration = json!({"x-amazon-apigateway-integration": {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": lambda_uri("TokenIssuerFunction"),
    }});
    let token_route = json!({ "post": integration });
    let mappings = header_mappings(pre_inputs);
    let mut request_parameters = mappings.clone();
    request_parameters.insert(
        "integration.request.path.proxy".into(),
        "method.request.path.proxy".into(),
    );
    let identity = identity_sources(pre_inputs);
    let api_key_required = pre_inputs.api_key.checked_by == KeyChecker::ApiGateway
        || pre_inputs.rate_limits == Some(RateLimits::ApiGateway);
    let security = if api_key_required {
        json!([{"tokengate": [], "api_key": []}])
    } else {
        json!([{"tokengate": []}])
    };
    let mut definition = json!({
        "openapi": "3.0.1",
        "info": {"title": {"Ref": "AWS::StackName"}, "version": "1.0"},
        "paths": {
            "/innreach/v2/oauth2/token": token_route,
            "/oauth2/token": token_route,
            "/oauth2/introspect": token_route,
            "/oauth2/revoke": token_route,
            "/.well-known/oauth-authorization-server": {"get": integration},
            "/.well-known/jwks.json": {"get": integration},
            "/{proxy+}": {"x-amazon-apigateway-any-method": {
                "parameters": [{"name": "proxy", "in": "path", "required": true, "schema": {"type": "string"}}],
                "security": security,
                "x-amazon-apigateway-integration": {
                    "type": "http_proxy",
                    "httpMethod": "ANY",
                    "uri": {"Fn::Sub": "${BackendUrl}/{proxy}"},
                    "passthroughBehavior": "when_no_match",
                    "requestParameters": request_parameters,
                },
            }},
        },
        "components": {"securitySchemes": {"tokengate": {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "x-amazon-apigateway-authtype": "custom",
            "x-amazon-apigateway-authorizer": {
                "type": "request",
                "authorizerUri": lambda_uri("AuthorizerFunction"),
                "authorizerResultTtlInSeconds": {"Ref": "AuthorizerCacheTtl"},
                "identitySource": {"Fn::If": [
                    "AuthorizerCaching",
                    identity.join(", "),
                    {"Ref": "AWS::NoValue"},
                ]},
            },
        }}},
        "x-amazon-apigateway-gateway-responses": gateway_responses(),
    });
    routes::add_route_paths(&mut definition, pre_inputs, &security, &mappings);
    definition
}

/// The gateway responses: a Deny's 401 naming its error, missing identity sources, an
/// authorizer that failed, and the 429s of usage plans and the stage's throttling.
fn gateway_responses() -> Value {
    let denial = r#"{"error": "$context.authorizer.error", "error_description": "$context.authorizer.error_description"}"#;
    json!({
        "ACCESS_DENIED": {"statusCode": 401, "responseTemplates": {"application/json": denial}},
        "UNAUTHORIZED": {"statusCode": 401, "responseTemplates": {"application/json":
            r#"{"error": "IdentityNotPresentInRequest", "error_description": "The Authorization header or the API key is missing."}"#}},
        "AUTHORIZER_FAILURE": {"statusCode": 500, "responseTemplates": {"application/json":
            r#"{"error": "AuthorizerFailure", "error_description": "The authorizer failed."}"#}},
        "AUTHORIZER_CONFIGURATION_ERROR": {"statusCode": 500, "responseTemplates": {"application/json":
            r#"{"error": "AuthorizerFailure", "error_description": "The authorizer failed."}"#}},
        // A usage plan's or the stage's rate frees up within a second; a header's value can
        // only be static, so a quota's wait (to midnight or month's end) has none.
        "THROTTLED": {"statusCode": 429,
            "responseParameters": {"gatewayresponse.header.Retry-After": "'1'"},
            "responseTemplates": {"application/json":
            r#"{"error": "RateLimitExceeded", "error_description": "Too many requests: the client's usage plan, or the stage, allows no more now. Retry shortly."}"#}},
        "QUOTA_EXCEEDED": {"statusCode": 429, "responseTemplates": {"application/json":
            r#"{"error": "QuotaExceeded", "error_description": "The client's usage plan quota for this period is spent."}"#}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "# >>> tokengate api render: rules\n# <<< tokengate api render: rules\nr:\n  # >>> tokengate api render: resources\n  # <<< tokengate api render: resources\np:\n  # >>> tokengate api render: parameters\n  # <<< tokengate api render: parameters\na:\n  # >>> tokengate api render: pre-inputs\n  old\n  # <<< tokengate api render: pre-inputs\nb:\n    # >>> tokengate api render: definition\n    # <<< tokengate api render: definition\n";

    #[test]
    fn rendering_maps_every_injected_header_and_blanks_authorization_when_blocked() {
        let config = r#"{"token_validation_uri": {"defaultURI": "https://idp.example/u"},
            "inject_headers": {"FR": {"X-Email": "$.email"}, "default": {"X-User-Id": "$.sub"}},
            "block_authorization_header": true}"#;
        let definition = definition(&PreInputs::parse(config).unwrap());
        let parameters = &definition["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
            ["requestParameters"];
        assert_eq!(
            parameters["integration.request.header.X-Email"],
            "context.authorizer.inject_x_email"
        );
        assert_eq!(
            parameters["integration.request.header.X-User-Id"],
            "context.authorizer.inject_x_user_id"
        );
        assert_eq!(parameters["integration.request.header.Authorization"], "''");
        for spelling in ["X_Email", "X_User-Id", "X-User_Id", "X_User_Id"] {
            assert_eq!(
                parameters[format!("integration.request.header.{spelling}")],
                "''",
                "{spelling} is blanked"
            );
        }
        assert_eq!(parameters.as_object().unwrap().len(), 8);
    }

    #[test]
    fn rendering_replaces_only_the_marked_blocks_and_is_stable() {
        let config = r#"{"token_validation_uri": {"defaultURI": "https://idp.example/u"}}"#;
        let once = render(TEMPLATE, config).unwrap();
        assert!(
            once.contains(
                "\na:\n  # >>> tokengate api render: pre-inputs\n  AUTHORIZER_CONFIG: \"{"
            )
        );
        assert!(once.contains("\n    DefinitionBody:\n      {\n"));
        assert!(!once.contains("old"));
        assert_eq!(render(&once, config).unwrap(), once);
    }

    #[test]
    fn invalid_pre_inputs_are_refused() {
        assert!(
            render(TEMPLATE, "{}")
                .unwrap_err()
                .contains("token_validation_uri")
        );
        assert!(
            render("no markers", r#"{"defaultURI": "https://x.example"}"#)
                .unwrap_err()
                .contains("marker")
        );
    }

    #[test]
    fn api_gateways_cache_keys_on_every_header_the_decision_reads() {
        let config = r#"{"regionCodeHeader": "X-Region-Code", "regionCodeValue": {"FR": "https://fr.example/u"},
            "defaultURI": "https://idp.example/u", "api_key": {"header": "X-Client-Key"}}"#;
        let definition = definition(&PreInputs::parse(config).unwrap());
        let sources = &definition["components"]["securitySchemes"]["tokengate"]["x-amazon-apigateway-authorizer"]
            ["identitySource"]["Fn::If"][1];
        assert_eq!(
            sources,
            "method.request.header.Authorization, method.request.header.x-client-key, method.request.header.x-region-code"
        );
    }

    #[test]
    fn the_tokengate_style_holds_an_unflushed_api_gateway_cache_to_the_lag_it_accepts() {
        let strict = r#"{"validation": {"style": "tokengate"}}"#;
        let rendered = render(TEMPLATE, strict).unwrap();
        assert!(
            rendered.contains("Rules:\n  AuthorizerCacheWithinRevocationLag:"),
            "{rendered}"
        );
        assert!(rendered.contains(
            r#"- Assert: !Or [!Equals [!Ref AuthorizerCacheTtl, 0], !Equals [!Ref AuthorizerCacheFlushing, "true"]]"#
        ));
        let lagging = r#"{"validation": {"style": "tokengate", "revocation_lag_seconds": 3}}"#;
        let rendered = render(TEMPLATE, lagging).unwrap();
        assert!(
            rendered
                .contains(r#"- Assert: !Or [!Contains [["0", "1", "2", "3"], !Ref AuthorizerCacheTtl], !Equals"#),
            "{rendered}"
        );
        let forward = r#"{"defaultURI": "https://idp.example/u"}"#;
        assert!(!render(TEMPLATE, forward).unwrap().contains("Rules:"));
    }

    #[test]
    fn keys_checked_by_api_gateway_render_a_required_api_key_and_a_usage_plan() {
        let config =
            r#"{"defaultURI": "https://idp.example/u", "api_key": {"checked_by": "api_gateway"}}"#;
        let rendered = render(TEMPLATE, config).unwrap();
        assert!(
            rendered.contains("ApiKeyUsagePlan:\n    Type: AWS::ApiGateway::UsagePlan"),
            "{rendered}"
        );
        let definition = definition(&PreInputs::parse(config).unwrap());
        assert_eq!(definition["x-amazon-apigateway-api-key-source"], "HEADER");
        assert_eq!(
            definition["components"]["securitySchemes"]["api_key"],
            json!({"type": "apiKey", "name": "x-api-key", "in": "header"})
        );
        let security =
            &definition["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]["security"];
        assert_eq!(security, &json!([{"tokengate": [], "api_key": []}]));
        let other_header = r#"{"defaultURI": "https://idp.example/u",
            "api_key": {"checked_by": "api_gateway", "header": "X-Key"}}"#;
        assert!(
            render(TEMPLATE, other_header)
                .unwrap_err()
                .contains("x-api-key header only")
        );
        let ours = r#"{"defaultURI": "https://idp.example/u"}"#;
        let rendered = render(TEMPLATE, ours).unwrap();
        assert!(!rendered.contains("UsagePlan") && !rendered.contains("api-key-source"));
    }

    #[test]
    fn rate_limits_by_api_gateway_take_the_api_key_from_the_authorizer_and_answer_429_as_json() {
        let config = r#"{"defaultURI": "https://idp.example/u", "rate_limits": "api_gateway"}"#;
        let definition = definition(&PreInputs::parse(config).unwrap());
        assert_eq!(
            definition["x-amazon-apigateway-api-key-source"],
            "AUTHORIZER"
        );
        let security =
            &definition["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]["security"];
        assert_eq!(security, &json!([{"tokengate": [], "api_key": []}]));
        let responses = &definition["x-amazon-apigateway-gateway-responses"];
        for (response, error) in [
            ("THROTTLED", "RateLimitExceeded"),
            ("QUOTA_EXCEEDED", "QuotaExceeded"),
        ] {
            assert_eq!(responses[response]["statusCode"], 429);
            let retry_after =
                &responses[response]["responseParameters"]["gatewayresponse.header.Retry-After"];
            assert_eq!(
                retry_after.as_str(),
                (response == "THROTTLED").then_some("'1'")
            );
            let body = responses[response]["responseTemplates"]["application/json"]
                .as_str()
                .unwrap();
            let body: Value = serde_json::from_str(body).unwrap();
            assert_eq!(body["error"], error);
        }
        let both = r#"{"defaultURI": "https://idp.example/u", "rate_limits": "api_gateway",
            "api_key": {"checked_by": "api_gateway"}}"#;
        assert!(render(TEMPLATE, both).unwrap_err().contains("choose one"));
    }
}
